"""Self-contained HTML reports: a title, summary lines and sections of text, tables and inline SVG plots."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from careleads.errors import InputError
from careleads.types import PathLikeStr


@dataclass(frozen=True)
class Figure:
    """An inline SVG made by one of the ``careleads.report`` plot functions, with an optional caption."""

    svg: str
    caption: str = ""

    def __post_init__(self) -> None:
        # The SVG is inserted unescaped, so accept only what the plot functions make.
        if not self.svg.lstrip().startswith("<svg") or re.search(
            r"<\s*(script|foreignObject)", self.svg, re.I
        ):
            raise InputError("a report figure must be an SVG from careleads.report plots (no scripts)")


@dataclass(frozen=True)
class Table:
    """A table of plain values; numbers are right-aligned and rounded for reading."""

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    caption: str = ""


@dataclass(frozen=True)
class Section:
    """One part of a report: paragraphs, a bullet list (``warning=True`` styles it as warnings), tables,
    figures (``Figure`` or a plain SVG string from the plot functions)."""

    title: str
    paragraphs: Sequence[str] = ()
    items: Sequence[str] = ()
    tables: Sequence[Table] = ()
    figures: Sequence[Figure | str] = ()
    warning: bool = False
    anchor: str = field(default="")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if value != 0 and abs(value) < 0.001:
            return f"{value:.2e}"
        return f"{value:,.3f}"
    return str(value)


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("careleads", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.filters["cell"] = _cell
    return env


def _section(raw: Section | Mapping[str, Any], index: int) -> dict[str, Any]:
    section = raw if isinstance(raw, Section) else Section(**dict(raw))
    figures = [f if isinstance(f, Figure) else Figure(svg=f) for f in section.figures]
    tables = [t if isinstance(t, Table) else Table(**dict(t)) for t in section.tables]
    anchor = section.anchor or re.sub(r"[^a-z0-9]+", "-", section.title.lower()).strip("-") or f"s{index}"
    return {
        "title": section.title,
        "paragraphs": list(section.paragraphs),
        "bullets": list(section.items),
        "tables": tables,
        "figures": figures,
        "warning": section.warning,
        "anchor": anchor,
    }


def render_html(
    *,
    title: str,
    summary_lines: Sequence[str],
    sections: Sequence[Section | Mapping[str, Any]],
    subtitle: str = "",
) -> str:
    """The report as an HTML string (see :func:`render_report`)."""
    from careleads import __version__

    template = _environment().get_template("report.html")
    return template.render(
        title=title,
        subtitle=subtitle,
        summary_lines=list(summary_lines),
        sections=[_section(s, i) for i, s in enumerate(sections)],
        version=__version__,
    )


def render_report(
    path: PathLikeStr,
    *,
    title: str,
    summary_lines: Sequence[str],
    sections: Sequence[Section | Mapping[str, Any]],
    subtitle: str = "",
) -> Path:
    """Write a self-contained HTML report (inline CSS and SVG; no scripts, fonts or network files).

    Parameters
    ----------
    path
        Where to write the ``.html`` file; its folder must exist.
    title
        Page title and heading.
    summary_lines
        The few lines a reader needs first, shown as a highlighted list.
    sections
        ``Section`` objects (or mappings with the same fields), in order.
    subtitle
        A short line under the title (data file, date).

    Returns
    -------
    Path
        The written file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "r.html"
    >>> _ = render_report(out, title="T", summary_lines=["<b>"], sections=[Section("S", paragraphs=["p"])])
    >>> "&lt;b&gt;" in out.read_text()
    True
    """
    target = Path(path)
    if not target.parent.exists():
        raise InputError(f"cannot write the report {target}: folder {target.parent} does not exist")
    html = render_html(title=title, summary_lines=summary_lines, sections=sections, subtitle=subtitle)
    target.write_text(html, encoding="utf-8")
    return target

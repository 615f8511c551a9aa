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
    """A table of plain values; numbers are right-aligned and rounded for reading.

    Column names are shown as headings (``conversion_rate`` reads "Conversion rate"); the values of the
    columns named in `percent` are shares (0 to 1) shown as percentages ("62.2%").
    """

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    caption: str = ""
    percent: Sequence[str] = ()


#: words careleads' own column names abbreviate, shown as readers write them
_ACRONYMS = {
    "auc": "AUC",
    "pr": "PR",
    "ece": "ECE",
    "psi": "PSI",
    "ci": "CI",
    "sla": "SLA",
    "id": "id",
    "n": "n",
}
#: names read as one term
_WHOLE_NAMES = {"pr_auc": "PR-AUC"}
#: careleads' own naming of shares in the frames it reports (rates, intervals of rates, mean predictions)
_SHARE_SUFFIXES = ("_rate", "_share", "ci_low", "ci_high", "predicted_mean")


def heading(name: str) -> str:
    """A column name as a table heading: ``median_hours_to_first_contact`` -> "Median hours to first
    contact"; names with spaces or capitals are kept as written.

    Examples
    --------
    >>> heading("pr_auc"), heading("n_matured"), heading("CI low")
    ('PR-AUC', 'n matured', 'CI low')
    """
    if name in _WHOLE_NAMES:
        return _WHOLE_NAMES[name]
    if "_" not in name and name == name.lower() and name not in _ACRONYMS:
        return name[:1].upper() + name[1:]
    if "_" not in name:
        return _ACRONYMS.get(name, name)
    words = [_ACRONYMS.get(w, w) for w in name.split("_") if w]
    if words and words[0] not in _ACRONYMS.values() and words[0] != "n":
        words[0] = words[0][:1].upper() + words[0][1:]
    return " ".join(words)


def table_of(frame: Any, *, caption: str = "") -> Table:
    """A table of a data frame careleads computed: every column, missing values blank, its shares
    (columns named ``*_rate``, ``*_share``, ``ci_low``, ``ci_high``, ``predicted_mean``) as percentages."""
    columns = [str(c) for c in frame.columns]
    rows = frame.astype(object).where(frame.notna(), None).values.tolist()
    percent = [c for c in columns if c.endswith(_SHARE_SUFFIXES)]
    return Table(columns=columns, rows=rows, caption=caption, percent=percent)


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


def cell_text(value: Any, *, percent: bool = False) -> str:
    """A value as a reader reads it: thousands separated, three decimals, shares as percentages, values too
    small for three decimals as "<0.001" (never scientific notation), booleans as yes/no.

    Examples
    --------
    >>> cell_text(0.622, percent=True), cell_text(0.000955), cell_text(12345)
    ('62.2%', '<0.001', '12,345')
    >>> cell_text(0.9999996, percent=True), cell_text(float("nan")), cell_text(True)
    ('>99.9%', 'n/a', 'yes')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and not percent:
        return f"{value:,}"
    if isinstance(value, int | float):
        number = float(value)
        if math.isnan(number):
            return "n/a"
        if percent:
            shown = f"{number * 100:.1f}%"
            if number > 0.999 and shown == "100.0%" and number < 1:
                return ">99.9%"  # a share short of all is never printed as all
            if 0 < number < 0.001 and shown == "0.0%":
                return "<0.1%"
            return shown
        if number != 0 and abs(number) < 0.001:
            return "<0.001" if number > 0 else ">-0.001"
        return f"{number:,.3f}"
    return str(value)


def _table(table: Table) -> dict[str, Any]:
    shares = set(table.percent)
    return {
        "caption": table.caption,
        "columns": [heading(str(c)) for c in table.columns],
        "rows": [
            [
                {
                    "text": cell_text(v, percent=str(c) in shares),
                    "num": isinstance(v, int | float) and not isinstance(v, bool),
                    "label": heading(str(c)),
                }
                for c, v in zip(table.columns, row, strict=True)
            ]
            for row in table.rows
        ],
    }


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("careleads", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )
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
        "tables": [_table(t) for t in tables],
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

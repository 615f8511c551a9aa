"""Plots for HTML reports and pages, as inline SVG strings drawn with matplotlib's object API.

Every function returns a self-contained ``<svg>`` element: text is drawn as paths with matplotlib's bundled
font (DejaVu Sans), so the report needs no font files, and the output carries no creation date, so it is
reproducible. Nothing here touches matplotlib's global state (no pyplot, no backend switch, no rcParams,
no logger levels or warning filters): each plot is its own :class:`matplotlib.figure.Figure` with its
style set on the figure, so plots drawn on several threads at once equal the same plots drawn alone.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import roc_auc_score, roc_curve

from careleads.stats import calibration_curve_points, cumulative_gains, lift_at

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# matplotlib is imported where a plot is drawn, not with this module: the service imports the report code
# with its pages, and a server that never draws a chart should not pay for matplotlib at start-up

SIZE = (5.0, 3.4)  # inches; the dashboard's charts use it too, so charts side by side line up
_FONT = "DejaVu Sans"
FONT_SIZE = 9.0
_TITLE_SIZE = 10.8  # "large" for a 9 pt font
_DPI = 100
_MAX_LABEL = 40
# ids that matplotlib's SVG writer derives from a salted hash (clip paths, markers, path collections,
# hatches, images): the salt is random unless a global setting fixes it
_HASHED_ID = re.compile(
    r'<(\w+) id="((?:[A-Za-z]+|C\d+_\d+_)?)([0-9a-f]{10})"(.*?)(?:/>|>(.*?)</\1>)', flags=re.DOTALL
)


def new_axes(size: tuple[float, float] = SIZE) -> tuple[Figure, Axes]:
    """A figure of ``size`` inches with one axes in the reports' style (grid, no top and right spines)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=_DPI)
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(True, alpha=0.3)
    ax.set_axisbelow("line")
    ax.tick_params(labelsize=FONT_SIZE)
    return fig, ax


def label_axes(ax: Axes, *, title: str = "", xlabel: str = "", ylabel: str = "") -> None:
    """Title and axis labels in the reports' sizes."""
    if title:
        ax.set_title(title, fontsize=_TITLE_SIZE)
    if xlabel:
        ax.set_xlabel(text(xlabel, shorten=False), fontsize=FONT_SIZE)
    if ylabel:
        ax.set_ylabel(text(ylabel, shorten=False), fontsize=FONT_SIZE)


def legend(ax: Axes, **kwargs: Any) -> None:
    """A legend when something is labelled (an empty legend would only warn)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kwargs)


def to_svg(fig: Figure) -> str:
    """The figure as an ``<svg>`` element: no comments, metadata or fixed size, ids the same every time."""
    import matplotlib
    from matplotlib.text import Text

    for artist in fig.findobj(Text):
        artist.set_fontfamily(_FONT)
    # tight_layout's pad is counted in the global font size: scaled so it is 1.08 of this plot's font
    fig.tight_layout(pad=1.08 * FONT_SIZE / float(matplotlib.rcParams["font.size"]))
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else svg
    # Comments repeat every label in plain text and metadata is unused: drop both, so user-supplied names
    # (column names, tier names) only ever appear as drawn paths.
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.DOTALL)
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.DOTALL)
    svg = _stable_ids(svg)
    # Scale with the page: drop fixed width/height, keep the viewBox.
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 role="img"', svg, count=1)


def empty(message: str, size: tuple[float, float] = SIZE) -> str:
    """A plot that only says why there is nothing to draw."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=_DPI)
    ax = fig.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, text(message), ha="center", va="center", fontsize=FONT_SIZE)
    return to_svg(fig)


def text(label: Any, *, shorten: bool = True) -> str:
    """A label as drawn: at most 40 characters (``shorten``), characters the font lacks as '?', '$' not as
    math."""
    value = str(label)
    if shorten and len(value) > _MAX_LABEL:
        value = value[: _MAX_LABEL - 1] + "\u2026"
    glyphs = _glyphs()
    value = "".join(c if ord(c) in glyphs or c in "\n\t" else "?" for c in value)
    return value.replace("$", r"\$")


@functools.cache
def _glyphs() -> frozenset[int]:
    """The characters the bundled font draws (a missing one would be a warning at every draw)."""
    from matplotlib import font_manager, ft2font

    path = font_manager.findfont(font_manager.FontProperties(family=_FONT), fallback_to_default=False)
    return frozenset(ft2font.FT2Font(path).get_charmap())


def _stable_ids(svg: str) -> str:
    """Replace each salted-hash id by a hash of the element it names (equal elements, equal ids)."""
    renames: dict[str, str] = {}
    for match in _HASHED_ID.finditer(svg):
        prefix, old = match.group(2), match.group(2) + match.group(3)
        body = f"{match.group(1)}|{match.group(4)}|{match.group(5) or ''}"
        renames[old] = prefix + hashlib.sha256(body.encode("utf-8")).hexdigest()[:10]
    for old, new in renames.items():
        for before, after in ((f'"{old}"', f'"{new}"'), (f"#{old})", f"#{new})"), (f'#{old}"', f'#{new}"')):
            svg = svg.replace(before, after)
    return svg


def _binary(y: npt.ArrayLike) -> np.ndarray:
    return np.asarray(y, dtype=np.int64)


def roc_svg(y: npt.ArrayLike, probs_by_name: Mapping[str, npt.ArrayLike]) -> str:
    """ROC curves of several scorers on the same outcomes.

    Examples
    --------
    >>> roc_svg([0, 1, 0, 1], {"model": [0.1, 0.9, 0.3, 0.7]}).startswith("<svg")
    True
    """
    target = _binary(y)
    if len(np.unique(target)) < 2:
        return empty("ROC needs both outcomes in the window")
    fig, ax = new_axes()
    for name, prob in probs_by_name.items():
        p = np.asarray(prob, dtype=np.float64)
        fpr, tpr, _ = roc_curve(target, p)
        ax.plot(fpr, tpr, label=f"{text(name)} (AUC {roc_auc_score(target, p):.3f})")
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="chance")
    label_axes(ax, title="ROC", xlabel="false positive rate", ylabel="true positive rate")
    legend(ax, loc="lower right", fontsize=8)
    return to_svg(fig)


def calibration_svg(y: npt.ArrayLike, probs_by_name: Mapping[str, npt.ArrayLike], *, n_bins: int = 10) -> str:
    """Reliability diagram: mean predicted probability against the observed rate, per equal-count bin."""
    target = _binary(y)
    if len(target) == 0:
        return empty("no rows to plot")
    fig, ax = new_axes()
    top = 0.0
    for name, prob in probs_by_name.items():
        points = calibration_curve_points(target, prob, n_bins=n_bins)
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        top = max(top, *xs, *ys)
        ax.plot(xs, ys, marker="o", markersize=3, label=text(name))
    top = min(1.0, top * 1.05 + 0.01)
    ax.plot([0, top], [0, top], linestyle=":", color="grey", label="perfect")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    label_axes(
        ax,
        title="Calibration",
        xlabel="mean predicted probability",
        ylabel="observed conversion rate",
    )
    legend(ax, loc="upper left", fontsize=8)
    return to_svg(fig)


def gains_svg(y: npt.ArrayLike, probs_by_name: Mapping[str, npt.ArrayLike]) -> str:
    """Cumulative gains (share of all conversions found in the top x% of scores) with the lift at 10%.

    Tied scores share their conversions (see :func:`careleads.stats.cumulative_gains`), so the curve and
    the lift do not depend on the order of the rows.
    """
    target = _binary(y)
    if target.sum() == 0:
        return empty("no conversions in the window")
    fig, ax = new_axes()
    for name, prob in probs_by_name.items():
        share, found = cumulative_gains(target, prob)
        lift = lift_at(target, prob, top_fraction=0.1)
        ax.plot(share, found, label=f"{text(name)} (lift at 10%: {lift:.1f}x)")
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="random order")
    label_axes(
        ax,
        title="Cumulative gains",
        xlabel="share of leads contacted, best scores first",
        ylabel="share of conversions found",
    )
    legend(ax, loc="lower right", fontsize=8)
    return to_svg(fig)


def tier_bars_svg(
    rows_by_name: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    title: str = "Conversion by tier (numbers: leads)",
    category: str = "tier",
    count: str = "leads",
) -> str:
    """Conversion rate per tier, one bar group per scorer (rows as from ``conversion_by_tier``).

    Rows with ``ci_low`` and ``ci_high`` get their interval drawn as an error bar. `category` names the key
    of the groups on the x axis (``tier``, or ``arm`` for a pilot), `count` the key of the number written
    on each bar, `title` the chart.
    """
    names = list(rows_by_name)
    if not names:
        return empty("no tiers")
    tiers = [str(r[category]) for r in rows_by_name[names[0]]]
    fig, ax = new_axes()
    width = 0.8 / len(names)
    x = np.arange(len(tiers))
    for i, name in enumerate(names):
        by_tier = {str(r[category]): r for r in rows_by_name[name]}
        rates = [float(by_tier[t]["conversion_rate"]) if t in by_tier else np.nan for t in tiers]
        rates = [0.0 if np.isnan(r) else r for r in rates]
        spans = _error_spans([by_tier.get(t, {}) for t in tiers], rates)
        bars = ax.bar(x + i * width - 0.4 + width / 2, rates, width, label=text(name), yerr=spans, capsize=4)
        for bar, t in zip(bars, tiers, strict=True):
            leads = int(by_tier[t][count] or 0) if t in by_tier else 0
            ax.annotate(
                f"{leads:,}",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=7,
            )
    ax.set_xticks(x, [text(t) for t in tiers])
    label_axes(ax, title=title, ylabel="conversion rate")
    if len(names) > 1:
        legend(ax, fontsize=8)
    return to_svg(fig)


def _error_spans(rows: Sequence[Mapping[str, Any]], rates: Sequence[float]) -> np.ndarray | None:
    """Below and above each rate to its interval (``ci_low``, ``ci_high``), or None when rows have none."""
    if not any("ci_low" in r and "ci_high" in r for r in rows):
        return None
    low = [max(rate - float(r.get("ci_low", rate)), 0.0) for r, rate in zip(rows, rates, strict=True)]
    high = [max(float(r.get("ci_high", rate)) - rate, 0.0) for r, rate in zip(rows, rates, strict=True)]
    spans: np.ndarray = np.nan_to_num(np.array([low, high], dtype=float))
    return spans


def psi_bars_svg(psi_by_column: Mapping[str, float], *, watch: float = 0.1, act: float = 0.25) -> str:
    """Horizontal bars of the population stability index per column, with the watch and act lines.

    The 25 largest are drawn; equal values are ordered by column name.
    """
    if not psi_by_column:
        return empty("no columns compared")
    items = sorted(psi_by_column.items(), key=lambda kv: (kv[1], kv[0]))[-25:]
    height = max(2.4, 0.28 * len(items) + 1.0)
    fig, ax = new_axes((SIZE[0], height))
    values = [float(v) for _, v in items]
    colors = ["#c0392b" if v >= act else "#e67e22" if v >= watch else "#2e86c1" for v in values]
    ax.barh([text(k) for k, _ in items], values, color=colors)
    ax.axvline(watch, color="#e67e22", linestyle=":", label=f"watch {watch}")
    ax.axvline(act, color="#c0392b", linestyle=":", label=f"act {act}")
    label_axes(ax, title="Drift by feature", xlabel="PSI, training window -> test window")
    legend(ax, fontsize=8, loc="lower right")
    return to_svg(fig)


def histogram_svg(values_by_name: Mapping[str, npt.ArrayLike], *, bins: int = 30, xlabel: str = "") -> str:
    """Overlaid histograms (as densities) of several samples, for example scores by window."""
    arrays = {k: np.asarray(v, dtype=np.float64) for k, v in values_by_name.items()}
    arrays = {k: v[~np.isnan(v)] for k, v in arrays.items()}
    arrays = {k: v for k, v in arrays.items() if len(v)}
    if not arrays:
        return empty("no values")
    low = min(float(v.min()) for v in arrays.values())
    high = max(float(v.max()) for v in arrays.values())
    edges = np.linspace(low, high if high > low else low + 1.0, bins + 1)
    fig, ax = new_axes()
    for name, v in arrays.items():
        ax.hist(v, bins=edges.tolist(), density=True, alpha=0.5, label=text(name))
    label_axes(ax, xlabel=xlabel, ylabel="density")
    legend(ax, fontsize=8)
    return to_svg(fig)

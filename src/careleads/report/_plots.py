"""Plots for HTML reports, as inline SVG strings (matplotlib, Agg backend, no fonts from the system).

Every function returns a self-contained ``<svg>`` element: text is drawn as paths with matplotlib's bundled
font, so the report needs no font files, and the output carries no creation date, so it is reproducible.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, cast

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402

from careleads.stats._metrics import calibration_curve_points  # noqa: E402

_STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "svg.fonttype": "path",
    "svg.hashsalt": "careleads",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.dpi": 100,
}
_SIZE = (5.0, 3.4)
_MAX_LABEL = 40


@contextmanager
def _quiet() -> Iterator[None]:
    # Missing glyphs (column names in any script) and font lookups must not become warnings (or errors
    # under pytest's filterwarnings=error): the bundled font draws what it can.
    font_logger = logging.getLogger("matplotlib.font_manager")
    level = font_logger.level
    font_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), plt.rc_context(cast(Any, _STYLE)):
            warnings.simplefilter("ignore")
            yield
    finally:
        font_logger.setLevel(level)


def _to_svg(fig: Any) -> str:
    buffer = io.StringIO()
    fig.tight_layout()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buffer.getvalue()
    start = text.find("<svg")
    svg = text[start:] if start >= 0 else text
    # Comments repeat every label in plain text and metadata is unused: drop both, so user-supplied names
    # (column names, tier names) only ever appear as drawn paths.
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.DOTALL)
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.DOTALL)
    # Scale with the page: drop fixed width/height, keep the viewBox.
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 role="img"', svg, count=1)


def _short(label: str) -> str:
    label = str(label)
    return label if len(label) <= _MAX_LABEL else label[: _MAX_LABEL - 1] + "\u2026"


def _empty(message: str) -> str:
    with _quiet():
        fig, ax = plt.subplots(figsize=_SIZE)
        ax.axis("off")
        ax.text(0.5, 0.5, message, ha="center", va="center")
        return _to_svg(fig)


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
        return _empty("ROC needs both outcomes in the window")
    from sklearn.metrics import roc_auc_score

    with _quiet():
        fig, ax = plt.subplots(figsize=_SIZE)
        for name, prob in probs_by_name.items():
            p = np.asarray(prob, dtype=np.float64)
            fpr, tpr, _ = roc_curve(target, p)
            ax.plot(fpr, tpr, label=f"{_short(name)} (AUC {roc_auc_score(target, p):.3f})")
        ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="chance")
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.set_title("ROC")
        ax.legend(loc="lower right", fontsize=8)
        return _to_svg(fig)


def calibration_svg(y: npt.ArrayLike, probs_by_name: Mapping[str, npt.ArrayLike], *, n_bins: int = 10) -> str:
    """Reliability diagram: mean predicted probability against the observed rate, per equal-count bin."""
    target = _binary(y)
    if len(target) == 0:
        return _empty("no rows to plot")
    with _quiet():
        fig, ax = plt.subplots(figsize=_SIZE)
        top = 0.0
        for name, prob in probs_by_name.items():
            points = calibration_curve_points(target, prob, n_bins=n_bins)
            xs = [p[0] for p in points]
            ys = [p[1] for p in points]
            top = max(top, *xs, *ys)
            ax.plot(xs, ys, marker="o", markersize=3, label=_short(name))
        top = min(1.0, top * 1.05 + 0.01)
        ax.plot([0, top], [0, top], linestyle=":", color="grey", label="perfect")
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_xlabel("mean predicted probability")
        ax.set_ylabel("observed conversion rate")
        ax.set_title("Calibration")
        ax.legend(loc="upper left", fontsize=8)
        return _to_svg(fig)


def gains_svg(y: npt.ArrayLike, probs_by_name: Mapping[str, npt.ArrayLike]) -> str:
    """Cumulative gains (share of all conversions found in the top x% of scores) with the lift at 10%."""
    target = _binary(y)
    if target.sum() == 0:
        return _empty("no conversions in the window")
    with _quiet():
        fig, ax = plt.subplots(figsize=_SIZE)
        share = np.arange(1, len(target) + 1) / len(target)
        for name, prob in probs_by_name.items():
            order = np.argsort(-np.asarray(prob, dtype=np.float64), kind="stable")
            found = np.cumsum(target[order]) / target.sum()
            n_top = max(1, int(round(0.1 * len(target))))
            lift = found[n_top - 1] / (n_top / len(target))
            ax.plot(share, found, label=f"{_short(name)} (lift at 10%: {lift:.1f}x)")
        ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="random order")
        ax.set_xlabel("share of leads contacted, best scores first")
        ax.set_ylabel("share of conversions found")
        ax.set_title("Cumulative gains")
        ax.legend(loc="lower right", fontsize=8)
        return _to_svg(fig)


def tier_bars_svg(rows_by_name: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    """Conversion rate per tier, one bar group per scorer (rows as from ``conversion_by_tier``)."""
    names = list(rows_by_name)
    if not names:
        return _empty("no tiers")
    tiers = [str(r["tier"]) for r in rows_by_name[names[0]]]
    with _quiet():
        fig, ax = plt.subplots(figsize=_SIZE)
        width = 0.8 / len(names)
        x = np.arange(len(tiers))
        for i, name in enumerate(names):
            by_tier = {str(r["tier"]): r for r in rows_by_name[name]}
            rates = [float(by_tier[t]["conversion_rate"]) if t in by_tier else np.nan for t in tiers]
            rates = [0.0 if np.isnan(r) else r for r in rates]
            bars = ax.bar(x + i * width - 0.4 + width / 2, rates, width, label=_short(name))
            for bar, t in zip(bars, tiers, strict=True):
                leads = int(by_tier[t]["leads"]) if t in by_tier else 0
                ax.annotate(
                    f"{leads:,}",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                )
        ax.set_xticks(x, [_short(t) for t in tiers])
        ax.set_ylabel("conversion rate")
        ax.set_title("Conversion by tier (numbers: leads)")
        if len(names) > 1:
            ax.legend(fontsize=8)
        return _to_svg(fig)


def psi_bars_svg(psi_by_column: Mapping[str, float], *, watch: float = 0.1, act: float = 0.25) -> str:
    """Horizontal bars of the population stability index per column, with the watch and act lines."""
    if not psi_by_column:
        return _empty("no columns compared")
    items = sorted(psi_by_column.items(), key=lambda kv: kv[1])[-25:]
    with _quiet():
        height = max(2.4, 0.28 * len(items) + 1.0)
        fig, ax = plt.subplots(figsize=(_SIZE[0], height))
        values = [float(v) for _, v in items]
        colors = ["#c0392b" if v >= act else "#e67e22" if v >= watch else "#2e86c1" for v in values]
        ax.barh([_short(k) for k, _ in items], values, color=colors)
        ax.axvline(watch, color="#e67e22", linestyle=":", label=f"watch {watch}")
        ax.axvline(act, color="#c0392b", linestyle=":", label=f"act {act}")
        ax.set_xlabel("PSI, training window -> test window")
        ax.set_title("Drift by feature")
        ax.legend(fontsize=8, loc="lower right")
        return _to_svg(fig)


def histogram_svg(values_by_name: Mapping[str, npt.ArrayLike], *, bins: int = 30, xlabel: str = "") -> str:
    """Overlaid histograms (as densities) of several samples, for example scores by window."""
    arrays = {k: np.asarray(v, dtype=np.float64) for k, v in values_by_name.items()}
    arrays = {k: v[~np.isnan(v)] for k, v in arrays.items()}
    arrays = {k: v for k, v in arrays.items() if len(v)}
    if not arrays:
        return _empty("no values")
    low = min(float(v.min()) for v in arrays.values())
    high = max(float(v.max()) for v in arrays.values())
    edges = np.linspace(low, high if high > low else low + 1.0, bins + 1)
    with _quiet():
        fig, ax = plt.subplots(figsize=_SIZE)
        for name, v in arrays.items():
            ax.hist(v, bins=edges.tolist(), density=True, alpha=0.5, label=_short(name))
        ax.set_xlabel(xlabel)
        ax.set_ylabel("density")
        ax.legend(fontsize=8)
        return _to_svg(fig)

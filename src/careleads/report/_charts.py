"""The dashboard's charts: a lead's score ledger, conversion over time, queues, contact times, calibration.

Drawn like every report plot (:mod:`careleads.report._plots`: matplotlib's object API, text as paths, no
dates in the file, safe on the server's threads). The web pages show them as
``<img src="data:image/svg+xml;base64,...">`` (:func:`data_url`): an SVG image cannot run scripts or load
anything, and the page's Content-Security-Policy can forbid inline styles.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from careleads.report._plots import FONT_SIZE, SIZE, empty, label_axes, legend, new_axes, text, to_svg

__all__ = [
    "calibration_points_svg",
    "capacity_svg",
    "conversion_over_time_svg",
    "data_url",
    "hours_by_tier_svg",
    "ledger_svg",
    "score_counts_svg",
]

_TIER_COLOURS = ("#1b5e20", "#2e7d32", "#f9a825", "#9e9e9e", "#6d4c41", "#455a64")


def data_url(svg: str) -> str:
    """An SVG document as a ``data:`` URL for an ``<img>``."""
    if 'xmlns="http://www.w3.org/2000/svg"' not in svg[:400]:
        svg = svg.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _colour(tier: str, tiers: Sequence[str]) -> str:
    index = list(tiers).index(tier) if tier in tiers else len(_TIER_COLOURS) - 1
    return _TIER_COLOURS[min(index, len(_TIER_COLOURS) - 1)]


def ledger_svg(entries: Sequence[Mapping[str, Any]], tiers: Sequence[str]) -> str:
    """A lead's score, one point per ledger entry in order, coloured and labelled by tier.

    Entries are evenly spaced (re-scores often come seconds apart, changes weeks apart); the axis names when.
    """
    if not entries:
        return empty("no score yet")
    times = pd.to_datetime([str(e["scored_at"]) for e in entries])
    scores = [int(e["score"]) for e in entries]
    x = np.arange(len(entries))
    fig, ax = new_axes((max(3.2, min(7.0, 1.2 + 0.9 * len(entries))), 2.4))
    if len(entries) > 1:
        ax.step(x, scores, where="post", color="#37474f", linewidth=1.2)
    for i, (s, e) in enumerate(zip(scores, entries, strict=True)):
        ax.plot([i], [s], marker="o", markersize=7, color=_colour(str(e["tier"]), tiers))
        ax.annotate(
            text(f"{s} {e['tier']}"),
            (i, s),
            textcoords="offset points",
            xytext=(0, 8),
            ha="center",
            fontsize=FONT_SIZE,
        )
    ax.set_xticks(x, [t.strftime("%m-%d %H:%M") for t in times], rotation=30, ha="right", fontsize=7)
    ax.set_xlim(-0.5, len(entries) - 0.5)
    ax.set_ylim(0, 110)
    label_axes(ax, title="Score ledger (labels: score and tier; times UTC)", ylabel="score (0-100)")
    return to_svg(fig)


def conversion_over_time_svg(table: pd.DataFrame, tiers: Sequence[str]) -> str:
    """Observed conversion per period, one line per tier (rows of ``calibration_by_tier`` with a period)."""
    shown = table[(table["n"] > 0) & table["observed_rate"].notna()] if len(table) else table
    if len(shown) == 0:
        return empty("no matured outcomes yet")
    fig, ax = new_axes()
    for tier in tiers:
        rows = shown[shown["tier"] == tier].sort_values("period")
        if len(rows) == 0:
            continue
        x = pd.to_datetime(rows["period"].astype(str))
        ax.plot(
            x,
            rows["observed_rate"],
            marker="o",
            markersize=3,
            label=text(f"tier {tier}"),
            color=_colour(tier, tiers),
        )
    periods = pd.to_datetime(shown["period"].astype(str))
    if periods.nunique() == 1:  # one period: a month either side, not an axis over years
        month = pd.Timedelta(days=31)
        ax.set_xlim(periods.min() - month, periods.min() + month)  # type: ignore[arg-type]  # dates convert
    ax.set_ylim(0, 1)
    label_axes(ax, title="Conversion by tier and period (matured leads)", ylabel="conversion rate")
    legend(ax, fontsize=7, loc="upper right")
    fig.autofmt_xdate()
    return to_svg(fig)


def capacity_svg(rows: Sequence[Mapping[str, Any]], tiers: Sequence[str]) -> str:
    """Open leads per staffed queue, stacked by tier, against the queue's capacity (a black tick).

    Only queues with open leads are drawn (all of them when none has any); the page's table lists every queue.
    """
    busy = [r for r in rows if r["n_open"]]
    rows = busy or list(rows)
    if not rows:
        return empty("no staffed queues")
    names = [text(r["queue"]) for r in rows]
    y = np.arange(len(names))
    fig, ax = new_axes((SIZE[0], max(2.2, 0.32 * len(names) + 1.0)))
    left = np.zeros(len(names))
    for tier in [*tiers, "other"]:
        values = np.array([float(r["open_by_tier"].get(tier, 0)) for r in rows])
        if values.sum() == 0:
            continue
        ax.barh(y, values, left=left, color=_colour(tier, tiers), label=text(f"tier {tier}"), height=0.6)
        left += values
    capacity = np.array([float(r["capacity"]) for r in rows])
    ax.scatter(capacity, y, marker="|", s=300, color="black", label="capacity", zorder=3)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    label_axes(ax, title="Open leads by queue against team capacity", xlabel="open leads")
    legend(ax, fontsize=7, loc="lower right")
    return to_svg(fig)


def hours_by_tier_svg(rows: Sequence[Mapping[str, Any]]) -> str:
    """Median hours to first contact per tier (bars; tiers nobody contacted yet are left empty)."""
    values = [(str(r["tier"]), r.get("median_hours_to_first_contact")) for r in rows]
    if not any(v is not None and np.isfinite(v) for _, v in values):
        return empty("no lead contacted yet")
    fig, ax = new_axes()
    names = [t for t, _ in values]
    hours = [float(v) if v is not None and np.isfinite(v) else 0.0 for _, v in values]
    bars = ax.bar([text(t) for t in names], hours, color=[_colour(t, names) for t in names])
    for bar, (_, v) in zip(bars, values, strict=True):
        shown = "-" if v is None or not np.isfinite(v) else f"{float(v):.1f} h"
        ax.annotate(
            shown,
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=FONT_SIZE,
        )
    ax.set_ylim(0, max(1.0, max(hours) * 1.2))
    label_axes(ax, title="Time to first contact by tier", ylabel="median hours")
    return to_svg(fig)


def calibration_points_svg(points: Sequence[Any], *, title: str = "Calibration (test period)") -> str:
    """A reliability diagram from stored points: ``[predicted, observed]`` pairs or dicts with those keys."""
    xs: list[float] = []
    ys: list[float] = []
    for p in points:
        if isinstance(p, Mapping):
            xs.append(float(p.get("predicted", p.get("mean_predicted", 0.0))))
            ys.append(float(p.get("observed", p.get("observed_rate", 0.0))))
        else:
            xs.append(float(p[0]))
            ys.append(float(p[1]))
    if not xs:
        return empty("no calibration points in the card")
    fig, ax = new_axes()
    top = min(1.0, max(*xs, *ys) * 1.05 + 0.01)
    ax.plot(xs, ys, marker="o", markersize=3, label="model")
    ax.plot([0, top], [0, top], linestyle=":", color="grey", label="perfect")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    label_axes(
        ax,
        title=title,
        xlabel="mean predicted probability",
        ylabel="observed conversion rate",
    )
    legend(ax, fontsize=7, loc="upper left")
    return to_svg(fig)


def score_counts_svg(edges: Sequence[float], counts: Sequence[int]) -> str:
    """Leads per score band (bars of the histogram in the dashboard's JSON)."""
    if not counts or sum(counts) == 0:
        return empty("no scores")
    fig, ax = new_axes()
    lefts = np.asarray(edges[:-1], dtype=float)
    widths = np.diff(np.asarray(edges, dtype=float))
    ax.bar(lefts, counts, width=widths, align="edge", color="#2e86c1", edgecolor="white")
    ax.set_xlim(0, 100)
    label_axes(ax, title="Score distribution", xlabel="current score (0-100)", ylabel="leads")
    return to_svg(fig)

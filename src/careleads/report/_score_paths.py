"""A lead's score over its first days: the score after each event, the events marked."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from careleads.report._html import Figure, Section
from careleads.report._plots import empty, label_axes, legend, new_axes, text, to_svg

__all__ = ["score_path_section", "score_paths_svg"]

_SIZE = (7.0, 3.8)


def score_paths_svg(paths: Mapping[str, pd.DataFrame], *, until_hours: float = 72.0) -> str:
    """Step lines of each lead's score over the hours after its arrival, a marker at each event.

    Parameters
    ----------
    paths : mapping of name -> DataFrame
        Each lead's path as :func:`careleads.scoring.score_path` gives it (``hours_after_arrival``,
        ``score``, ``event_type``).
    until_hours : float
        The right end of the time axis.
    """
    if not paths:
        return empty("no example leads", _SIZE)
    fig, ax = new_axes(_SIZE)
    kinds = sorted({str(k) for path in paths.values() for k in path["event_type"] if k})
    colours = {kind: f"C{i % 10}" for i, kind in enumerate(kinds)}
    shown: set[str] = set()
    for name, path in paths.items():
        hours = np.append(path["hours_after_arrival"].to_numpy(dtype=float), until_hours)
        score = np.append(path["score"].to_numpy(dtype=float), path["score"].iloc[-1])
        (line,) = ax.step(hours, score, where="post", color="0.35", linewidth=1.2)
        ax.annotate(
            text(name),
            (until_hours, score[-1]),
            fontsize=7,
            va="center",
            xytext=(3, 0),
            textcoords="offset points",
        )
        for kind in kinds:
            at = path.loc[path["event_type"] == kind]
            if len(at):
                ax.scatter(
                    at["hours_after_arrival"],
                    at["score"],
                    s=16,
                    color=colours[kind],
                    zorder=3,
                    label=text(kind.replace("_", " ")) if kind not in shown else None,
                )
                shown.add(kind)
        ax.scatter(
            hours[:1],
            score[:1],
            s=22,
            marker="s",
            color="black",
            zorder=3,
            label="arrival" if "arrival" not in shown else None,
        )
        shown.add("arrival")
    ax.set_xlim(0, until_hours * 1.08)
    ax.set_ylim(0, max(100.0, float(ax.get_ylim()[1])))
    label_axes(ax, title="Score over the first days", xlabel="hours after arrival", ylabel="score (0-100)")
    legend(ax, fontsize=7, loc="upper left", ncol=2)
    return to_svg(fig)


def score_path_section(paths: Mapping[str, pd.DataFrame], *, until_hours: float = 72.0) -> Section:
    """The report section of a few example leads' score paths (see :func:`score_paths_svg`)."""
    return Section(
        title="Score paths over the first days",
        paragraphs=[
            "A few test leads scored as the API scores them: at arrival, then again at each event with what "
            "the lead had done by then. One model scores every moment, with the hours since arrival among "
            "its features, so a score moves with what the lead did and with the time that passed, never "
            "because another model took over."
        ],
        figures=[Figure(score_paths_svg(paths, until_hours=until_hours))],
    )

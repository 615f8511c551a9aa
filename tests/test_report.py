from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import matplotlib
import numpy as np
import pandas as pd
import pytest

from careleads.errors import InputError
from careleads.report import (
    Figure,
    Section,
    Table,
    calibration_svg,
    conversion_over_time_svg,
    gains_svg,
    histogram_svg,
    hours_by_tier_svg,
    ledger_svg,
    psi_bars_svg,
    render_html,
    render_report,
    roc_svg,
    tier_bars_svg,
)

HOSTILE = "<script>alert('x')</script> & \"quotes\" --> 日本語"


def scores() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    p = np.clip(0.3 * y + 0.7 * rng.random(400), 0, 1)
    return y, {"model": p, HOSTILE: p**2}


def test_every_plot_is_an_inline_svg_without_user_text() -> None:
    y, probs = scores()
    rows = [
        {"tier": "A", "leads": 10, "conversion_rate": 0.5},
        {"tier": HOSTILE, "leads": 0, "conversion_rate": float("nan")},
    ]
    svgs = [
        roc_svg(y, probs),
        calibration_svg(y, probs),
        gains_svg(y, probs),
        tier_bars_svg({"model": rows}),
        psi_bars_svg({HOSTILE: 0.3, "age_days": 0.02}),
        histogram_svg({"train": probs["model"], "test": probs["model"] * 0.9}, xlabel="score"),
    ]
    for svg in svgs:
        assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
        assert "script" not in svg and "<!--" not in svg
        assert 'width="' not in svg.split(">", 1)[0]  # scales with the page


def test_plots_handle_degenerate_input() -> None:
    assert "<svg" in roc_svg([1, 1, 1], {"m": [0.1, 0.2, 0.3]})
    assert "<svg" in gains_svg([0, 0], {"m": [0.1, 0.2]})
    assert "<svg" in psi_bars_svg({})
    assert "<svg" in histogram_svg({"empty": []})


def test_render_report_escapes_and_is_self_contained(tmp_path: Path) -> None:
    y, probs = scores()
    out = render_report(
        tmp_path / "r.html",
        title=HOSTILE,
        subtitle=HOSTILE,
        summary_lines=[HOSTILE],
        sections=[
            Section(
                HOSTILE,
                paragraphs=[HOSTILE],
                items=[HOSTILE],
                tables=[
                    Table(["metric", HOSTILE], [["auc", 0.91234], [HOSTILE, 12000], ["ece", float("nan")]])
                ],
                figures=[Figure(roc_svg(y, probs), caption=HOSTILE), calibration_svg(y, probs)],
                warning=True,
            ),
            {"title": "From a mapping", "paragraphs": ["plain"]},
        ],
    )
    html = out.read_text(encoding="utf-8")
    assert html.count("<svg") == 2
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    assert "0.912" in html and "12,000" in html and "n/a" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
        'xmlns:xlink="http://www.w3.org/1999/xlink"', ""
    )
    assert "<style>" in html and "From a mapping" in html


def test_figure_must_be_a_plot_svg() -> None:
    with pytest.raises(InputError):
        Figure("<img src=x onerror=alert(1)>")
    with pytest.raises(InputError):
        Figure("<svg><script>alert(1)</script></svg>")
    with pytest.raises(InputError):
        render_html(title="t", summary_lines=[], sections=[Section("s", figures=["<b>not svg</b>"])])


def test_report_folder_must_exist(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        render_report(tmp_path / "missing" / "r.html", title="t", summary_lines=[], sections=[])


def _chart_kinds() -> dict[str, Callable[[], str]]:
    y, probs = scores()
    tiers = ["A", "B", "C"]
    ledger = [
        {"scored_at": "2025-03-01T10:00:00", "score": 41, "tier": "B"},
        {"scored_at": "2025-03-02T12:30:00", "score": 77, "tier": "A"},
    ]
    periods = pd.DataFrame(
        {
            "period": pd.to_datetime(["2025-01-01", "2025-02-01"] * 2),
            "tier": ["A", "A", "B", "B"],
            "n": [40, 35, 60, 55],
            "observed_rate": [0.4, 0.35, 0.12, 0.1],
        }
    )
    return {
        "calibration": lambda: calibration_svg(y, probs),
        "gains": lambda: gains_svg(y, probs),
        "tiers": lambda: tier_bars_svg({"model": [{"tier": "A", "leads": 10, "conversion_rate": 0.5}]}),
        "psi": lambda: psi_bars_svg({HOSTILE: 0.3, "age_days": 0.02}),
        "ledger": lambda: ledger_svg(ledger, tiers),
        "over time": lambda: conversion_over_time_svg(periods, tiers),
        "hours": lambda: hours_by_tier_svg([{"tier": "A", "median_hours_to_first_contact": 2.5}]),
    }


def test_charts_drawn_on_threads_equal_the_chart_drawn_alone() -> None:
    # the web server draws charts on its thread pool: a chart must not depend on what other threads draw
    for name, draw in _chart_kinds().items():
        alone = draw()
        with ThreadPoolExecutor(8) as pool:
            drawn = [future.result() for future in [pool.submit(draw) for _ in range(16)]]
        assert all(svg == alone for svg in drawn), name


def test_drawing_changes_no_global_state() -> None:
    # rcParams, logger levels and warning filters are process-wide: a chart that changed them for the time
    # it draws (as a style context does) changes every chart drawn meanwhile on another thread
    rc_before = matplotlib.rcParams.copy()  # copy() leaves the backend unresolved; dict() would resolve it
    filters_before = list(warnings.filters)
    level_before = logging.getLogger("matplotlib.font_manager").level
    kinds = _chart_kinds()
    done = threading.Event()

    def draw_all() -> None:
        for _ in range(3):
            for draw in kinds.values():
                draw()
        done.set()

    drawer = threading.Thread(target=draw_all)
    drawer.start()
    seen = 0
    while not done.is_set():
        assert matplotlib.rcParams.copy() == rc_before
        assert warnings.filters == filters_before
        assert logging.getLogger("matplotlib.font_manager").level == level_before
        seen += 1
        time.sleep(0.001)
    drawer.join()
    assert seen > 10


def test_charts_do_not_depend_on_the_global_style() -> None:
    draws = _chart_kinds()
    expected = {name: draw() for name, draw in draws.items()}
    other = {
        "font.size": 20,
        "font.family": "serif",
        "axes.grid": False,
        "figure.dpi": 50,
        "svg.hashsalt": None,
    }
    with matplotlib.rc_context(cast(Any, other)):  # a program that imports careleads may set its own style
        for name, draw in draws.items():
            assert draw() == expected[name], name


def test_characters_the_font_lacks_are_drawn_as_question_marks() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph would warn
        svg = tier_bars_svg({"日本語": [{"tier": "日本", "leads": 1, "conversion_rate": 0.5}]})
    assert svg.startswith("<svg")


def test_importing_report_switches_no_backend() -> None:
    code = (
        "import sys, matplotlib\n"
        "import careleads, careleads.report\n"
        "careleads.report.roc_svg([0, 1], {'m': [0.2, 0.8]})\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
        "assert matplotlib.rcParams._get_backend_or_none() is None  # no backend chosen\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from careleads.errors import InputError
from careleads.report import (
    Figure,
    Section,
    Table,
    calibration_svg,
    gains_svg,
    histogram_svg,
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

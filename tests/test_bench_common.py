"""The benchmarks' shared helpers: memory of a process tree, yardsticks, ratios, percentiles, children."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from _benchmarks_support import load_benchmark

common = load_benchmark("_common")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_tree_memory_walks_the_children_as_the_scan_finds_them() -> None:
    alone = common.tree_rss_mb()
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; x = bytearray(80_000_000); print(flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        child.stdout.readline()  # the child holds its 80 MB
        walked, scanned = common.tree_rss_mb(), common.tree_rss_mb_scan()
    finally:
        child.kill()
        child.communicate()
    assert walked - alone > 70
    assert abs(walked - scanned) < 5  # the two read at slightly different moments


def test_the_python_yardstick_grows_with_the_loop() -> None:
    assert common.python_yardstick(1_000) < common.python_yardstick(2_000_000)


def test_ratio_and_percentiles() -> None:
    assert common.ratio(3.0, 2.0) == 1.5
    assert math.isnan(common.ratio(1.0, 0.0))
    summary = common.percentiles(np.arange(1.0, 101.0))
    assert summary == {"n": 100, "p50_ms": 50.5, "p99_ms": 99.01}


def test_milliseconds_per_call_counts_each_item_once_after_the_warm_up() -> None:
    calls: list[int] = []
    ms = common.milliseconds_per_call(calls.append, list(range(10)), warm=3)
    assert len(ms) == 10 and calls == [0, 1, 2, *range(10)]
    assert (ms >= 0).all()


def test_a_child_answers_with_its_last_json_line_or_its_error(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(
        "import json, sys\n"
        "if sys.argv[2] == 'fail':\n"
        "    sys.exit('the step broke')\n"
        "print('noise')\n"
        "print(json.dumps({'argv': sys.argv[1:]}))\n",
        encoding="utf-8",
    )
    assert common.run_child(script, ["ok", "x"]) == {"argv": ["--child", "ok", "x"]}
    with pytest.raises(RuntimeError, match="the step broke"):
        common.run_child(script, ["fail"])


def test_emit_prints_and_writes_the_same_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    figures = {"leads": 3, "nested": {"p99_ms": 1.5}}
    common.emit(figures, json_path=tmp_path / "f.json", text=common.table("t", [("leads", "3")]))
    document, _, rest = capsys.readouterr().out.partition("\n}\n")
    assert json.loads(document + "\n}") == figures
    assert json.loads((tmp_path / "f.json").read_text(encoding="utf-8")) == figures
    assert "leads" in rest and "3" in rest  # the table after the JSON


def test_the_package_holds_no_benchmark_and_never_imports_one() -> None:
    import ast
    import pkgutil

    import careleads

    names = [m.name for m in pkgutil.walk_packages(careleads.__path__, "careleads.")]
    assert names and not [n for n in names if n.rsplit(".", 1)[-1] in ("bench", "measure")]
    scripts = {p.stem for p in Path(common.__file__).parent.glob("*.py")}
    for path in Path(careleads.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                modules = (
                    [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                )
                assert not scripts & {m.split(".")[0] for m in modules}, path

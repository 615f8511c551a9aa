"""The benchmark's memory sampler counts this process and its children, as a scan of every process does."""

from __future__ import annotations

import subprocess
import sys

import pytest

from careleads.engines.bench import _tree_rss_mb, _tree_rss_mb_scan


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_tree_memory_walks_the_children_as_the_scan_finds_them() -> None:
    alone = _tree_rss_mb()
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
        walked, scanned = _tree_rss_mb(), _tree_rss_mb_scan()
    finally:
        child.kill()
        child.communicate()
    assert walked - alone > 70
    assert abs(walked - scanned) < 5  # the two read at slightly different moments

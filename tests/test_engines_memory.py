"""A batch process keeps what it frees for the next chunk (per process: checked in fresh interpreters)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import pyarrow as pa
    from careleads.engines import keep_freed_memory

    def resident_mb():
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * 4096 / 2**20

    kept = keep_freed_memory() if sys.argv[1] == "keep" else None
    again = keep_freed_memory() if sys.argv[1] == "keep" else None
    block = np.ones(3_000_000)  # 24 MB, as a chunk's feature matrix
    before = resident_mb()
    del block
    print(json.dumps({"kept": kept, "again": again, "pool": pa.default_memory_pool().backend_name,
                      "released_mb": before - resident_mb()}))
    """
)


def _run(mode: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, mode], capture_output=True, text=True, timeout=120, check=True
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the malloc settings are glibc's")
def test_freed_memory_is_kept_for_reuse_only_when_asked() -> None:
    default, kept = _run("default"), _run("keep")
    assert float(str(default["released_mb"])) > 20  # by default a large block goes back to the OS at once
    assert kept["kept"] is True and kept["again"] is True
    assert kept["pool"] == "system"  # Arrow allocates with malloc, which now keeps what is freed
    assert float(str(kept["released_mb"])) < 2

"""careleads: lead scoring for healthcare teams, calibrated, time-validated and leakage-audited.

The public use cases are importable from the top level (loaded on first use, so the CLI starts fast):
``generate``, ``load_crm_folder``, ``train_model``, ``score_leads``, ``evaluate_file``, ``run_demo``.
"""

from __future__ import annotations

import os
from importlib import import_module
from typing import Any

# LightGBM's OpenMP threads spin while waiting by default; on a small shared machine (2 cores) that made
# training about ten times slower. Sleeping waits cost nothing measurable when the machine is idle.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

__version__ = "0.1.0"

_LAZY = {
    "generate": "careleads.synth",
    "load_crm_folder": "careleads.datasets",
    "Target": "careleads.features",
    "train_model": "careleads.models",
    "score_leads": "careleads.scoring",
    "evaluate_file": "careleads.models",
    "run_demo": "careleads.demo",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'careleads' has no attribute {name!r}")

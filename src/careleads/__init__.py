"""careleads: lead scoring for healthcare teams, calibrated, time-validated and leakage-audited.

The public use cases are importable from the top level (loaded on first use, so the CLI starts fast):
``generate``, ``load_crm_folder``, ``train_model``, ``score_leads``, ``evaluate_file``, ``run_demo``.

Importing careleads changes nothing in the process. A program that trains or scores with LightGBM on a
small shared machine should let OpenMP threads sleep while they wait, before LightGBM loads:
``careleads.settings.prefer_sleeping_openmp_threads()`` (the ``careleads`` command does this itself).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

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

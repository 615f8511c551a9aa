"""A small model with text features, built once per test session (its classifiers trained with it).

Imported by the text, artifact and serving tests (``from _text_support import ...``).
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from careleads.datasets import load_crm_folder
from careleads.features import Target, build_dataset
from careleads.models import LeadModel, train_model
from careleads.synth import generate
from careleads.text import TextClassifiers, train_text_classifiers

_CACHE: dict[str, Any] = {}


def small_classifiers() -> TextClassifiers:
    """Intent and urgency classifiers trained on 2,000 simulator texts (seed 3)."""
    if "classifiers" not in _CACHE:
        _CACHE["classifiers"] = train_text_classifiers(3, n_texts=2_000)
    classifiers: TextClassifiers = _CACHE["classifiers"]
    return classifiers


def text_export() -> tuple[Any, pd.Timestamp]:
    """Ingested tables of 2,500 simulated leads whose texts say what the form does not, and the data end."""
    if "tables" not in _CACHE:
        folder = Path(tempfile.mkdtemp(prefix="careleads-text-export-"))
        data = generate(2_500, seed=3, text_signals=True)
        data.write(folder)
        _CACHE["tables"] = (load_crm_folder(folder), data.end)
    tables: tuple[Any, pd.Timestamp] = _CACHE["tables"]
    return tables


def text_model() -> LeadModel:
    """A model with text features; its spec carries the classifiers its features came from."""
    if "model" not in _CACHE:
        tables, end = text_export()
        dataset = build_dataset(
            tables.leads,
            tables.events,
            tables.outcomes,
            target=Target(),
            table=tables.dictionary.table("leads"),
            data_end=end,
            text=True,
            classifiers=small_classifiers(),
        )
        # time_split compares asi8 with Timestamp.value: keep scoring moments in nanoseconds
        dataset = dataclasses.replace(dataset, as_of=dataset.as_of.astype("datetime64[ns]"))
        _CACHE["model"] = train_model(dataset, seed=0).model
    model: LeadModel = _CACHE["model"]
    return model

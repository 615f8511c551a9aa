"""Model artifacts: LightGBM's text and JSON, no pickle; a model read back scores exactly as written."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from _service_support import trained_model_with_cold_start
from careleads.errors import ConfigError, NotFoundError
from careleads.models import LeadModel
from careleads.scoring import score_leads
from conftest import Export


@pytest.fixture(scope="module")
def model() -> LeadModel:
    return trained_model_with_cold_start()


def test_a_saved_model_scores_exactly_as_before_and_holds_no_pickle(
    model: LeadModel, small_export: Export, tmp_path: Path
) -> None:
    folder = model.save(tmp_path / "m")
    written = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert written == [
        "cold_start/model.json",
        "cold_start/model_card.json",
        "cold_start/trees.txt",
        "model.json",
        "model_card.json",
        "trees.txt",
    ]
    for path in folder.rglob("*"):
        if path.is_file():
            assert not path.read_bytes().startswith(b"\x80"), f"{path} is a pickle"
            if path.suffix == ".json":
                json.loads(path.read_text(encoding="utf-8"))
    again = LeadModel.load(folder)
    assert again.cold_start is not None and again.fallback is not None
    leads, events = small_export.tables.leads.head(400).copy(), small_export.tables.events
    leads["do_not_profile"] = np.arange(len(leads)) % 5 == 0  # the rule baseline travels too
    for as_of in (None, "arrival"):
        when = None if as_of is None else leads["created_at"].min()
        before = score_leads(model, leads, events, as_of=when)
        after = score_leads(again, leads, events, as_of=when)
        assert after.drop(columns="model_version").equals(before.drop(columns="model_version"))
        assert (after["model_version"] == before["model_version"]).all()
    assert again.card == json.loads(json.dumps(model.card, default=str))


def test_a_pickled_model_of_an_older_release_is_refused_with_what_to_do(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "model.joblib").write_bytes(pickle.dumps({"not": "loaded"}))
    (folder / "model_card.json").write_text(json.dumps({"trained_at": "2026-11-27T10:00:00"}))
    with pytest.raises(ConfigError, match=r"earlier careleads release \(trained 2026-11-27.*retrain it"):
        LeadModel.load(folder)
    with pytest.raises(NotFoundError, match="no model artifact"):
        LeadModel.load(tmp_path / "nothing")


def test_a_model_in_another_format_version_names_who_wrote_it(model: LeadModel, tmp_path: Path) -> None:
    folder = model.save(tmp_path / "m")
    data = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    data.update(format_version=99, written_by="careleads 9.0.0")
    (folder / "model.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"version 99, written by careleads 9\.0\.0.*reads version 1"):
        LeadModel.load(folder)

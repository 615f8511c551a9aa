"""Model artifacts: LightGBM's text and JSON, no pickle; a model read back scores exactly as written."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from _service_support import trained_day_one_model
from _text_support import text_export, text_model
from careleads.errors import ConfigError, NotFoundError
from careleads.models import LeadModel
from careleads.scoring import score_leads
from conftest import Export


@pytest.fixture(scope="module")
def model() -> LeadModel:
    return trained_day_one_model()


def test_a_saved_model_scores_exactly_as_before_and_holds_no_pickle(
    model: LeadModel, small_export: Export, tmp_path: Path
) -> None:
    folder = model.save(tmp_path / "m")
    written = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert written == [
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
    assert again.spec.latest_activity and again.fallback is not None
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
    with pytest.raises(ConfigError, match=r"version 99, written by careleads 9\.0\.0.*reads version 2"):
        LeadModel.load(folder)


@pytest.mark.parametrize("cold_start", [True, False])
def test_a_model_of_format_1_is_refused_with_how_to_retrain(
    model: LeadModel, tmp_path: Path, cold_start: bool
) -> None:
    folder = model.save(tmp_path / "m")
    data = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    data.update(format_version=1, written_by="careleads 0.9.0")
    (folder / "model.json").write_text(json.dumps(data), encoding="utf-8")
    if cold_start:  # format 1 kept a cold-start model beside the 24-hour one
        (folder / "cold_start").mkdir()
        (folder / "cold_start" / "model.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"version 1, written by careleads 0\.9\.0.*retrain with `careleads train`"
    ):
        LeadModel.load(folder)


def test_a_text_model_carries_its_classifiers_and_scores_exactly_as_before(tmp_path: Path) -> None:
    model = text_model()
    tables, _ = text_export()
    folder = model.save(tmp_path / "t")
    assert (folder / "text_classifiers.json").is_file()
    data = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    assert data["spec"]["text"] is True and data["text_classifiers"] == "text_classifiers.json"
    assert "text_classifiers" not in data["spec"]
    again = LeadModel.load(folder)
    assert again.spec == model.spec and again.spec.text_classifiers is not None
    assert model.spec.text_classifiers is not None
    texts = list(tables.leads["question"].dropna().head(300)) + ["", "x"]
    for before, after in zip(model.spec.text_classifiers, again.spec.text_classifiers, strict=True):
        assert np.array_equal(after.predict_proba(texts), before.predict_proba(texts))
    leads, events = tables.leads.head(300), tables.events
    before = score_leads(model, leads, events)
    after = score_leads(again, leads, events)
    assert after.drop(columns="model_version").equals(before.drop(columns="model_version"))


@pytest.mark.parametrize("damage", ["no section", "no file", "other format"])
def test_a_text_model_without_usable_classifiers_is_refused_with_what_to_do(
    damage: str, tmp_path: Path
) -> None:
    """Releases before the classifiers travelled with the model trained them on first use, from simulator
    texts that may have changed since: such a model's features cannot be rebuilt as trained."""
    folder = text_model().save(tmp_path / "t")
    data = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    data["written_by"] = "careleads 0.0.9"
    if damage == "no section":
        del data["text_classifiers"]
        (folder / "text_classifiers.json").unlink()
        expected = r"written by careleads 0\.0\.9 without the text classifiers.*careleads train --text"
    elif damage == "no file":
        (folder / "text_classifiers.json").unlink()
        expected = r"text_classifiers\.json.*missing.*careleads train --text"
    else:
        (folder / "text_classifiers.json").write_text(json.dumps({"format": "other"}), encoding="utf-8")
        expected = r"text_classifiers\.json: text classifiers in format 'other'.*careleads train --text"
    (folder / "model.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError, match=expected):
        LeadModel.load(folder)


def test_a_model_without_text_features_needs_no_text_section(model: LeadModel, tmp_path: Path) -> None:
    folder = model.save(tmp_path / "m")
    assert not list(folder.rglob("text_classifiers.json"))
    assert "text_classifiers" not in json.loads((folder / "model.json").read_text(encoding="utf-8"))
    assert LeadModel.load(folder).spec.text_classifiers is None

"""Model artifacts without pickle: the boosted trees in LightGBM's own text format, everything else JSON.

A model folder holds ``model.json`` (the format version, the careleads release that wrote it, the target,
the feature spec, the preprocessor's levels, the calibrator, the tiers and the rule baseline's table and
calibrator), ``trees.txt`` (LightGBM's model text) and ``model_card.json``. A model with text features also
holds ``text_classifiers.json``: the intent and urgency classifiers its features come from, as data
(vocabulary, idf weights, coefficients; see :func:`careleads.text.classifiers_to_dict`), so scoring never
fits or trains anything. Loading reads data only, so a registry folder cannot run code, and the files do not
depend on the library versions that wrote them. A folder written by an older release (a pickled
``model.joblib``, text features without their classifiers, or format version 1: a 24-hour model with a
separate cold-start model beside it, which scored a lead's first engagement lower than its arrival) is
refused with the release that wrote it and how to retrain.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightgbm as lgb
import numpy as np

from careleads import __version__
from careleads.errors import ConfigError, NotFoundError
from careleads.features import FeatureSpec, Target
from careleads.models._gbm import FramePreprocessor, GradientBoostedScorer
from careleads.rules import PointRule, PointsScorer, PointsTable
from careleads.stats import ProbabilityCalibrator, TierScheme
from careleads.text import classifiers_from_dict, classifiers_to_dict, default_classifiers

if TYPE_CHECKING:
    from careleads.models._lead_model import LeadModel

FORMAT = "careleads-model"
FORMAT_VERSION = 2  # 2: one day-one model, no cold-start model beside it
MODEL_FILE = "model.json"
TREES_FILE = "trees.txt"
CARD_FILE = "model_card.json"
TEXT_FILE = "text_classifiers.json"
_PICKLED = "model.joblib"  # the format of releases before artifacts were data only


def save_model(model: LeadModel, folder: Path) -> Path:
    """Write `model` into `folder` (created if needed); returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    scorer = model.scorer
    _write(folder / TREES_FILE, str(scorer.booster_.model_to_string(num_iteration=scorer.n_estimators_)))
    data = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "written_by": f"careleads {__version__}",
        "target": model.target.to_dict(),
        "spec": _spec_out(model.spec),
        "preprocessor": {
            "min_level_count": model.preprocessor.min_level_count,
            "features": [str(n) for n in model.preprocessor.feature_names_in_],
            "levels": model.preprocessor.categories_,
        },
        "scorer": {
            "params": scorer.get_params(),
            "trees": scorer.n_estimators_,
            "valid_auc": getattr(scorer, "valid_auc_", None),
        },
        "calibrator": model.calibrator.to_dict(),
        "tiers": model.tiers.to_dict(),
        "fallback": _points_out(model.fallback) if model.fallback is not None else None,
    }
    if model.spec.text:
        # a spec built without classifiers made its text features with the shipped defaults
        classifiers = model.spec.text_classifiers or default_classifiers()
        _write(folder / TEXT_FILE, json.dumps(classifiers_to_dict(classifiers)) + "\n")
        data["text_classifiers"] = TEXT_FILE
    _write(folder / MODEL_FILE, json.dumps(data, indent=2, default=str) + "\n")
    _write(folder / CARD_FILE, json.dumps(model.card, indent=2, default=str) + "\n")
    return folder


def load_model(folder: Path) -> LeadModel:
    """Read a model folder written by :func:`save_model`.

    Raises
    ------
    NotFoundError
        When the folder holds no model.
    ConfigError
        When it holds a model in another format: an older release's pickle, or a newer format.
    """
    from careleads.models._lead_model import LeadModel

    path = folder / MODEL_FILE
    if not path.exists():
        if (folder / _PICKLED).exists():
            raise ConfigError(
                f"the model {folder.name!r} was written by {_writer(folder)} as a pickle, which this release "
                "does not load (a pickle can run code when read); retrain it with `careleads train` and "
                "publish the new version"
            )
        raise NotFoundError(f"no model artifact in {folder.name!r}; train one with `careleads train`")
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != FORMAT or data.get("format_version") != FORMAT_VERSION:
        found = f"format {data.get('format')!r} version {data.get('format_version')!r}"
        writer = data.get("written_by", "an unknown release")
        raise ConfigError(
            f"the model {folder.name!r} is in {found}, written by {writer}; "
            f"this release reads version {FORMAT_VERSION}: use the release that wrote it, or retrain with "
            "`careleads train`"
        )
    card_path = folder / CARD_FILE
    card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.exists() else {}
    return LeadModel(
        target=Target(**data["target"]),
        spec=_text_in(_spec_in(data["spec"]), data, folder),
        preprocessor=_preprocessor_in(data["preprocessor"]),
        scorer=_scorer_in(data["scorer"], (folder / TREES_FILE).read_text(encoding="utf-8")),
        calibrator=ProbabilityCalibrator.from_dict(data["calibrator"]),
        tiers=TierScheme.from_dict(data["tiers"]),
        card=card,
        fallback=_points_in(data["fallback"]) if data.get("fallback") is not None else None,
    )


def _writer(folder: Path) -> str:
    """The release that wrote an old model folder, as far as its card says."""
    try:
        card = json.loads((folder / CARD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "an earlier careleads release"
    written = card.get("careleads_version") or card.get("written_by")
    return (
        f"careleads {written}"
        if written
        else f"an earlier careleads release (trained {card.get('trained_at')})"
    )


def _spec_out(spec: FeatureSpec) -> dict[str, Any]:
    # the text classifiers are written to their own file (TEXT_FILE)
    out = {f.name: getattr(spec, f.name) for f in fields(spec) if f.name != "text_classifiers"}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


def _text_in(spec: FeatureSpec, data: dict[str, Any], folder: Path) -> FeatureSpec:
    """The spec with the text classifiers its model's features come from, read from the folder."""
    if not spec.text:
        return spec
    name = data.get("text_classifiers")
    if name is None:
        # releases before the classifiers travelled with the model trained them when first used, from
        # simulator texts that may have changed since: the features could not be rebuilt as trained
        writer = data.get("written_by", "an earlier careleads release")
        raise ConfigError(
            f"the model {folder.name!r} uses text features but was written by {writer} without the text "
            "classifiers they came from, so its scores cannot be reproduced; retrain it with "
            "`careleads train --text` and publish the new version"
        )
    path = folder / str(name)
    if not path.is_file():
        raise ConfigError(
            f"the model {folder.name!r} names {name} for its text classifiers but the file is missing; copy "
            "the whole model folder, or retrain with `careleads train --text`"
        )
    classifiers = classifiers_from_dict(json.loads(path.read_text(encoding="utf-8")), str(path))
    return replace(spec, text_classifiers=classifiers)


def _spec_in(data: dict[str, Any]) -> FeatureSpec:
    return FeatureSpec(
        categorical=tuple(data["categorical"]),
        numeric=tuple(data["numeric"]),
        boolean=tuple(data["boolean"]),
        presence=tuple(data["presence"]),
        time_column=str(data["time_column"]),
        key=str(data["key"]),
        excluded={str(k): str(v) for k, v in data.get("excluded", {}).items()},
        text=bool(data.get("text", False)),
        latest_activity=bool(data.get("latest_activity", False)),
    )


def _preprocessor_in(data: dict[str, Any]) -> FramePreprocessor:
    prep = FramePreprocessor(min_level_count=int(data["min_level_count"]))
    prep.feature_names_in_ = np.asarray(data["features"], dtype=object)
    prep.categories_ = {str(k): [str(v) for v in levels] for k, levels in data["levels"].items()}
    return prep


def _scorer_in(data: dict[str, Any], trees: str) -> GradientBoostedScorer:
    scorer = GradientBoostedScorer(**data["params"])
    scorer.booster_ = lgb.Booster(model_str=trees)
    scorer.n_estimators_ = int(data["trees"])
    scorer.feature_names_in_ = np.asarray(scorer.booster_.feature_name(), dtype=object)
    if data.get("valid_auc") is not None:
        scorer.valid_auc_ = float(data["valid_auc"])
    return scorer


def _points_out(points: PointsScorer) -> dict[str, Any]:
    table = points.table
    return {
        "table": {
            "name": table.name,
            "half_life_days": table.half_life_days,
            "source": table.source,
            "rules": [
                {
                    "group": rule.group,
                    "field": rule.field,
                    "points": dict(rule.points) if isinstance(rule.points, dict) else rule.points,
                    "above": rule.above,
                    "per_event": rule.per_event,
                    "maximum": rule.maximum,
                }
                for rule in table.rules
            ],
        },
        "calibrator": points.calibrator_.to_dict(),
    }


def _points_in(data: dict[str, Any]) -> PointsScorer:
    table = data["table"]
    points = PointsScorer()
    points.table_ = PointsTable(
        name=str(table["name"]),
        half_life_days=float(table["half_life_days"]),
        rules=tuple(PointRule(**rule) for rule in table["rules"]),
        source=str(table["source"]),
    )
    points.calibrator_ = ProbabilityCalibrator.from_dict(data["calibrator"])
    return points


def _write(path: Path, text: str) -> None:
    """Write then rename: a reader never sees a half-written file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)

"""Boosted trees compiled to native code with lleaves, used only where they match LightGBM to 1e-9.

LightGBM walks its trees in an interpreter; lleaves compiles them with LLVM into a shared object, which
scores several times faster. The compiled object is cached per model (by a hash of the model text), so a
model compiles once per machine. Reason codes (SHAP values) still come from LightGBM.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import platform
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from careleads.models import GradientBoostedScorer, LeadModel
from careleads.settings import get_settings
from careleads.types import FloatArray

logger = logging.getLogger(__name__)

#: Largest absolute difference from LightGBM accepted for compiled raw scores.
TOLERANCE = 1e-9

_MEMO: dict[str, Any] = {}


def lleaves_available() -> bool:
    """Whether lleaves (and a working llvmlite) can be imported."""
    try:
        import lleaves  # noqa: F401
    except ImportError:
        return False
    return True


def cache_dir() -> Path:
    """Folder of compiled models (the ``cache_dir`` setting, ``CARELEADS_CACHE_DIR``)."""
    return get_settings().compiled_cache_path()


class CompiledScorer(GradientBoostedScorer):
    """A fitted `GradientBoostedScorer` whose raw predictions come from lleaves-compiled trees.

    Everything else (contributions, importances, settings) is the LightGBM model's.
    """

    compiled_: Any
    n_threads_: int

    @classmethod
    def from_scorer(cls, scorer: GradientBoostedScorer, compiled: Any, *, n_threads: int) -> CompiledScorer:
        out = cls(**scorer.get_params())
        for name, value in vars(scorer).items():
            if name.endswith("_"):
                setattr(out, name, value)
        out.compiled_ = compiled
        out.n_threads_ = n_threads
        return out

    def predict_raw(self, X: pd.DataFrame | FloatArray) -> npt.NDArray[np.float64]:
        """Raw probabilities of the preprocessor's matrix (a preprocessed frame goes to LightGBM)."""
        if isinstance(X, pd.DataFrame):
            return super().predict_raw(X)
        if len(X) == 0:  # lleaves splits rows among threads and fails on none
            return np.zeros(0, dtype=np.float64)
        n_jobs = max(1, min(self.n_threads_, len(X)))
        return np.asarray(self.compiled_.predict(X, n_jobs=n_jobs), dtype=np.float64)

    def __reduce__(self) -> tuple[Any, ...]:
        # the compiled object holds native function pointers: pickle as the plain LightGBM scorer
        plain = GradientBoostedScorer(**self.get_params())
        for name, value in vars(self).items():
            if name.endswith("_") and name not in ("compiled_", "n_threads_"):
                setattr(plain, name, value)
        return (_identity, (plain,))


def _identity(value: GradientBoostedScorer) -> GradientBoostedScorer:
    return value


def _model_text(scorer: GradientBoostedScorer) -> str:
    return str(scorer.booster_.model_to_string(num_iteration=scorer.n_estimators_))


def compile_trees(model: LeadModel, *, n_threads: int = 2, folder: Path | None = None) -> LeadModel:
    """A copy of `model` whose trees run as native code (lleaves); compiled once per machine and cached.

    Parameters
    ----------
    model : LeadModel
        A trained model.
    n_threads : int
        Threads for compiled prediction.
    folder : Path, optional
        Cache folder (default: `cache_dir()`).

    Returns
    -------
    LeadModel
        The same model with a `CompiledScorer`; pickles back to the plain LightGBM model. A model already
        compiled comes back as it is, or with `n_threads` when it had another number.

    Raises
    ------
    ImportError
        If lleaves is not installed.
    """
    import lleaves
    import llvmlite  # type: ignore[import-untyped]

    scorer = model.scorer
    if isinstance(scorer, CompiledScorer):
        if scorer.n_threads_ == n_threads:
            return model
        return dataclasses.replace(
            model, scorer=CompiledScorer.from_scorer(scorer, scorer.compiled_, n_threads=n_threads)
        )
    text = _model_text(scorer)
    identity = "|".join((text, version("lleaves"), llvmlite.__version__, platform.machine()))
    key = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:24]
    compiled = _MEMO.get(key)
    if compiled is None:
        root = folder or cache_dir()
        root.mkdir(parents=True, exist_ok=True)
        model_file = root / f"{key}.txt"
        library = root / f"{key}.so"
        if not model_file.exists():
            _write_atomic(model_file, text.encode("utf-8"))
        compiled = lleaves.Model(model_file=str(model_file))
        if library.exists():
            compiled.compile(cache=str(library))
        else:
            # compile to a private name, then rename: concurrent workers never load a half-written file
            fd, tmp = tempfile.mkstemp(dir=root, suffix=".so.tmp")
            os.close(fd)
            os.unlink(tmp)
            logger.info("compiling %d trees of model %s with lleaves", scorer.n_estimators_, model.version)
            compiled.compile(cache=tmp)
            os.replace(tmp, library)
        _MEMO[key] = compiled
    return dataclasses.replace(
        model, scorer=CompiledScorer.from_scorer(scorer, compiled, n_threads=n_threads)
    )


def compiled_matches(compiled: LeadModel, plain: LeadModel, X: pd.DataFrame) -> float:
    """Largest absolute difference between compiled and LightGBM raw scores on feature rows `X`."""
    matrix = plain.preprocessor.matrix(X)
    got = compiled.scorer.predict_raw(matrix)
    want = plain.scorer.predict_raw(matrix)
    return float(np.max(np.abs(got - want))) if len(want) else 0.0


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)

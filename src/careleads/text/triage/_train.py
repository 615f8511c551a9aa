"""Offline build of the clinical-triage data files: ``python -m careleads.text.triage._train``.

Run from a checkout after changing the vocabularies or the development set; it writes, into this package's
``data/`` folder:

- ``real_words.txt``: the English words (from a system word list, ``/usr/share/dict/words`` by default:
  Debian's ``wamerican``) within two edits of a vocabulary word: never corrected themselves, and a typo
  as near to one of them as to a vocabulary word is left as it is ("cheked" is no typo of "choked": it is
  as near to "checked"). Made from the vocabulary words of :mod:`._lexicon`; its first line holds a hash
  of them, so a test sees when it is out of date.
- ``classifier.json``: the learned second opinion (:mod:`._classifier`), fitted with scikit-learn on the
  development set ``tests/data/triage_dev.csv`` (``label`` urgent or not) and the tuning set
  ``tests/data/triage_tuning.csv`` (``group`` urgent, or symptom / scheduling: not urgent).

How the thresholds are chosen (on the training texts only): 5-fold stratified cross-validation gives
each text a probability from a model that did not see it. The urgent threshold is the lowest that keeps
the out-of-fold false-alarm rate on non-urgent texts at or under ``--urgent-fpr`` (1%), the possible
threshold the lowest that keeps it at or under ``--possible-fpr`` (3%); neither goes below
``--floor`` (0.5 and 0.35). The final model is then fitted on the whole set. The figures go into the JSON.

scikit-learn and scipy are needed here only; the detector reads the JSON with numpy.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import subprocess
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from careleads.text.triage._classifier import N_FEATURES, TriageClassifier, feature_indices
from careleads.text.triage._normalise import REAL_WORDS, VOCABULARY, glued_halves, tokenise

__all__ = ["build_real_words", "fit_classifier", "read_dev_set", "read_tuning_set", "vocabulary_hash"]

DEV_SET = Path(__file__).resolve().parents[4] / "tests" / "data" / "triage_dev.csv"
TUNING_SET = DEV_SET.with_name("triage_tuning.csv")
_DATA = Path(str(resources.files("careleads.text.triage").joinpath("data")))


def vocabulary_hash() -> str:
    """A short hash of the vocabulary words (what ``real_words.txt`` was made from)."""
    return hashlib.sha256("\n".join(VOCABULARY).encode()).hexdigest()[:16]


def build_real_words(dictionary: Path) -> list[str]:
    """Dictionary words (lower case, letters only) within two edits of a vocabulary word, less those words,
    and those that start with a vocabulary word ("breathtaking", "lifetime", "painting").

    Such a word is never corrected or split, and a typo as near to one of them as to a vocabulary word is
    left as it is (:func:`._normalise.correct`).
    """
    from rapidfuzz.distance import OSA
    from rapidfuzz.process import cdist

    vocabulary = set(VOCABULARY)
    lines = dictionary.read_text("utf-8", errors="ignore").splitlines()
    words = sorted({w.strip() for w in lines if w.strip().isalpha() and w.strip().islower() and w.isascii()})
    words = [w for w in words if len(w) >= 3 and w not in vocabulary]
    distance = cdist(words, VOCABULARY, scorer=OSA.distance, score_cutoff=2, dtype=np.int32, workers=1)
    near = (distance.min(axis=1) <= 2).tolist()
    return [w for w, keep in zip(words, near, strict=True) if keep or glued_halves(w) is not None]


def read_dev_set(path: Path = DEV_SET) -> tuple[list[str], npt.NDArray[np.bool_], list[str]]:
    """The development set: texts, whether each is urgent, and each one's group (``kind`` column)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    texts = [row["text"] for row in rows]
    urgent = np.array([row["label"] == "urgent" for row in rows], dtype=bool)
    return texts, urgent, [row["kind"] for row in rows]


def read_tuning_set(path: Path = TUNING_SET) -> tuple[list[str], npt.NDArray[np.bool_], list[str]]:
    """The tuning set: texts, whether each is urgent (``group`` urgent), and each one's group.

    Raises
    ------
    ValueError
        When a row's ``group`` is not ``urgent``, ``symptom`` or ``scheduling`` (the row number says where).
    """
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    for number, row in enumerate(rows, start=2):
        if row["group"] not in ("urgent", "symptom", "scheduling"):
            raise ValueError(
                f"{path}, row {number}: group {row['group']!r} is not urgent, symptom or scheduling; "
                "fix the row"
            )
    texts = [row["text"] for row in rows]
    urgent = np.array([row["group"] == "urgent" for row in rows], dtype=bool)
    return texts, urgent, [row["group"] for row in rows]


def _matrix(texts: Sequence[str]) -> object:
    from scipy.sparse import csr_matrix

    rows = [feature_indices(tokenise(t).words) for t in texts]
    indptr = np.cumsum([0] + [len(r) for r in rows])
    data = np.concatenate([np.full(len(r), 1.0 / np.sqrt(max(len(r), 1))) for r in rows])
    return csr_matrix((data, np.concatenate(rows), indptr), shape=(len(texts), N_FEATURES))


def _threshold(
    probability: npt.NDArray[np.float64], negative: npt.NDArray[np.bool_], rate: float, floor: float
) -> float:
    """The lowest threshold at or above `floor` whose false-alarm rate on the negatives is at most `rate`."""
    scores = np.sort(probability[negative])[::-1]
    allowed = int(np.floor(rate * len(scores)))
    above = scores[allowed] if allowed < len(scores) else 0.0  # the highest negative that must stay below
    return float(max(floor, np.nextafter(above, 1.0)))


def fit_classifier(
    texts: Sequence[str],
    urgent: npt.NDArray[np.bool_],
    *,
    c: float = 4.0,
    urgent_fpr: float = 0.01,
    possible_fpr: float = 0.03,
    floors: tuple[float, float] = (0.5, 0.35),
    random_state: int = 0,
) -> TriageClassifier:
    """Fit the hashed logistic regression and choose its thresholds by cross-validation (see the module)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    x = _matrix(texts)
    oof = np.zeros(len(texts))
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=random_state)
    for train, test in folds.split(np.zeros(len(texts)), urgent):
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
        model.fit(x[train], urgent[train])  # type: ignore[index]
        oof[test] = model.predict_proba(x[test])[:, 1]  # type: ignore[index]
    urgent_threshold = _threshold(oof, ~urgent, urgent_fpr, floors[0])
    possible_threshold = min(_threshold(oof, ~urgent, possible_fpr, floors[1]), urgent_threshold)
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000).fit(x, urgent)
    info: dict[str, object] = {
        "trained_on": "tests/data/triage_dev.csv + tests/data/triage_tuning.csv",
        "n_texts": len(texts),
        "n_urgent": int(urgent.sum()),
        "c": c,
        "threshold_rule": (
            f"5-fold out-of-fold probabilities: urgent = lowest threshold >= {floors[0]} with false alarms "
            f"on non-urgent <= {urgent_fpr}; possible = lowest >= {floors[1]} with false alarms "
            f"<= {possible_fpr}"
        ),
        "oof_recall_at_urgent": float((oof[urgent] >= urgent_threshold).mean()),
        "oof_recall_at_possible": float((oof[urgent] >= possible_threshold).mean()),
        "oof_false_alarms_at_urgent": float((oof[~urgent] >= urgent_threshold).mean()),
        "oof_false_alarms_at_possible": float((oof[~urgent] >= possible_threshold).mean()),
    }
    return TriageClassifier(
        weights=np.asarray(model.coef_[0], dtype=np.float64),
        intercept=float(model.intercept_[0]),
        urgent_threshold=urgent_threshold,
        possible_threshold=possible_threshold,
        info=info,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m careleads.text.triage._train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dictionary", type=Path, default=Path("/usr/share/dict/words"))
    parser.add_argument("--dev-set", type=Path, default=DEV_SET)
    parser.add_argument("--tuning-set", type=Path, default=TUNING_SET)
    parser.add_argument("--out", type=Path, default=_DATA)
    parser.add_argument("--urgent-fpr", type=float, default=0.01)
    parser.add_argument("--possible-fpr", type=float, default=0.03)
    parser.add_argument("--keep-words", action="store_true", help="leave real_words.txt as it is")
    args = parser.parse_args(argv)
    out = sys.stdout
    if args.dictionary.is_file() and not args.keep_words:
        words = build_real_words(args.dictionary)
        header = f"# vocabulary {vocabulary_hash()}: English words never corrected (made by _train.py)\n"
        (args.out / "real_words.txt").write_text(header + "\n".join(words) + "\n", encoding="utf-8")
        out.write(f"real_words.txt: {len(words)} words\n")
        if args.out.resolve() == _DATA.resolve() and frozenset(words) != REAL_WORDS:
            # this process's tokeniser read the previous list: the classifier's features must come from
            # the new one, so it is fitted in a fresh process
            out.write("real_words.txt changed: fitting the classifier in a fresh process\n")
            out.flush()
            options = ["--dev-set", str(args.dev_set), "--tuning-set", str(args.tuning_set)]
            options += ["--out", str(args.out), "--urgent-fpr", str(args.urgent_fpr)]
            options += ["--possible-fpr", str(args.possible_fpr), "--keep-words"]
            command = [sys.executable, "-m", "careleads.text.triage._train", *options]
            return subprocess.call(command)  # noqa: S603 - this module, this interpreter
    elif args.keep_words:
        out.write("real_words.txt left as it is\n")
    else:
        out.write(f"{args.dictionary} not found: real_words.txt left as it is\n")
    texts, urgent, _ = read_dev_set(args.dev_set)
    if args.tuning_set.is_file():
        more, more_urgent, _ = read_tuning_set(args.tuning_set)
        texts, urgent = texts + more, np.concatenate([urgent, more_urgent])
    else:
        out.write(f"{args.tuning_set} not found: trained on the development set alone\n")
    model = fit_classifier(texts, urgent, urgent_fpr=args.urgent_fpr, possible_fpr=args.possible_fpr)
    (args.out / "classifier.json").write_text(model.to_json() + "\n", encoding="utf-8")
    out.write(
        f"classifier.json: thresholds urgent {model.urgent_threshold:.3f}, "
        f"possible {model.possible_threshold:.3f}\n"
    )
    for key, value in model.info.items():
        out.write(f"  {key}: {value}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The text classifiers' quality: ``python benchmarks/bench_text.py [--handwritten PATH ...]``.

Prints macro F1 of intent and urgency on a held-out split of simulator texts and on hand-written sets of
realistic messages (CSV with columns text, intent, urgency; by default ``tests/data/intent_messages.csv``
and ``tests/data/intent_messages_fresh.csv`` of this checkout), plus the clinical-triage detector's
recall and false-positive rate against the simulator's flag.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

from careleads.synth import make_labelled_texts
from careleads.text import (
    DEFAULT_N_TEXTS,  # the classifiers' default training size
    IntentClassifier,
    UrgencyClassifier,
    detect_urgent_symptoms,
    load_labelled_texts,
)

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
DEFAULT_HANDWRITTEN = (DATA / "intent_messages.csv", DATA / "intent_messages_fresh.csv")


@dataclass(frozen=True)
class HandwrittenScores:
    """Macro F1 on one hand-written set."""

    path: str
    n_messages: int
    intent_f1: float
    urgency_f1: float


@dataclass(frozen=True)
class TextScores:
    """Macro F1 figures of the text classifiers."""

    n_train: int
    n_heldout: int
    intent_f1_heldout: float
    urgency_f1_heldout: float
    triage_recall_heldout: float
    triage_false_positive_rate_heldout: float
    handwritten: tuple[HandwrittenScores, ...] = ()


def measure_text_classifiers(
    *,
    seed: int = 0,
    n_texts: int = DEFAULT_N_TEXTS,
    heldout_share: float = 0.25,
    handwritten: Sequence[str | Path] = (),
) -> TextScores:
    """Train intent and urgency classifiers on simulator texts and score them.

    Parameters
    ----------
    seed
        Seed of the simulator texts, the split and the models.
    n_texts
        Number of simulator texts (split into training and held-out parts).
    heldout_share
        Share of simulator texts held out.
    handwritten
        CSV files of hand-written messages (text, intent, urgency).

    Returns
    -------
    TextScores
    """
    frame = make_labelled_texts(n_texts, seed)
    train, heldout = train_test_split(
        frame, test_size=heldout_share, random_state=seed, stratify=frame["intent"]
    )
    intents = IntentClassifier(random_state=seed).fit(train["text"], train["intent"])
    urgencies = UrgencyClassifier(random_state=seed).fit(train["text"], train["urgency"])
    flags = np.array([detect_urgent_symptoms(t).triggered for t in heldout["text"]])
    truth = heldout["clinical_urgent"].to_numpy(dtype=bool)
    hand_scores = []
    for path in handwritten:
        hand = load_labelled_texts(path, require_urgency=True)
        hand_scores.append(
            HandwrittenScores(
                path=str(path),
                n_messages=len(hand),
                intent_f1=float(f1_score(hand["intent"], intents.predict(hand["text"]), average="macro")),
                urgency_f1=float(f1_score(hand["urgency"], urgencies.predict(hand["text"]), average="macro")),
            )
        )
    return TextScores(
        n_train=len(train),
        n_heldout=len(heldout),
        intent_f1_heldout=float(
            f1_score(heldout["intent"], intents.predict(heldout["text"]), average="macro")
        ),
        urgency_f1_heldout=float(
            f1_score(heldout["urgency"], urgencies.predict(heldout["text"]), average="macro")
        ),
        triage_recall_heldout=float(flags[truth].mean()) if truth.any() else float("nan"),
        triage_false_positive_rate_heldout=float(flags[~truth].mean()),
        handwritten=tuple(hand_scores),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python benchmarks/bench_text.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulator texts and the models")
    parser.add_argument("--n-texts", type=int, default=DEFAULT_N_TEXTS, help="number of simulator texts")
    parser.add_argument(
        "--handwritten",
        type=Path,
        nargs="*",
        default=list(DEFAULT_HANDWRITTEN),
        help="CSV files of hand-written messages (text, intent, urgency); missing files are skipped",
    )
    args = parser.parse_args(argv)
    out = sys.stdout
    paths: list[Path] = [p for p in args.handwritten if p.is_file()]
    for missing in sorted(set(args.handwritten) - set(paths)):
        out.write(f"hand-written set {missing} not found, skipped\n")
    scores = measure_text_classifiers(seed=args.seed, n_texts=args.n_texts, handwritten=paths)
    out.write(f"simulator held-out ({scores.n_heldout} texts, trained on {scores.n_train}):\n")
    out.write(f"  intent macro F1   {scores.intent_f1_heldout:.3f}\n")
    out.write(f"  urgency macro F1  {scores.urgency_f1_heldout:.3f}\n")
    out.write(f"  triage recall     {scores.triage_recall_heldout:.3f}\n")
    out.write(f"  triage false-positive rate {scores.triage_false_positive_rate_heldout:.4f}\n")
    for hand in scores.handwritten:
        out.write(f"hand-written set {hand.path} ({hand.n_messages} messages):\n")
        out.write(f"  intent macro F1   {hand.intent_f1:.3f}\n")
        out.write(f"  urgency macro F1  {hand.urgency_f1:.3f}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

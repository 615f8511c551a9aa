"""Redaction on the labelled synthetic corpus: ``python benchmarks/bench_redaction.py [--n 2000] [--seed 7]``.

Prints recall and precision per identifier kind as the Markdown table in docs/PRIVACY.md, and the
redactor's speed in texts per second beside the machine's Python-loop yardstick measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

import _common

# the goal: redact more than this many texts a second
GOAL_TEXTS_PER_SECOND = 2_000


def format_table(result: Mapping[str, Any], *, n_texts: int, seed: int, texts_per_second: float) -> str:
    """The measurement as a Markdown table (the form used in docs/PRIVACY.md)."""
    lines = [
        f"Redaction on make_pii_corpus(n={n_texts}, seed={seed}): {texts_per_second:,.0f} texts/s",
        "",
        "| kind | gold spans | caught | recall | redacted spans | correct | precision |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, row in result["kinds"].items():
        recall = "-" if row["recall"] is None else f"{row['recall']:.3f}"
        precision = "-" if row["precision"] is None else f"{row['precision']:.3f}"
        lines.append(
            f"| {kind} | {row['n_gold']} | {row['n_caught']} | {recall} | {row['n_predicted']} | "
            f"{row['n_correct']} | {precision} |"
        )
    lines.append("")
    lines.append(f"redacted spans overlapping no identifier: {result['n_false_positive_spans']}")
    return "\n".join(lines)


def measure(n_texts: int, seed: int) -> dict[str, Any]:
    """Recall and precision per kind (:func:`careleads.privacy.measure_redaction`) and texts per second."""
    from careleads.privacy import make_pii_corpus, measure_redaction, redact_text

    corpus = make_pii_corpus(n_texts, seed=seed)
    redact_text("warm up the word lists")
    start = time.perf_counter()
    for item in corpus:
        redact_text(item.text)
    seconds = time.perf_counter() - start
    result = dict(measure_redaction(corpus))
    result["n_texts"] = len(corpus)
    result["texts_per_second"] = round(len(corpus) / max(seconds, 1e-9))
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python benchmarks/bench_redaction.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--n", type=int, default=2000, help="number of synthetic texts (default 2000)")
    parser.add_argument("--seed", type=int, default=7, help="corpus seed (default 7)")
    args = parser.parse_args(argv)
    result = measure(args.n, args.seed)
    text = format_table(result, n_texts=args.n, seed=args.seed, texts_per_second=result["texts_per_second"])
    yardstick = _common.python_yardstick()
    sys.stdout.write(f"{text}\nyardstick: Python loop of 5M additions, {yardstick} s\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

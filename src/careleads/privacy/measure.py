"""Measure the redactor on the labelled synthetic corpus: ``python -m careleads.privacy.measure``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from careleads.privacy._corpus import make_pii_corpus, measure_redaction
from careleads.privacy._redact import redact_text


def format_table(result: dict[str, object], *, n_texts: int, seed: int, texts_per_second: float) -> str:
    """The measurement as a Markdown table (the form used in docs/PRIVACY.md)."""
    kinds = result["kinds"]
    assert isinstance(kinds, dict)
    lines = [
        f"Redaction on make_pii_corpus(n={n_texts}, seed={seed}): {texts_per_second:,.0f} texts/s",
        "",
        "| kind | gold spans | caught | recall | redacted spans | correct | precision |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, row in kinds.items():
        recall = "-" if row["recall"] is None else f"{row['recall']:.3f}"
        precision = "-" if row["precision"] is None else f"{row['precision']:.3f}"
        lines.append(
            f"| {kind} | {row['n_gold']} | {row['n_caught']} | {recall} | {row['n_predicted']} | "
            f"{row['n_correct']} | {precision} |"
        )
    lines.append("")
    lines.append(f"redacted spans overlapping no identifier: {result['n_false_positive_spans']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print recall and precision per identifier kind."""
    parser = argparse.ArgumentParser(prog="python -m careleads.privacy.measure", description=__doc__)
    parser.add_argument("--n", type=int, default=2000, help="number of synthetic texts (default 2000)")
    parser.add_argument("--seed", type=int, default=7, help="corpus seed (default 7)")
    args = parser.parse_args(argv)
    corpus = make_pii_corpus(args.n, seed=args.seed)
    redact_text("warm up the word lists")
    start = time.perf_counter()
    for item in corpus:
        redact_text(item.text)
    speed = len(corpus) / max(time.perf_counter() - start, 1e-9)
    result = measure_redaction(corpus)
    sys.stdout.write(format_table(result, n_texts=args.n, seed=args.seed, texts_per_second=speed) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

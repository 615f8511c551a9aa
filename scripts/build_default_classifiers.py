"""Train the default intent and urgency classifiers and write them as package data.

``python scripts/build_default_classifiers.py`` rewrites ``src/careleads/text/data/default_classifiers.json``
(the simulator's labelled texts, seed 0, 20,000 texts; about 15 seconds). careleads reads that file
(:func:`careleads.text.default_classifiers`) and never trains the defaults at import or while serving. Run it
again after changing the classifiers or the simulator's texts; ``tests/test_text_defaults.py`` fails until
the shipped file matches what this script trains.
"""

from __future__ import annotations

from pathlib import Path

from careleads.text import DEFAULT_CLASSIFIERS_FILE, write_default_classifiers

TARGET = Path(__file__).resolve().parent.parent / "src" / "careleads" / "text" / DEFAULT_CLASSIFIERS_FILE


def main() -> None:
    path = write_default_classifiers(TARGET)
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")  # noqa: T201


if __name__ == "__main__":
    main()

"""`careleads evaluate` on messy exports: each class of mess in a small generated file with neutral names.

Every file is made here with a seeded generator; its column names are drawn from a list of neutral words,
so no test depends on a real file or on a column name the code could know.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from careleads.cli._evaluate import register
from careleads.dictionary import (
    DECIMAL_COMMA,
    FieldType,
    dump_dictionary,
    infer_dictionary,
    ingest_table,
    parse_dictionary,
    read_table,
)
from careleads.errors import DictionaryError, InputError
from careleads.models import EvaluationResult, evaluate_file
from careleads.models._reading_checks import index_columns, summary_rows

WORDS = (
    "amber",
    "birch",
    "cobalt",
    "dune",
    "ember",
    "fjord",
    "garnet",
    "heron",
    "iris",
    "juniper",
    "kelp",
    "lark",
    "moss",
    "nectar",
    "opal",
    "pine",
    "quill",
    "reed",
    "slate",
    "thistle",
)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def names(seed: int, k: int = 6) -> list[str]:
    """`k` distinct neutral column names, different for each seed."""
    rng = np.random.default_rng(seed)
    return [str(w) for w in rng.choice(WORDS, size=k, replace=False)]


def leads(seed: int, n: int = 1500, days: float = 365.0) -> tuple[pd.DataFrame, dict[str, str]]:
    """A lead file with an honest numeric signal, a category, a date-time and a 0/1 outcome.

    Returns the frame and the role -> column name map (``time``, ``signal``, ``category``, ``label``,
    plus spare names ``extra`` and ``spare``).
    """
    rng = np.random.default_rng(seed)
    time, signal, category, label, extra, spare = names(seed)
    moment = pd.Timestamp("2023-01-01") + pd.to_timedelta(np.sort(rng.uniform(0, days, n)), unit="D")
    x = rng.gamma(2.0, 10.0, n)
    level = rng.choice(["north", "south", "east"], n)
    logit = -2.0 + 0.08 * x + np.where(level == "east", 0.6, 0.0)
    outcome = rng.random(n) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame(
        {
            time: moment.strftime("%Y-%m-%d %H:%M"),
            signal: x.round(2),
            category: level,
            label: np.where(outcome, "1", "0"),
        }
    )
    roles = {"time": time, "signal": signal, "category": category, "label": label}
    return frame, {**roles, "extra": extra, "spare": spare}


def unused(result: EvaluationResult) -> dict[str, str]:
    return {str(e["column"]): str(e["reason"]) for e in result.excluded}


# ------------------------------------------------------------------------------------------- numbers


def test_decimal_commas_read_as_numbers(tmp_path: Path) -> None:
    frame, role = leads(1)
    rng = np.random.default_rng(1)
    # European style: dots between thousands, a comma before the decimals
    big = rng.uniform(0, 20000, len(frame))
    frame[role["extra"]] = [f"{v:,.1f}".replace(",", " ").replace(".", ",").replace(" ", ".") for v in big]
    frame[role["signal"]] = [f"{v:.2f}".replace(".", ",") for v in frame[role["signal"]]]
    path = tmp_path / "leads.csv"
    frame.to_csv(path, index=False, sep=";")
    fields = {f.aliases[0] if f.aliases else f.name: f for f in infer_dictionary(path).table("data").fields}
    for column in (role["extra"], role["signal"]):
        assert fields[column].type is FieldType.NUMBER
        assert fields[column].format == DECIMAL_COMMA
    result = evaluate_file(path, label=role["label"], time_column=role["time"])
    kinds = result.pipeline.named_steps["features"].kinds_
    assert kinds[role["signal"]] == "numeric" and kinds[role["extra"]] == "numeric"
    assert any(role["extra"] in note and "decimal comma" in note for note in result.reading_notes)
    clean = ingest_table(read_table(path), infer_dictionary(path), "data").clean
    assert clean[role["extra"]].max() > 1000  # "12.345,6" is 12345.6, not 12.3456
    assert clean[role["extra"]].notna().all()


def test_ambiguous_comma_numbers_follow_the_column_and_the_file() -> None:
    word = names(2, 3)
    frame = pd.DataFrame(
        {
            # "4,857" alone reads either way; "5.191,0" in the same column settles it
            word[0]: ["4,857", "5.191,0", "12,5", "7,25"] * 10,
            # only thousands groups: the comma separates thousands
            word[1]: ["4,857", "1,234,567", "12", "1,000.5"] * 10,
            word[2]: ["1", "0", "0", "1"] * 10,
        }
    )
    fields = infer_dictionary(frame, label=word[2]).table("data").fields
    by_name = {f.aliases[0] if f.aliases else f.name: f for f in fields}
    assert by_name[word[0]].type is FieldType.NUMBER and by_name[word[0]].format == DECIMAL_COMMA
    assert by_name[word[1]].type is FieldType.NUMBER and by_name[word[1]].format is None
    assert "decimal comma" in by_name[word[0]].description
    assert "thousands" in by_name[word[1]].description
    # a column that reads either way follows the file's other columns
    european = pd.DataFrame({word[0]: frame[word[0]], word[1]: ["4,857", "1,250", "12", "3,001"] * 10})
    fields = infer_dictionary(european.assign(**{word[2]: frame[word[2]]}), label=word[2]).table("data")
    assert all(f.format == DECIMAL_COMMA for f in fields.fields if f.name != word[2])


def test_decimal_comma_format_round_trips_through_yaml() -> None:
    word = names(15, 2)
    frame = pd.DataFrame({word[0]: ["4,8", "5.191,0", "12,5"] * 10, word[1]: ["1", "0", "0"] * 10})
    text = dump_dictionary(infer_dictionary(frame, label=word[1]))
    field = parse_dictionary(text).table("data").fields[0]
    assert field.type is FieldType.NUMBER and field.format == DECIMAL_COMMA
    with pytest.raises(DictionaryError, match="decimal_comma"):
        parse_dictionary(text.replace("format: decimal_comma", "format: '%d.%m'"))


# ------------------------------------------------------------------------------------------- dates


def test_month_name_time_column_is_refused_clearly(tmp_path: Path) -> None:
    frame, role = leads(3)
    rng = np.random.default_rng(3)
    frame[role["extra"]] = rng.choice(MONTHS, len(frame))
    path = tmp_path / "leads.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match=rf"{role['extra']}.*month names.*--row-order"):
        evaluate_file(path, label=role["label"], time_column=role["extra"])


def test_month_name_column_is_a_category_not_a_date() -> None:
    frame, role = leads(4, n=600)
    frame[role["extra"]] = np.random.default_rng(4).choice(MONTHS, len(frame))
    fields = infer_dictionary(frame, label=role["label"]).table("data").fields
    field = next(f for f in fields if role["extra"] in (f.name, *f.aliases))
    assert field.type is FieldType.CATEGORY


# ------------------------------------------------------------------------------------------- index


def test_index_columns_are_left_out_with_the_reason(tmp_path: Path) -> None:
    frame, role = leads(5)
    frame.insert(0, role["spare"], np.arange(1, len(frame) + 1))
    path = tmp_path / "leads.csv"
    frame.to_csv(path)  # pandas writes its 0..n-1 index under an empty header
    result = evaluate_file(path, label=role["label"], time_column=role["time"])
    reasons = unused(result)
    assert "row index" in reasons[role["spare"]]
    unnamed = [c for c in reasons if c.startswith("Unnamed")]
    assert unnamed and "unnamed" in reasons[unnamed[0]]
    assert role["spare"] not in result.features and not set(unnamed) & set(result.features)


# ------------------------------------------------------------------------------------------- outcome


def test_undecided_outcomes_are_left_out_not_negatives(tmp_path: Path) -> None:
    frame, role = leads(6)
    rng = np.random.default_rng(6)
    outcome = np.where(frame[role["label"]] == "1", "Won", "Lost").astype(object)
    undecided = rng.random(len(frame)) < 0.15
    outcome[undecided] = rng.choice(["Open", "pending"], int(undecided.sum()))
    frame[role["label"]] = outcome
    path = tmp_path / "leads.csv"
    frame.to_csv(path, index=False)
    result = evaluate_file(path, label=role["label"], positive="Won", time_column=role["time"])
    assert result.rows == len(frame) - int(undecided.sum())
    note = next(w for w in result.warnings if "not decided" in w)
    assert f"{int(undecided.sum()):,} rows" in note and "'Open'" in note
    # without --positive, the two settled values are enough
    again = evaluate_file(path, label=role["label"], time_column=role["time"])
    assert again.positive == "Won" and again.rows == result.rows


# ------------------------------------------------------------------------------------------- rows


def test_summary_row_is_left_out(tmp_path: Path) -> None:
    frame, role = leads(7)
    total = {
        role["time"]: "",
        role["signal"]: round(float(frame[role["signal"]].sum()), 2),
        role["category"]: "Total",
        role["label"]: str(int((frame[role["label"]] == "1").sum())),
    }
    path = tmp_path / "leads.csv"
    pd.concat([frame, pd.DataFrame([total])], ignore_index=True).to_csv(path, index=False)
    result = evaluate_file(path, label=role["label"], positive="1", time_column=role["time"])
    assert result.rows == len(frame)
    assert any("summary row" in w and f"line {len(frame) + 2}" in w for w in result.warnings)


def test_unworded_total_row_without_id_is_left_out_and_index_still_found(tmp_path: Path) -> None:
    frame, role = leads(14)
    frame.insert(0, role["extra"], [f"K{i:05d}" for i in np.random.default_rng(14).permutation(len(frame))])
    frame.insert(0, role["spare"], np.arange(1, len(frame) + 1))
    total = {
        role["spare"]: "",
        role["extra"]: "",
        role["time"]: "",
        role["signal"]: round(float(frame[role["signal"]].sum()), 2),
        role["category"]: "",
        role["label"]: str(int((frame[role["label"]] == "1").sum())),
    }
    path = tmp_path / "leads.csv"
    pd.concat([frame, pd.DataFrame([total])], ignore_index=True).to_csv(path, index=False)
    result = evaluate_file(path, label=role["label"], positive="1", time_column=role["time"])
    assert result.rows == len(frame)
    assert any("summary row" in w for w in result.warnings)
    assert "row index" in unused(result)[role["spare"]]


# ------------------------------------------------------------------------------------------- split


def test_excluded_time_column_takes_its_parts_with_it(tmp_path: Path) -> None:
    frame, role = leads(8)
    path = tmp_path / "leads.csv"
    frame.to_csv(path, index=False)
    result = evaluate_file(path, label=role["label"], time_column=role["time"], exclude=[role["time"]])
    assert not [f for f in result.feature_names if f.startswith(role["time"])]
    assert "excluded by request" in unused(result)[role["time"]]


def test_month_unseen_in_training_is_not_a_feature(tmp_path: Path) -> None:
    frame, role = leads(9, days=200)  # January to mid-July: the test months never occur in training
    path = tmp_path / "leads.csv"
    frame.to_csv(path, index=False)
    result = evaluate_file(path, label=role["label"], time_column=role["time"])
    assert f"{role['time']}__month" not in result.feature_names
    assert f"{role['time']}__weekday" in result.feature_names
    assert "never occur in the training part" in unused(result)[f"{role['time']} (month of year)"]


def test_group_split_overlap_is_reported(tmp_path: Path) -> None:
    frame, role = leads(10)
    rng = np.random.default_rng(10)
    frame[role["extra"]] = [f"g{i}" for i in rng.integers(0, 300, len(frame))]
    path = tmp_path / "leads.csv"
    frame.to_csv(path, index=False)
    result = evaluate_file(path, label=role["label"], time_column=role["time"], group_column=role["extra"])
    assert str(result.split.test_start) < str(result.split.train_end)
    assert any("earlier than the last training row" in w for w in result.warnings)


def test_shared_cut_date_moving_the_test_share_is_reported(tmp_path: Path) -> None:
    frame, role = leads(11)
    # a third of the rows carry one date from the last fifth of the year (a batch import)
    stamps = pd.to_datetime(frame[role["time"]])
    batch = stamps >= stamps.quantile(0.62)
    frame.loc[batch, role["time"]] = stamps[batch].min().strftime("%Y-%m-%d %H:%M")
    path = tmp_path / "leads.csv"
    frame.to_csv(path, index=False)
    result = evaluate_file(path, label=role["label"], time_column=role["time"], test_fraction=0.2)
    share = result.split.test_rows / result.rows
    assert abs(share - 0.2) > 0.1
    assert any("not the 20% asked" in w and "share" in w for w in result.warnings)


# ------------------------------------------------------------------------------------------- CLI


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command()
    def other() -> None:  # a second command keeps `evaluate` a subcommand
        """Nothing."""

    return app


def test_cli_checks_output_paths_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import careleads.models

    def never(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the evaluation started before the output path was checked")

    monkeypatch.setattr(careleads.models, "evaluate_file", never)
    frame, role = leads(12, n=100)
    path = tmp_path / "leads.csv"
    frame.to_csv(path, index=False)
    for option in ("--json", "--report"):
        target = tmp_path / "no such folder" / "out.file"
        run = CliRunner().invoke(
            _app(), ["evaluate", str(path), "--label", role["label"], option, str(target)]
        )
        assert run.exit_code == 1
        assert "no such folder" in run.output and "does not exist" in run.output
        assert "Traceback" not in run.output


def test_cli_lists_every_unused_column_with_its_reason(tmp_path: Path) -> None:
    frame, role = leads(13)
    frame.insert(0, role["spare"], np.arange(len(frame)))
    frame[role["extra"]] = "same"
    path = tmp_path / "leads.csv"
    frame.to_csv(path, index=False)
    run = CliRunner().invoke(
        _app(),
        ["evaluate", str(path), "--label", role["label"], "--time-column", role["time"]],
        env={"COLUMNS": "200"},
    )
    assert run.exit_code == 0, run.output
    table = run.output.split("Columns not used", 1)[1].split("Leakage suspects", 1)[0]
    assert role["spare"] in table and "row index" in table
    assert role["extra"] in table and "one value" in table


# ------------------------------------------------------------------------------------------- sensitivity


def test_health_condition_is_never_a_feature_and_a_region_of_80_levels_is(tmp_path: Path) -> None:
    frame, role = leads(17, n=2000)
    rng = np.random.default_rng(17)
    # a misspelt condition flag that even predicts the outcome: it must still never be a feature
    flag = rng.random(len(frame)) < np.where(frame[role["label"]] == "1", 0.6, 0.2)
    frame["hypertention_flag"] = np.where(flag, "Y", "N")
    regions = [f"{a} {b}" for a in ("North", "South", "East", "West") for b in range(1, 21)]
    frame["Region"] = [f"{r} District" for r in rng.choice(regions, len(frame))]  # 80 spaced levels
    path = tmp_path / "leads.csv"
    frame.to_csv(path, index=False)
    result = evaluate_file(path, label=role["label"], time_column=role["time"])
    reasons = unused(result)
    assert "health condition" in reasons["hypertention_flag"]
    assert "hypertension" in reasons["hypertention_flag"]
    kinds = result.pipeline.named_steps["features"].kinds_
    assert "hypertention_flag" not in kinds
    assert kinds["Region"] == "categorical" and "Region" not in reasons


# ------------------------------------------------------------------------------------------- real files

REAL_DATA = Path("..") / "shared" / "data"


@pytest.mark.realdata
def test_real_exports_hold_no_false_summary_rows_or_row_numbers() -> None:
    """On the real exports beside the project: no lead is taken for a summary row, and every column set
    aside as a row index is unnamed or numbers the rows (no name or value of these files is used here)."""
    files = sorted(REAL_DATA.glob("*/*.csv")) if REAL_DATA.is_dir() else []
    if not files:
        pytest.skip(f"real data not available: {REAL_DATA} is absent (see its README)")
    for file in files:
        raw = read_table(file)
        for label in {str(raw.columns[0]), str(raw.columns[-1])}:
            assert not summary_rows(raw, label=label).any(), (file.name, label)
        for column, reason in index_columns(raw, skip=()).items():
            values = raw[column].astype("string").str.strip()
            rising = values.str.fullmatch(r"[0-9]+").all() and values.astype("int64").is_monotonic_increasing
            assert "unnamed" in reason or rising, (file.name, column)


# ------------------------------------------------------------------------------------------- placeholders


def test_a_placeholder_is_not_an_empty_cell_for_the_leakage_audit(tmp_path: Path) -> None:
    """A level staff assign after working a lead: empty for leads nobody worked (mostly non-converters),
    set to a "not chosen" placeholder on many worked ones. Read together as missing, the placeholder hides
    that the empty cells track the outcome; read apart, missingness and the dictionary's description
    ("assigned") make the column a suspect."""
    frame, role = leads(21)
    rng = np.random.default_rng(21)
    y = frame[role["label"]].to_numpy() == "1"
    worked = rng.random(len(frame)) < np.where(y, 0.9, 0.55)
    chosen = rng.random(len(frame)) < 0.4
    frame[role["extra"]] = np.where(
        ~worked, "", np.where(chosen, rng.choice(["warm", "cold", "tepid"], len(frame)), "Select")
    )
    path = tmp_path / "leads.csv"
    frame.to_csv(path, index=False)
    inferred = infer_dictionary(read_table(path), label=role["label"], name="leads")
    described = replace(
        inferred,
        tables={
            name: replace(
                table,
                fields=tuple(
                    replace(f, description="A level assigned to each lead")
                    if role["extra"] in (f.name, *f.aliases)
                    else f
                    for f in table.fields
                ),
            )
            for name, table in inferred.tables.items()
        },
    )
    result = evaluate_file(path, label=role["label"], time_column=role["time"], dictionary=described)
    found = {s.column: s for s in result.leakage.suspects}
    assert role["extra"] in found, [w.to_dict() for w in result.leakage.watched]
    assert {"missing_tracks_label", "after_contact_name"} <= set(found[role["extra"]].detectors)
    assert any("placeholder" in e for e in found[role["extra"]].evidence)

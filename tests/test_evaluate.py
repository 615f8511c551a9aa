from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from careleads.cli._evaluate import register
from careleads.errors import InputError, NotEnoughDataError
from careleads.models import EvaluationResult, evaluate_file
from careleads.report import write_evaluation_report

REQUIRED_KEYS = {
    "rows",
    "label",
    "positive_rate",
    "split",
    "leakage",
    "features",
    "model",
    "test",
    "baselines",
    "tiers",
    "drift",
    "warnings",
}


def make_leads(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Leads with an honest strong signal, weak honest signals, a group column and a planted leak."""
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.sort(rng.uniform(0, 365, n)), unit="D")
    minutes_on_site = rng.gamma(2.0, 10.0, n)
    source = rng.choice(["web form", "phone", "referral", "chat"], n, p=[0.4, 0.3, 0.2, 0.1])
    logit = -2.2 + 0.09 * minutes_on_site + np.where(source == "referral", 0.8, 0.0)
    converted = rng.random(n) < 1 / (1 + np.exp(-logit))
    # a status written by the intake team after the outcome, empty for leads nobody reached
    status = np.where(
        converted,
        rng.choice(["Closed - booked", "Appointment scheduled"], n),
        rng.choice(["Not interested", "Lost to competitor", "", ""], n),
    )
    return pd.DataFrame(
        {
            "lead_id": [f"L{i:05d}" for i in range(n)],
            "created_at": created.strftime("%Y-%m-%d %H:%M"),
            "account": [f"A{i}" for i in rng.integers(0, n // 3, n)],
            "minutes_on_site": minutes_on_site.round(1),
            "source": source,
            "insurance_plan": rng.choice(["basic", "plus", "premium", "Select"], n),
            "intake_disposition": status,
            "converted": np.where(converted, "yes", "no"),
        }
    )


@pytest.fixture(scope="module")
def leads_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("evaluate") / "leads.csv"
    make_leads().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def time_result(leads_csv: Path) -> EvaluationResult:
    return evaluate_file(leads_csv, label="converted", time_column="created_at")


def test_planted_leak_is_flagged_and_honest_strong_column_is_not(time_result: EvaluationResult) -> None:
    suspects = {s.column: s for s in time_result.leakage.suspects}
    assert "intake_disposition" in suspects
    assert suspects["intake_disposition"].excluded
    assert any("status" in e for e in suspects["intake_disposition"].evidence)
    assert "minutes_on_site" not in suspects
    assert "minutes_on_site" in time_result.features
    assert "intake_disposition" not in time_result.features
    assert "lead_id" not in time_result.features


def test_time_split_trains_on_earlier_rows(time_result: EvaluationResult) -> None:
    split = time_result.split
    assert split.kind == "time"
    assert split.train_end is not None and split.test_start is not None
    assert pd.Timestamp(split.train_end) < pd.Timestamp(split.test_start)
    assert split.train_rows + split.test_rows == time_result.rows
    assert 0.1 < split.test_rows / time_result.rows < 0.35


def test_honest_model_figures_and_json(time_result: EvaluationResult) -> None:
    data = time_result.to_dict()
    assert REQUIRED_KEYS <= set(data)
    assert {"kind", "train_rows", "test_rows"} <= set(data["split"])
    assert {"auc", "pr_auc", "brier", "ece", "lift_top_decile"} <= set(data["test"])
    assert "auc" in data["baselines"]["logistic"]
    assert data["model"]["kind"] in {"lightgbm", "logistic", "blend"}
    assert [t["tier"] for t in data["tiers"]] == ["A", "B", "C", "D"]
    assert all({"column", "detectors", "evidence", "excluded"} <= set(e) for e in data["leakage"])
    json.dumps(data, allow_nan=False)
    # the honest signal is real but far from perfect; the leak would push this near 1
    assert 0.7 < data["test"]["auc"] < 0.95
    assert data["positive"] == "yes"


def test_no_raw_timestamp_among_features(time_result: EvaluationResult) -> None:
    assert "created_at" not in time_result.feature_names
    assert any(name.startswith("created_at__") for name in time_result.feature_names)


def test_report_has_plots(time_result: EvaluationResult, tmp_path: Path) -> None:
    out = write_evaluation_report(time_result, tmp_path / "report.html")
    html = out.read_text()
    assert html.count("<svg") >= 4
    assert "intake_disposition" in html
    assert "<script" not in html


def test_keep_puts_a_suspect_back_and_says_so(leads_csv: Path) -> None:
    result = evaluate_file(leads_csv, label="converted", row_order=True, keep=["intake_disposition"])
    assert "intake_disposition" in result.features
    assert result.leakage.kept_columns == ["intake_disposition"]
    assert any("kept by request" in w for w in result.warnings)
    assert result.split.kind == "row_order"
    assert result.test.auc > 0.95  # the leak is back, and the figure shows it


def test_random_split_warns(leads_csv: Path) -> None:
    result = evaluate_file(leads_csv, label="converted", exclude=["intake_disposition"])
    assert result.split.kind == "random"
    assert any("split is random" in w for w in result.warnings)
    assert "intake_disposition" not in result.features
    assert "the split is random" in result.verdict()


def test_the_summary_opens_with_a_verdict_from_the_figures(time_result: EvaluationResult) -> None:
    verdict = time_result.summary_lines()[0]
    assert verdict == time_result.verdict() and verdict.startswith("Verdict: the model ")
    assert f"test AUC {time_result.test.auc:.3f}" in verdict
    strength = "well" if time_result.test.auc >= 0.8 else "usefully" if time_result.test.auc >= 0.7 else ""
    assert f"ranks converters {strength}" in verdict
    leaks = len(time_result.leakage.excluded_columns)
    assert (f"{leaks} column(s) were left out as likely leaks" in verdict) == (leaks > 0)
    upper = time_result.calibration["test_ece_by_chance_upper"]
    assert ("as closely as chance allows" in verdict) == (time_result.test.ece <= upper)
    assert "split is random" not in verdict  # a time split


def test_evaluate_with_group_column(leads_csv: Path) -> None:
    result = evaluate_file(leads_csv, label="converted", time_column="created_at", group_column="account")
    assert result.split.group_column == "account"
    assert "account" not in result.features
    assert {"column": "account", "reason": "group column"} in result.excluded


# ------------------------------------------------------------------------------------------ bad input


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        evaluate_file(tmp_path / "absent.csv", label="converted")


def test_unknown_label(leads_csv: Path) -> None:
    with pytest.raises(InputError, match="did you mean 'converted'"):
        evaluate_file(leads_csv, label="convertd")


def test_label_with_one_value(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    make_leads(300).assign(converted="yes").to_csv(path, index=False)
    with pytest.raises(InputError, match="one value only"):
        evaluate_file(path, label="converted")


def test_unparsable_time_column(leads_csv: Path) -> None:
    with pytest.raises(InputError, match="cannot be read as dates"):
        evaluate_file(leads_csv, label="converted", time_column="source")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(InputError, match="empty"):
        evaluate_file(path, label="converted")


def test_not_a_csv(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 20)
    with pytest.raises(InputError):
        evaluate_file(path, label="converted")


def test_too_few_positives_suggests_rules(tmp_path: Path) -> None:
    frame = make_leads(400)
    frame["converted"] = "no"
    frame.loc[frame.index[:30], "converted"] = "yes"
    path = tmp_path / "few.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(NotEnoughDataError, match="rule baseline"):
        evaluate_file(path, label="converted")


def test_ambiguous_label_asks_for_positive(tmp_path: Path) -> None:
    path = tmp_path / "amb.csv"
    make_leads(300).assign(converted=lambda f: np.where(f["converted"] == "yes", "alpha", "beta")).to_csv(
        path, index=False
    )
    with pytest.raises(InputError, match="--positive"):
        evaluate_file(path, label="converted")


def _app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)
    register(app)

    @app.command()
    def noop() -> None:
        """Second command, so that `evaluate` stays a named subcommand."""

    return app


def test_cli_bad_input_is_one_line_without_traceback(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(_app(), ["evaluate", str(tmp_path / "absent.csv"), "--label", "converted"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:")


def test_cli_writes_json_and_report(leads_csv: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    json_out, report = tmp_path / "out.json", tmp_path / "out.html"
    args = ["evaluate", str(leads_csv), "--label", "converted", "--row-order", "--exclude", "lead_id"]
    result = runner.invoke(_app(), [*args, "--json", str(json_out), "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert "Leakage suspects" in result.output and "intake_disposition" in result.output
    data = json.loads(json_out.read_text())
    assert REQUIRED_KEYS <= set(data)
    assert "<svg" in report.read_text()


def test_cli_help_documents_every_option() -> None:
    result = CliRunner().invoke(_app(), ["evaluate", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in (
        "--label",
        "--positive",
        "--time-column",
        "--row-order",
        "--group-column",
        "--exclude",
        "--keep",
        "--dictionary",
        "--test-fraction",
        "--json",
        "--report",
    ):
        assert option in result.output


def test_synthetic_crm_export_post_outcome_columns_are_flagged(tmp_path: Path) -> None:
    from careleads.synth import generate

    data = generate(3000, seed=1)
    leads = data.leads.copy()
    created = pd.to_datetime(leads["created_at"], errors="coerce", format="mixed")
    scheduled = data.outcomes[data.outcomes["outcome"] == "appointment_scheduled"]
    first = pd.to_datetime(leads["lead_id"].map(scheduled.groupby("lead_id")["occurred_at"].min()))
    leads["scheduled_30d"] = ((first - created).dt.days <= 30).astype(int)
    path = tmp_path / "synthetic_flat.csv"
    leads.to_csv(path, index=False)
    result = evaluate_file(path, label="scheduled_30d", time_column="created_at")
    flagged = {s.column for s in result.leakage.suspects}
    assert {"lead_status", "stage", "call_notes", "owner"} <= flagged
    assert {"age", "sex", "full_name", "email"}.isdisjoint(result.features)
    assert result.test.auc < 0.9


def test_edited_dictionary_marks_a_field_after_outcome(leads_csv: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    from careleads.dictionary import KnownAt, TableSpec, dump_dictionary
    from careleads.dictionary._infer import infer_dictionary

    inferred = infer_dictionary(leads_csv, label="converted")
    table = inferred.table("data")
    fields = tuple(
        replace(f, known=KnownAt.AFTER_OUTCOME) if f.name == "insurance_plan" else f for f in table.fields
    )
    edited = replace(inferred, tables={"data": TableSpec(name="data", fields=fields, key=table.key)})
    path = tmp_path / "dictionary.yaml"
    path.write_text(dump_dictionary(edited))
    result = evaluate_file(leads_csv, label="converted", row_order=True, dictionary=path)
    leak = next(s for s in result.leakage.suspects if s.column == "insurance_plan")
    assert "dictionary_after_outcome" in leak.detectors
    assert "insurance_plan" not in result.features


def test_model_choice_on_a_subsample_of_large_files(leads_csv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import careleads.models._evaluate as evaluate_module

    monkeypatch.setattr(evaluate_module, "MAX_SELECTION_ROWS", 1000)
    result = evaluate_file(leads_csv, label="converted", time_column="created_at")
    assert any("Model choice used the latest 1,000" in w for w in result.warnings)
    assert result.split.train_rows > 1000 + result.split.validation_rows


def measured_during_contact(n: int = 4000, seed: int = 3) -> pd.DataFrame:
    """Leads with a planned date whose lead time predicts, and two measurements of the deciding contact."""
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.sort(rng.uniform(0, 365, n)), unit="D")
    lead_days = rng.integers(1, 120, n)
    source = rng.choice(["web form", "phone", "referral"], n)
    logit = -0.3 - 0.025 * lead_days + np.where(source == "referral", 0.6, 0.0)
    converted = rng.random(n) < 1 / (1 + np.exp(-logit))
    happened = converted | (rng.random(n) < 0.6)
    minutes = np.where(happened, rng.gamma(2.0, 6.0, n) * np.where(converted, 2.5, 0.7), 0.0)
    return pd.DataFrame(
        {
            "created_at": created.strftime("%Y-%m-%d %H:%M"),
            "visit_on": (created + pd.to_timedelta(lead_days, unit="D")).strftime("%Y-%m-%d"),
            "source": source,
            "minutes_x": minutes.round(1),
            "minutes_y": (minutes * 60 + rng.normal(0, 20, n)).clip(0).round(0),
            "converted": converted.astype(int),
        }
    )


def test_terminal_lists_suspects_and_plans_with_auc_with_and_without(tmp_path: Path) -> None:
    path = tmp_path / "contact.csv"
    measured_during_contact().to_csv(path, index=False)
    args = ["evaluate", str(path), "--label", "converted", "--time-column", "created_at"]
    result = CliRunner().invoke(_app(), args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    audit = result.output.split("Leakage audit")[1].split("Test part")[0]
    rows = {line.split("│")[1].strip(): line for line in audit.splitlines() if line.count("│") >= 4}
    # both measurements of the deciding contact are excluded, each with its AUC with and without it
    for column in ("minutes_x", "minutes_y"):
        assert "excluded" in rows[column], audit
        assert re.search(r"\d\.\d{3} / \d\.\d{3}", rows[column]), rows[column]
    # the planned date is kept, said to be a plan, and its lead time is a feature
    assert "used, one sign only" in rows["visit_on"]
    assert "planned" in audit
    unused = result.output.split("Columns not used")[1].split("Leakage audit")[0]
    assert "visit_on" not in unused and "minutes_x" in unused


def test_planned_date_lead_time_is_the_feature_that_helps(tmp_path: Path) -> None:
    path = tmp_path / "contact.csv"
    measured_during_contact().to_csv(path, index=False)
    result = evaluate_file(path, label="converted", time_column="created_at")
    assert "visit_on__days" in result.feature_names
    assert "visit_on" not in result.leakage.excluded_columns
    effect = result.leakage_effects["visit_on"]
    assert effect["with"] > effect["without"] + 0.05
    assert {"minutes_x", "minutes_y"} <= set(result.leakage.excluded_columns)

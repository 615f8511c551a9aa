"""The `careleads` command: documented everywhere, thin over the library, one-line errors."""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import pytest
import typer
import typer.main
from typer.testing import CliRunner

import careleads.cli
import careleads.cli._core
from careleads.cli import app
from careleads.errors import InputError


@pytest.fixture(scope="module")
def command() -> Any:
    """The click command tree of the whole `careleads` app, every module registered once.

    Typer ships its own copy of click, so the tree is walked by its attributes rather than click's classes.
    """
    if not app.registered_commands and not app.registered_groups:
        careleads.cli._register()
    return typer.main.get_command(app)


def _walk(cmd: Any, path: str) -> Iterator[tuple[str, Any]]:
    yield path, cmd
    for name, sub in (getattr(cmd, "commands", None) or {}).items():
        yield from _walk(sub, f"{path} {name}")


def _undocumented(command: Any, name: str) -> tuple[int, list[str]]:
    """(commands seen, what lacks a help text) in the tree under `command`."""
    missing: list[str] = []
    seen = 0
    for path, cmd in _walk(command, name):
        seen += 1
        if not (cmd.help or cmd.short_help or "").strip():
            missing.append(f"{path}: the command has no help")
        for param in cmd.params:
            text = getattr(param, "help", None)
            if not (text or "").strip():
                missing.append(f"{path} {param.opts[0]}: no help")
    return seen, missing


def test_every_command_and_option_has_help(command: Any) -> None:
    seen, missing = _undocumented(command, "careleads")
    assert seen >= 5  # the app, its commands and the sub-commands of its groups
    assert not missing, "\n".join(missing)


def test_the_help_check_finds_what_is_undocumented() -> None:
    toy = typer.Typer(help="A documented app.")
    group = typer.Typer(help="A documented group.")
    toy.add_typer(group, name="things")

    @toy.command()
    def ok(x: Annotated[int, typer.Option("--x", help="An x.")] = 0) -> None:
        """Documented."""

    @group.command()
    def bare(y: Annotated[int, typer.Option("--y")] = 0, z: Annotated[str, typer.Argument()] = "") -> None:
        pass

    seen, missing = _undocumented(typer.main.get_command(toy), "toy")
    assert seen == 4
    assert missing == [
        "toy things bare: the command has no help",
        "toy things bare --y: no help",
        "toy things bare z: no help",
    ]


def test_the_core_commands_are_registered(command: Any) -> None:
    assert {"version", "generate", "demo", "train"} <= set(command.commands)
    generate = command.commands["generate"]
    assert {"--out", "--leads", "--seed", "--months", "--format"} <= {
        o for p in generate.params for o in p.opts
    }


def test_top_level_help_lists_the_commands(command: Any) -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    for name in ("generate", "demo", "train"):
        assert name in result.stdout
    assert command.help is not None and "healthcare" in command.help


def test_generate_writes_the_export(command: Any, tmp_path: Path) -> None:
    del command  # registers the commands
    out = tmp_path / "export"
    result = CliRunner().invoke(app, ["generate", "--leads", "300", "--seed", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("leads", "events", "outcomes", "truth"):
        assert (out / f"{name}.csv").exists()
        assert str(out / f"{name}.csv") in result.stdout.replace("\n", "")
    leads = pd.read_csv(out / "leads.csv", dtype=str)
    assert len(leads) >= 300
    truth = pd.read_csv(out / "truth.csv")
    assert len(truth) == 300


def test_generate_writes_parquet_on_request(command: Any, tmp_path: Path) -> None:
    del command
    result = CliRunner().invoke(
        app, ["generate", "--leads", "200", "--out", str(tmp_path), "--format", "parquet"]
    )
    assert result.exit_code == 0, result.output
    assert len(pd.read_parquet(tmp_path / "truth.parquet")) == 200


@pytest.mark.parametrize("leads", ["5", "-1"])
def test_a_bad_number_of_leads_is_a_one_line_error(command: Any, tmp_path: Path, leads: str) -> None:
    del command
    result = CliRunner().invoke(app, ["generate", "--leads", leads, "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"error: --leads must be at least 100 to simulate a funnel, got {leads}"]
    assert "Traceback" not in result.output
    assert not (tmp_path / "x").exists()


def test_a_long_error_stays_on_one_line(command: Any, tmp_path: Path) -> None:
    del command
    missing = tmp_path / ("a-folder-name-long-enough-to-pass-the-width-of-any-terminal-" * 2)
    result = CliRunner().invoke(app, ["train", str(missing), "--out", str(tmp_path / "models")])
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert errors == [
        f"error: {missing} is not a folder; pass the folder that holds leads, events and outcomes"
    ]
    assert "Traceback" not in result.output


def test_error_text_is_printed_verbatim_not_as_markup(capsys: pytest.CaptureFixture[str]) -> None:
    from careleads.cli._errors import fail

    exit_ = fail(InputError("columns ['a', 'b'] and [bold]c[/bold] are unknown"))
    assert isinstance(exit_, typer.Exit) and exit_.exit_code == 2
    assert capsys.readouterr().err == "error: columns ['a', 'b'] and [bold]c[/bold] are unknown\n"


def test_a_bad_target_is_a_one_line_error(command: Any, tmp_path: Path) -> None:
    del command
    (tmp_path / "data").mkdir()
    result = CliRunner().invoke(app, ["train", str(tmp_path / "data"), "--target", "appointment_scheduled"])
    assert result.exit_code == 2
    assert [line for line in result.stderr.splitlines() if line.strip()] == [
        "error: target 'appointment_scheduled' must look like OUTCOME:DAYS, "
        "for example appointment_scheduled:30"
    ]


def test_an_unknown_outcome_is_refused_before_any_work(command: Any, tmp_path: Path) -> None:
    """Finding: `train --target contact:30` ran 24 s and then spoke of "0 positive"."""
    del command
    data, models = tmp_path / "data", tmp_path / "models"
    assert CliRunner().invoke(app, ["generate", "--leads", "200", "--out", str(data)]).exit_code == 0
    result = CliRunner().invoke(app, ["train", str(data), "--target", "contact:30", "--out", str(models)])
    assert result.exit_code == 2
    [error] = [line for line in result.stderr.splitlines() if line.strip()]
    assert error.startswith("error: unknown outcome 'contact' in the target contact:30; known outcomes: ")
    assert "appointment_scheduled" in error and "meeting_booked" in error
    assert not models.exists()  # nothing was ingested, not even a quarantine written


def test_every_command_has_the_error_boundary(command: Any) -> None:
    """A command without it would end a careleads error with a traceback instead of one line."""
    leaves = [(path, cmd) for path, cmd in _walk(command, "careleads") if not getattr(cmd, "commands", None)]
    assert len(leaves) > 20
    codes = {path: getattr(cmd.callback, "error_exit_code", None) for path, cmd in leaves}
    assert not [path for path, code in codes.items() if code is None]
    # dictionary and evaluate keep the exit codes their scripts rely on; every other command exits with 2
    assert {path for path, code in codes.items() if code == 1} == {
        "careleads dictionary infer",
        "careleads dictionary check",
        "careleads evaluate",
    }


def _leaves(command: Any) -> list[tuple[list[str], Any]]:
    """Every command that runs (not a group), with its words from `careleads` on."""
    return [
        (path.split(" "), cmd)
        for path, cmd in _walk(command, "careleads")
        if not getattr(cmd, "commands", None)
    ]


def _example_problems(path: list[str], cmd: Any) -> list[str]:
    """What is wrong with a command's example: absent, another command's, or not parsed by the command."""
    epilog = (cmd.epilog or "").strip()
    if not epilog.startswith("Example: "):
        return [f"{' '.join(path)}: no example in its help"]
    words = shlex.split(epilog.removeprefix("Example: "))
    if words[: len(path)] != path:
        return [f"{' '.join(path)}: the example runs another command: {epilog}"]
    try:
        cmd.make_context(path[-1], words[len(path) :])
    except Exception as exc:  # click's parsing errors (its own copy inside typer): the example is wrong
        return [f"{' '.join(path)}: the example does not parse: {exc}"]
    return []


def test_every_command_has_an_example_that_parses(command: Any) -> None:
    leaves = _leaves(command)
    assert len(leaves) >= 30
    problems = [p for path, cmd in leaves for p in _example_problems(path, cmd)]
    assert not problems, "\n".join(problems)


def test_the_example_check_finds_a_wrong_example() -> None:
    toy = typer.Typer(help="A documented app.")

    @toy.command(epilog="Example: careleads run --fast")
    def run(slow: Annotated[bool, typer.Option("--slow", help="Slowly.")] = False) -> None:
        """Run."""

    @toy.command()
    def bare() -> None:
        """No example."""

    leaves = _leaves(typer.main.get_command(toy))
    problems = [p for path, cmd in leaves for p in _example_problems(path, cmd)]
    assert problems[0].startswith("careleads run: the example does not parse: No such option: --fast")
    assert problems[1] == "careleads bare: no example in its help"


def test_flags_show_no_value_placeholder(command: Any) -> None:
    runner = CliRunner()
    shown = []
    for path, _ in _leaves(command):
        result = runner.invoke(app, [*path[1:], "--help"], env={"COLUMNS": "200"}, terminal_width=200)
        assert result.exit_code == 0, result.output
        assert "Example: careleads" in result.output
        shown.extend(
            f"{' '.join(path)}: {line.strip()}" for line in result.output.splitlines() if "<bool>" in line
        )
    assert not shown, "\n".join(shown)


def test_train_progress_counts_each_step_once_it_is_done(
    command: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bar is full only when the work is: as many steps as announced, the last one the report."""
    del command
    seen: list[tuple[int, list[str]]] = []
    announced = careleads.cli._core.progress_steps

    @contextlib.contextmanager
    def recorded(total: int) -> Iterator[Callable[[str], None]]:
        messages: list[str] = []
        seen.append((total, messages))
        with announced(total) as step:

            def record(message: str) -> None:
                messages.append(message)
                step(message)

            yield record

    monkeypatch.setattr(careleads.cli._core, "progress_steps", recorded)
    data = tmp_path / "export"
    runner = CliRunner()
    assert (
        runner.invoke(app, ["generate", "--leads", "2000", "--seed", "3", "--out", str(data)]).exit_code == 0
    )
    report = tmp_path / "training.html"
    result = runner.invoke(
        app, ["train", str(data), "--out", str(tmp_path / "models"), "--report", str(report)]
    )
    assert result.exit_code == 0, result.output
    ((total, messages),) = seen
    assert len(messages) == total
    assert messages[-2:] == ["saving the model", "writing the report"]
    assert f"report: {report}" in result.stdout.replace("\n", "")
    assert "{" not in result.stdout  # a summary in words, not a JSON dict


def _in_registry_env(tmp_path: Path) -> dict[str, str | None]:
    """Settings of the commands below: a data folder of their own, its embedded SQLite store and registry."""
    return {
        "CARELEADS_DATA_DIR": str(tmp_path / "data"),
        "CARELEADS_DATABASE_URL": None,
        "CARELEADS_REGISTRY_DIR": None,
    }


def _one_line(output: str) -> str:
    return " ".join(output.split())


def test_models_list_says_which_registry_it_read_and_what_to_do_when_empty(
    command: Any, tmp_path: Path
) -> None:
    """Finding: an empty `models list` printed an empty table without saying where it looked."""
    del command
    env = _in_registry_env(tmp_path)
    listed = CliRunner().invoke(app, ["models", "list"], env={**env, "COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    text = _one_line(listed.stdout)
    assert f"registry: {tmp_path / 'data' / 'models'}" in text
    assert "careleads train DATA_DIR" in text and "careleads models import PATH" in text


def test_train_saves_into_the_registry_and_import_brings_in_a_model_from_elsewhere(
    command: Any, tmp_path: Path
) -> None:
    """Finding: `careleads train --out models` wrote outside the registry, so `models list` showed nothing."""
    del command
    env = {**_in_registry_env(tmp_path), "COLUMNS": "200"}
    runner = CliRunner()
    data, elsewhere = tmp_path / "export", tmp_path / "elsewhere"
    made = ["generate", "--leads", "3000", "--months", "18", "--seed", "4", "--out", str(data)]
    assert runner.invoke(app, made, env=env).exit_code == 0
    fast = ["--day-one-hours", "0", "--seed", "1"]
    registry = tmp_path / "data" / "models"

    trained = runner.invoke(app, ["train", str(data), *fast], env=env)
    assert trained.exit_code == 0, trained.output
    [version] = [p.name for p in registry.iterdir() if (p / "model_card.json").exists()]
    assert f"careleads models publish {version}" in _one_line(trained.stdout)
    assert not (registry / "quarantine").exists()  # quarantined rows stay out of the registry
    assert (tmp_path / "data" / "quarantine").is_dir()
    listed = runner.invoke(app, ["models", "list"], env=env)
    assert listed.exit_code == 0 and version in listed.stdout, listed.output
    published = runner.invoke(app, ["models", "publish", version], env=env)
    assert published.exit_code == 0, published.output

    # a model trained into another folder is not in the registry until imported
    other = runner.invoke(app, ["train", str(data), *fast, "--seed", "2", "--out", str(elsewhere)], env=env)
    assert other.exit_code == 0, other.output
    assert "careleads models import" in _one_line(other.stdout)
    [second] = [p.name for p in elsewhere.iterdir() if (p / "model_card.json").exists()]
    assert second != version and not (registry / second).exists()
    imported = runner.invoke(app, ["models", "import", str(elsewhere)], env=env)
    assert imported.exit_code == 0, imported.output
    assert (registry / second / "model_card.json").exists()
    assert [p.name for p in registry.iterdir() if p.name.startswith(".")] == []  # no staging folder left
    again = runner.invoke(app, ["models", "import", str(elsewhere / second)], env=env)
    assert again.exit_code == 2 and "already in the registry" in _one_line(again.stderr)
    nothing = runner.invoke(app, ["models", "import", str(data)], env=env)
    assert nothing.exit_code == 2 and "holds no trained model" in _one_line(nothing.stderr)
    listed = runner.invoke(app, ["models", "list"], env=env)
    assert version in listed.stdout and second in listed.stdout
    assert runner.invoke(app, ["models", "publish", second], env=env).exit_code == 0

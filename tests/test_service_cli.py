"""The service commands: db upgrade, users, tokens, models, outbox export; every option has a help text."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from _service_support import LEAD, free_port, make_settings, trained_model
from careleads.cli import _service
from careleads.models import ModelRegistry
from careleads.service.context import ServiceContext
from careleads.service.leads import create_lead
from careleads.service.users import authenticate
from careleads.settings import Settings
from careleads.store import make_engine, make_sessionmaker, session_scope


def _app() -> typer.Typer:
    app = typer.Typer()
    _service.register(app)
    return app


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    settings = make_settings(tmp_path, "sqlite")
    monkeypatch.setenv("CARELEADS_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CARELEADS_DATABASE_URL", settings.database_url)
    return settings


def test_every_command_and_option_has_help() -> None:
    def walk(command: Any, name: str) -> list[str]:
        missing = [] if command.help else [name]
        for param in command.params:
            if not getattr(param, "help", None):
                missing.append(f"{name} {param.name}")
        for sub_name, sub in getattr(command, "commands", {}).items():
            missing += walk(sub, f"{name} {sub_name}")
        return missing

    group = get_command(_app())
    assert {"serve", "db", "users", "tokens", "audit", "outbox", "erase", "models"} <= set(group.commands)  # type: ignore[attr-defined]
    assert walk(group, "careleads") == ["careleads"]  # the test app itself has no help; every command does


def test_users_and_tokens(settings: Settings) -> None:
    runner = CliRunner()
    upgraded = runner.invoke(_app(), ["db", "upgrade"])
    assert upgraded.exit_code == 0 and "revision 0013" in upgraded.output
    added = runner.invoke(_app(), ["users", "add", "maria", "--role", "reviewer"])
    assert added.exit_code == 0, added.output
    bad_role = runner.invoke(_app(), ["users", "add", "bob", "--role", "superuser"])
    assert bad_role.exit_code == 2 and "unknown role" in bad_role.output
    created = runner.invoke(_app(), ["tokens", "create", "--user", "maria"])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("clk_")
    engine = make_engine(settings.database_url)
    with session_scope(make_sessionmaker(engine)) as session:
        user = authenticate(session=session, token=token)
        assert user is not None and (user.name, user.role) == ("maria", "reviewer")
    engine.dispose()
    nobody = runner.invoke(_app(), ["tokens", "create", "--user", "nobody"])
    assert nobody.exit_code == 2 and "no user named" in nobody.output
    listed = runner.invoke(_app(), ["users", "list"])
    assert "maria" in listed.output and "reviewer" in listed.output
    # access taken away from the command line: a token revoked, then the user deactivated
    second = runner.invoke(_app(), ["tokens", "create", "--user", "maria"]).stdout.strip().splitlines()[-1]
    revoked = runner.invoke(_app(), ["tokens", "revoke", "--user", "maria", "--prefix", token[:10]])
    assert revoked.exit_code == 0 and "1 token(s) of maria revoked" in revoked.output, revoked.output
    deactivated = runner.invoke(_app(), ["users", "deactivate", "maria"])
    assert deactivated.exit_code == 0, deactivated.output
    engine = make_engine(settings.database_url)
    with session_scope(make_sessionmaker(engine)) as session:
        assert authenticate(session=session, token=token) is None
        assert authenticate(session=session, token=second) is None
    engine.dispose()


def test_models_publish_and_rollback(settings: Settings) -> None:
    registry = ModelRegistry(settings.registry_path())
    version = registry.register(trained_model())
    runner = CliRunner()
    assert runner.invoke(_app(), ["models", "publish", version]).exit_code == 0
    again = runner.invoke(_app(), ["models", "publish", version, "--reason", "re-read after the upgrade"])
    assert again.exit_code == 0
    listed = runner.invoke(_app(), ["models", "list"])
    assert listed.exit_code == 0 and "yes" in listed.output
    assert registry.published_version(settings.target) == version
    rolled = runner.invoke(_app(), ["models", "rollback", "--reason", "tier A over-predicted"])
    assert rolled.exit_code == 0 and version in rolled.output
    notes = [h["note"] for h in registry.history(settings.target)]
    assert notes == ["no reason given (command line)", "re-read after the upgrade", "tier A over-predicted"]
    unknown = runner.invoke(_app(), ["models", "publish", "no-such-version"])
    assert unknown.exit_code == 2 and "not in the registry" in unknown.output


def test_outbox_export_with_a_shipped_mapping(settings: Settings, tmp_path: Path) -> None:
    engine = make_engine(settings.database_url)
    runner = CliRunner()
    assert runner.invoke(_app(), ["db", "upgrade"]).exit_code == 0
    factory = make_sessionmaker(engine)
    ctx = ServiceContext.from_settings(settings)
    with session_scope(factory) as session:
        create_lead(session=session, ctx=ctx, lead_in=LEAD, actor="t", role="t")
    engine.dispose()
    out = tmp_path / "outbox.csv"
    result = runner.invoke(_app(), ["outbox", "export", "--out", str(out), "--mapping", "salesforce"])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1 and rows[0]["Id"] == LEAD["lead_id"] and rows[0]["Careleads_Tier__c"]
    no_hook = runner.invoke(_app(), ["outbox", "deliver"])
    assert no_hook.exit_code == 2 and "CARELEADS_WEBHOOK_URL" in no_hook.output


def test_the_data_folder_and_what_careleads_writes_are_the_users_only(tmp_path: Path) -> None:
    """Finding: store files 0644 under the default umask. The data folder is created 0700 and the SQLite
    store 0600 (library use), and every file a command writes (here a quarantine file) is 0600."""
    import os
    import stat
    import subprocess
    import sys

    from careleads.service.context import ServiceContext
    from careleads.settings import Settings
    from careleads.store import make_engine, upgrade

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    old = os.umask(0o022)  # the usual default, which left files readable by everyone
    try:
        settings = Settings(data_dir=tmp_path / "data", database_url="")
        engine = make_engine(settings.database_url)
        upgrade(engine)
        engine.dispose()
        ServiceContext.from_settings(settings)
    finally:
        os.umask(old)
    assert mode(tmp_path / "data") == 0o700
    assert mode(tmp_path / "data" / "careleads.db") == 0o600
    leads = tmp_path / "leads.csv"
    leads.write_text("lead_id,created_at,email\n,2025-01-01,a@example.org\nL2,not a date,b@example.org\n")
    out = tmp_path / "checked"
    command = [
        "dictionary",
        "check",
        str(leads),
        "--quarantine",
        str(out / "q.csv"),
        "--flagged",
        str(out / "f.csv"),
    ]
    done = subprocess.run(
        [sys.executable, "-c", "from careleads.cli import main; main()", *command],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "CARELEADS_DATA_DIR": str(tmp_path)},
    )
    written = [p for p in (tmp_path / "checked").rglob("*") if p.is_file()]
    assert written, done.stdout + done.stderr
    assert {p.name: oct(mode(p)) for p in written} == {p.name: oct(0o600) for p in written}


@pytest.mark.parametrize("columns", ["80", "120"])
def test_models_list_shows_every_version_whole(settings: Settings, columns: str) -> None:
    """Finding: `careleads models list` cut version names at 80 and 120 columns, and `publish` needs them."""
    version = ModelRegistry(settings.registry_path()).register(trained_model())
    listed = CliRunner().invoke(_app(), ["models", "list"], env={"COLUMNS": columns})
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert max(len(line) for line in lines) <= int(columns)
    assert any(version in line for line in lines), listed.output
    assert "…" not in listed.output


def test_serve_says_where_the_pages_are_before_it_loads(settings: Settings) -> None:
    assert CliRunner().invoke(_app(), ["db", "upgrade"]).exit_code == 0
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-c", "from careleads.cli import main; main()", "serve", "--port", str(port)],
        env={
            **os.environ,
            "CARELEADS_DATA_DIR": str(settings.data_dir),
            "CARELEADS_DATABASE_URL": settings.database_url,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert child.stdout is not None
        first = child.stdout.readline()  # printed before the app is built
        pages = f"http://127.0.0.1:{port}/ui/"
        assert pages in first
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(pages, timeout=2, follow_redirects=True)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise AssertionError("the server did not start")
        assert answer.status_code == 200  # the sign-in page (redirected to)
        assert "Sign in" in answer.text or "sign in" in answer.text
    finally:
        child.terminate()
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()


def test_a_wrong_token_prefix_points_to_where_the_prefixes_are(settings: Settings, tmp_path: Path) -> None:
    """Finding: the error sent the operator to `careleads users list`, which shows no token prefixes."""
    del settings  # the fixture points the commands at a store of this test's own
    runner = CliRunner()
    assert runner.invoke(_app(), ["users", "add", "maria", "--role", "reviewer"]).exit_code == 0
    token = runner.invoke(_app(), ["tokens", "create", "--user", "maria"]).stdout.strip().splitlines()[-1]
    wrong = runner.invoke(_app(), ["tokens", "revoke", "--user", "maria", "--prefix", "clk_nothing"])
    assert wrong.exit_code == 2 and "token.create" in wrong.output and "audit export" in wrong.output
    exported = tmp_path / "audit.csv"
    assert (
        runner.invoke(_app(), ["audit", "export", "--since", "2000-01-01", "--out", str(exported)]).exit_code
        == 0
    )
    with exported.open(encoding="utf-8") as handle:
        created = [row for row in csv.DictReader(handle) if row["action"] == "token.create"]
    assert len(created) == 1 and token[:10] in created[0]["details"]
    listed = runner.invoke(_app(), ["users", "list"], env={"COLUMNS": "200"})
    assert token[:10] not in listed.output  # where the old message sent the operator

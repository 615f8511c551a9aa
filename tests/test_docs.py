"""Docs that cannot drift: every command group and every setting is documented."""

from __future__ import annotations

from pathlib import Path

import typer

from careleads.cli import _register, app
from careleads.settings import MonitorSettings, Settings, settings_table

ROOT = Path(__file__).resolve().parents[1]


def _docs() -> str:
    return (ROOT / "README.md").read_text() + (ROOT / "docs" / "USER_GUIDE.md").read_text()


def test_every_command_is_in_the_readme_or_user_guide() -> None:
    _register()
    command = typer.main.get_command(app)
    names = sorted(command.commands)  # type: ignore[attr-defined]
    assert len(names) > 10
    text = _docs()
    missing = [name for name in names if f"careleads {name}" not in text and f"`{name}" not in text]
    assert not missing, f"document these commands in README.md or docs/USER_GUIDE.md: {missing}"


def test_every_setting_is_in_the_user_guide() -> None:
    text = (ROOT / "docs" / "USER_GUIDE.md").read_text()
    variables = [f"CARELEADS_{name.upper()}" for name in Settings.model_fields if name != "monitor"]
    variables += [f"CARELEADS_MONITOR_{name.upper()}" for name in MonitorSettings.model_fields]
    missing = [name for name in variables if f"| `{name}` |" not in text]
    assert not missing, f"document these settings in docs/USER_GUIDE.md: {missing}"
    # the table is generated from the class, defaults and descriptions included
    assert settings_table() in text, "regenerate the settings table in docs/USER_GUIDE.md (settings_table())"


def test_every_setting_has_a_description() -> None:
    for model in (Settings, MonitorSettings):
        for name, spec in model.model_fields.items():
            assert spec.description and len(spec.description) > 15, f"{model.__name__}.{name}"

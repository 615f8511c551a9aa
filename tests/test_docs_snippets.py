"""Every snippet of README.md and docs/USER_GUIDE.md is executed, in order, in a temporary folder.

- ``python`` blocks run in one namespace per document, in the order they appear;
- ``bash`` blocks (and untagged ones) run line by line through the ``careleads`` command (Typer's
  CliRunner, in process); each line must be a ``careleads`` command, and ``> FILE`` writes its output there;
- ``json`` blocks that are a ``POST /v1/score`` body are posted to a started app and must be answered 200;
- a block may be left out only with a visible reason on the line before it,
  ``_(Not run in tests: REASON.)_``; its commands are then checked with ``--help`` (the command and every
  option it uses exist) and its Python imports are run.

The documents' own commands make the data (``careleads generate``); the one file the guide assumes the reader
brings (``leads.csv``, any layout) is simulated here.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from _service_support import make_settings, start_service
from careleads.cli import _register, app
from careleads.synth import generate

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ("README.md", "docs/USER_GUIDE.md")
FENCE = re.compile(r"^```(?P<lang>[\w-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
NOT_RUN = re.compile(r"^_\(Not run in tests: (?P<reason>\S.{10,})\.\)_$")


@dataclass(frozen=True)
class Block:
    document: str
    line: int
    lang: str
    body: str
    not_run: str | None  # the reason, when the document says the block is not run

    @property
    def where(self) -> str:
        return f"{self.document}:{self.line}"


def blocks(document: str) -> list[Block]:
    text = (ROOT / document).read_text(encoding="utf-8")
    out = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        marked = NOT_RUN.match(before)
        line = text.count("\n", 0, match.start()) + 1
        lang = match["lang"] or "bash"
        out.append(Block(document, line, lang, match["body"], marked["reason"] if marked else None))
    return out


def _commands(block: Block) -> Iterator[list[str]]:
    """The command lines of a shell block (comments and blank lines skipped), split as a shell would."""
    for raw in block.body.splitlines():
        words = shlex.split(raw, comments=True)
        if words:
            yield words


def _run_command(runner: CliRunner, words: list[str], where: str) -> None:
    assert words[0] == "careleads", (
        f"{where}: `{' '.join(words)}` is not a careleads command; run only careleads commands in bash "
        "blocks, or mark the block `_(Not run in tests: REASON.)_`"
    )
    target = None
    if ">" in words:
        at = words.index(">")
        words, target = words[:at], words[at + 1]
    result = runner.invoke(app, words[1:], catch_exceptions=False)
    assert result.exit_code == 0, f"{where}: `{' '.join(words)}` exited {result.exit_code}:\n{result.output}"
    if target is not None:
        Path(target).write_text(result.stdout, encoding="utf-8")


def _check_command(runner: CliRunner, words: list[str], where: str) -> None:
    """A command not run: it exists, and so does every option it uses."""
    if words[0] != "careleads":
        return
    path = [w for w in words[1:] if not w.startswith("-")]
    for depth in range(min(len(path), 2), -1, -1):  # the longest command path that answers --help
        result = runner.invoke(app, [*path[:depth], "--help"])
        if result.exit_code == 0:
            break
    assert result.exit_code == 0, f"{where}: `{' '.join(words)}`: no such command"
    for option in (w.split("=")[0] for w in words if w.startswith("--")):
        assert option in result.output, f"{where}: `{' '.join(words)}`: no option {option}"


def _imports_of(code: str) -> str:
    tree = ast.parse(code)
    return "\n".join(ast.unparse(n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom))


def _score_body(block: Block, tmp_path: Path) -> None:
    body = json.loads(block.body)
    if "leads" not in body:
        return
    settings = make_settings(tmp_path / "service", "sqlite")
    for service in start_service(settings):
        response = service.client.post("/v1/score", json=body, headers=service.headers("analyst"))
        assert response.status_code == 200, f"{block.where}: {response.text}"


def _one_csv(path: Path) -> None:
    """The guide's ``leads.csv``: one table of any layout, with its own column names and a label column."""
    data = generate(1_500, seed=5, months=18, bad_row_rate=0.0)
    leads = data.leads.rename(
        columns={"lead_id": "Lead ID", "created_at": "Created Date", "service_line": "Specialty"}
    )
    converted = set(data.outcomes.loc[data.outcomes["outcome"] == "appointment_scheduled", "lead_id"])
    leads["Converted"] = ["Yes" if i in converted else "No" for i in leads["Lead ID"]]
    leads.to_csv(path, index=False)


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_snippet_runs(document: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = blocks(document)
    assert found, f"{document} has no code blocks"
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("CARELEADS_")]:
        monkeypatch.delenv(name)
    _one_csv(tmp_path / "leads.csv")
    _register()
    runner = CliRunner()
    namespace: dict[str, Any] = {"__name__": f"docs:{document}"}
    for block in found:
        if block.lang == "python":
            code = compile(block.body, block.where, "exec")
            if block.not_run:
                exec(compile(_imports_of(block.body), block.where, "exec"), {})
            else:
                exec(code, namespace)
        elif block.lang in ("bash", "sh", "shell", "console"):
            for words in _commands(block):
                if block.not_run:
                    _check_command(runner, words, block.where)
                else:
                    _run_command(runner, words, block.where)
        elif block.lang == "json":
            _score_body(block, tmp_path)


def test_a_block_left_out_says_why() -> None:
    for document in DOCUMENTS:
        text = (ROOT / document).read_text(encoding="utf-8")
        for line in text.splitlines():
            if "not run in tests" in line.lower():
                assert NOT_RUN.match(line.strip()), (
                    f"{document}: write the reason as _(Not run in tests: ...)_"
                )


def test_the_harness_reads_blocks_and_their_reasons(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "intro\n\n```python\nx = 1\n```\n\n_(Not run in tests: it needs a cluster of machines.)_\n\n"
        "```\ncareleads serve\n```\n",
        encoding="utf-8",
    )
    found = blocks(str(doc))  # an absolute path stays itself under ROOT
    assert [(b.lang, b.not_run) for b in found] == [
        ("python", None),
        ("bash", "it needs a cluster of machines"),
    ]
    assert found[0].line == 3

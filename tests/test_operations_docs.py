"""docs/OPERATIONS.md, executed: its curl examples against a real `careleads serve`, its backup and restore
steps on real SQLite and PostgreSQL stores, and a curl example for every route of the API.

Blocks are chosen by their info string (```` ```bash curl ````, ```` ```bash backup-sqlite ```` ...). In a
``bash curl`` block, a comment ``# answers NNN`` names the HTTP status of the ``curl`` on the next line; the
harness runs that curl through a wrapper that fails the script when the status differs. The blocks of one kind
run in order as one bash script (``set -euo pipefail``) with the variables the document uses:
``$CARELEADS_URL``, ``$TOKEN``, ``$CARELEADS_DATA_DIR``, ``$BACKUP_DIR``, ``$CARELEADS_DATABASE_URL``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from _service_support import LEAD, PG_URL, free_port, make_settings
from careleads.cli import _register, app
from careleads.service.context import ServiceContext
from careleads.service.leads import create_lead
from careleads.store import Lead, make_engine, make_sessionmaker, session_scope, upgrade
from careleads.synth import generate
from test_docs_snippets import _check_command, _run_command

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "docs" / "OPERATIONS.md"
FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
ANSWERS = re.compile(r"^# answers (?P<status>\d{3})$")
CURL_WORD = re.compile(r"(?<![\w-])curl (?=-)")
WRAPPER = r"""
_checked_curl() {
  local want=$1; shift
  local err; err=$(mktemp)
  local rc=0
  command curl -w '%{stderr}\n@status=%{http_code}\n' "$@" 2>"$err" || rc=$?
  local got; got=$(sed -n 's/^@status=//p' "$err" | tail -n 1)
  grep -v '^@status=' "$err" | sed '/^$/d' >&2 || true
  rm -f "$err"
  local call; call=$(printf '%s ' "$@" | tr '\n' ' ')
  echo "$want $got $call" >> "$CHECKS"
  if [ "$got" != "$want" ]; then echo "answered $got, the document says $want: curl $call" >&2; return 97; fi
  return $rc
}
set -euo pipefail
"""


@dataclass(frozen=True)
class Block:
    line: int
    kind: str  # the info string after "bash ", e.g. "curl"
    body: str


def marked_blocks(document: Path = DOCUMENT) -> list[Block]:
    """The blocks tagged ``bash KIND`` in `document`, in order."""
    content = document.read_text(encoding="utf-8")
    out = []
    for match in FENCE.finditer(content):
        words = match["info"].split()
        if len(words) == 2 and words[0] == "bash":
            out.append(Block(content.count("\n", 0, match.start()) + 1, words[1], match["body"]))
    return out


def checked_script(blocks: list[Block]) -> tuple[str, int]:
    """The blocks as one bash script whose annotated curls check their status; and how many are checked."""
    lines: list[str] = [WRAPPER]
    n_checked = 0
    for block in blocks:
        want: str | None = None
        for raw in block.body.splitlines():
            found = ANSWERS.match(raw.strip())
            if found:
                want = found["status"]
                continue
            if want is not None and raw.strip():
                assert CURL_WORD.search(raw), f"OPERATIONS.md:{block.line}: `# answers` is not before a curl"
                raw = CURL_WORD.sub(f"_checked_curl {want} ", raw, count=1)
                n_checked += 1
                want = None
            lines.append(raw)
        assert want is None, f"OPERATIONS.md:{block.line}: `# answers` at the end of a block"
    return "\n".join(lines) + "\n", n_checked


def _curl_commands(blocks: list[Block]) -> Iterator[tuple[str, str]]:
    """(method, path) of every checked curl example (a `# answers` line before it)."""
    for block in blocks:
        lines = block.body.splitlines()
        for before, line in zip(lines, lines[1:], strict=False):
            if not ANSWERS.match(before.strip()):
                continue
            explicit = re.search(r"(?:-X|--request) (\w+)", line)
            sends = re.search(r"(?:^|\s)(?:-d|--data\S*|-F|--form|--json)\s", line)
            method = explicit[1] if explicit else ("POST" if sends else "GET")
            url = re.search(r"\$\{?CARELEADS_URL\}?(/[^\s\"'?]*)", line)
            assert url, f"OPERATIONS.md:{block.line}: no $CARELEADS_URL in `{line.strip()}`"
            yield method, url[1]


def _route_pattern(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$")


def _route_of(method: str, path: str, routes: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The route an example calls: the matching one with the fewest path parameters (a fixed segment such as
    ``/result`` wins over ``/{which}``)."""
    found = [r for r in routes if r[0] == method and _route_pattern(r[1]).match(path)]
    return min(found, key=lambda r: r[1].count("{"), default=None)


def _env(**values: str) -> dict[str, str]:
    """This process's environment without its careleads settings, the venv's commands first, plus `values`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELEADS_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(values)
    return env


def _bash(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script], env=env, cwd=cwd, capture_output=True, text=True, check=False, timeout=600
    )


# -- the running server ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Server:
    url: str
    token: str
    data_dir: Path
    webhook_bodies: list[bytes]  # what the CRM webhook received


class _Webhook(BaseHTTPRequestHandler):
    """A CRM webhook that accepts every delivery and keeps its body."""

    bodies: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 (the name http.server calls)
        self.bodies.append(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's signature)
        del format, args


def _cli(args: list[str], env: dict[str, str | None]) -> str:
    result = CliRunner().invoke(app, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, f"careleads {' '.join(args)}: {result.output}"
    return result.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`careleads serve` on a free port with a temporary SQLite store, two models trained into its registry
    by `careleads train` and an admin token made by `careleads tokens create`."""
    base = tmp_path_factory.mktemp("operations")
    data_dir = base / "data"
    settings_env: dict[str, str | None] = {
        name: None for name in os.environ if name.startswith("CARELEADS_")
    } | {"CARELEADS_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    _register()
    export = base / "export"
    _cli(["generate", "--leads", "3000", "--months", "18", "--seed", "4", "--out", str(export)], settings_env)
    for seed in ("1", "2"):
        _cli(["train", str(export), "--day-one-hours", "0", "--seed", seed], settings_env)
    _cli(["users", "add", "ops-admin", "--role", "admin"], settings_env)
    token = _cli(["tokens", "create", "--user", "ops-admin"], settings_env).strip().splitlines()[-1]
    webhook = ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    threading.Thread(target=webhook.serve_forever, daemon=True).start()
    port = free_port()
    log = (base / "serve.log").open("w", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-c", "from careleads.cli import main; main()", "serve", "--port", str(port)],
        env=_env(
            CARELEADS_DATA_DIR=str(data_dir),
            CARELEADS_WEBHOOK_URL=f"http://127.0.0.1:{webhook.server_address[1]}/careleads",
            CARELEADS_WEBHOOK_SECRET="a-shared-secret-for-the-test",
        ),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # start-up wait, not a speed assertion
        while True:
            assert process.poll() is None, (base / "serve.log").read_text(encoding="utf-8")
            try:
                with urllib.request.urlopen(f"{url}/v1/health", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "careleads serve did not answer /v1/health"
            time.sleep(0.2)
        yield Server(url=url, token=token, data_dir=data_dir, webhook_bodies=_Webhook.bodies)
    finally:
        webhook.shutdown()
        webhook.server_close()
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_every_curl_example_answers_the_status_the_doc_says(server: Server, tmp_path: Path) -> None:
    blocks = [b for b in marked_blocks() if b.kind == "curl"]
    script, n_checked = checked_script(blocks)
    data = generate(300, seed=2, months=18, bad_row_rate=0.0)
    data.leads.to_csv(tmp_path / "leads.csv", index=False)  # the file the batch example uploads
    checks = tmp_path / "checks.txt"
    done = _bash(
        script,
        _env(CARELEADS_URL=server.url, TOKEN=server.token, CHECKS=str(checks)),
        tmp_path,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stderr}\n{done.stdout[-3000:]}"
    ran = checks.read_text(encoding="utf-8").splitlines()
    assert len(ran) == n_checked >= 25
    assert all(line.split()[0] == line.split()[1] for line in ran)
    # what the examples did is real: the decisions file came back, the lead erased by its CRM id is gone
    assert (tmp_path / "decisions.csv").read_text(encoding="utf-8").count("\n") > 100
    with urllib.request.urlopen(f"{server.url}/v1/health", timeout=10) as response:
        health = json.load(response)
    assert health["status"] == "ok" and health["published_model"]
    assert any(b"CRM-2002" in body for body in server.webhook_bodies)  # the outbox was delivered


def test_every_api_route_has_a_checked_curl_example(server: Server) -> None:
    with urllib.request.urlopen(f"{server.url}/openapi.json", timeout=10) as response:
        paths = json.load(response)["paths"]
    routes = [(m.upper(), p) for p, item in paths.items() if p.startswith("/v1") for m in item]
    assert len(routes) >= 30
    examples = list(_curl_commands([b for b in marked_blocks() if b.kind == "curl"]))
    called = {_route_of(method, path, routes) for method, path in examples}
    missing = sorted(set(routes) - called)
    assert not missing, f"add a curl example with `# answers STATUS` to docs/OPERATIONS.md for {missing}"
    unknown = [(m, p) for m, p in examples if _route_of(m, p, routes) is None]
    assert not unknown, f"docs/OPERATIONS.md calls routes the API does not have: {unknown}"


def test_the_harness_checks_statuses_and_finds_routes(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "```bash curl\n# answers 201\nX=$(curl -sS -d '{}' \"$CARELEADS_URL/v1/leads\" | jq .id)\n"
        'curl -sS "$CARELEADS_URL/v1/leads/$X"\n```\n\n```bash\n# answers 200\ncurl -sS x\n```\n',
        encoding="utf-8",
    )
    blocks = marked_blocks(doc)
    assert [(b.kind, b.line) for b in blocks] == [("curl", 1)]
    script, n_checked = checked_script(blocks)
    assert n_checked == 1 and "X=$(_checked_curl 201 -sS -d" in script
    assert '\ncurl -sS "$CARELEADS_URL/v1/leads/$X"' in script  # not annotated: run as written
    assert list(_curl_commands(blocks)) == [("POST", "/v1/leads")]
    routes = [("GET", "/v1/batches/{batch_id}/{which}"), ("GET", "/v1/batches/{batch_id}/result")]
    assert _route_of("GET", "/v1/batches/$B/result", routes) == routes[1]
    assert _route_of("GET", "/v1/batches/$B/flagged", routes) == routes[0]
    assert _route_of("POST", "/v1/batches/$B/flagged", routes) is None
    # a status other than the document's fails the script
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port := free_port())], cwd=tmp_path)
    try:
        checks = tmp_path / "checks.txt"
        wrong = (
            WRAPPER + 'for _ in $(seq 100); do curl -s -o /dev/null "$URL/" && break; sleep 0.2; done\n'
            '_checked_curl 200 -sS -o /dev/null "$URL/doc.md"\n_checked_curl 200 -sS "$URL/missing"\n'
        )
        done = _bash(wrong, _env(URL=f"http://127.0.0.1:{port}", CHECKS=str(checks)), tmp_path)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert done.returncode == 97 and "answered 404, the document says 200" in done.stderr
    assert [line.split()[:2] for line in checks.read_text(encoding="utf-8").splitlines()] == [
        ["200", "200"],
        ["200", "404"],
    ]


# -- the careleads commands -------------------------------------------------------------------------------
def _careleads_commands(document: Path = DOCUMENT) -> Iterator[tuple[int, list[str]]]:
    """(line, words) of every careleads command in the document's code blocks: a line that starts with
    ``careleads`` or runs an installed ``.../bin/careleads``, up to the first shell operator."""
    content = document.read_text(encoding="utf-8")
    for match in FENCE.finditer(content):
        first = content.count("\n", 0, match.start()) + 2
        for offset, raw in enumerate(match["body"].splitlines()):
            if not re.search(r"^careleads\s|/bin/careleads\s", raw):
                continue  # the lines of a JSON body are not shell words
            words = shlex.split(raw, comments=True)
            starts = [
                i
                for i, w in enumerate(words)
                if (i == 0 and w == "careleads") or w.endswith("/bin/careleads")
            ]
            if not starts:
                continue
            rest = words[starts[0] + 1 :]
            ends = [i for i, w in enumerate(rest) if w in ("|", ">", "&&", ";", "||")]
            yield first + offset, ["careleads", *rest[: ends[0] if ends else len(rest)]]


def test_every_careleads_command_in_the_document_exists_with_its_options() -> None:
    _register()
    runner = CliRunner()
    found = list(_careleads_commands())
    assert {" ".join(words[:3]) for _, words in found} >= {"careleads db upgrade", "careleads serve --host"}
    for line, words in found:
        _check_command(runner, words, f"docs/OPERATIONS.md:{line}")


def test_the_user_and_token_commands_run_as_documented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.startswith("CARELEADS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CARELEADS_DATA_DIR", str(tmp_path / "data"))
    _register()
    runner = CliRunner()
    [block] = [b for b in marked_blocks() if b.kind == "cli"]
    for raw in block.body.splitlines():
        words = shlex.split(raw, comments=True)
        if words:
            _run_command(runner, words, f"docs/OPERATIONS.md:{block.line}")
    listed = runner.invoke(app, ["users", "list"], env={"COLUMNS": "200"})
    assert "maria" in listed.stdout and "False" in listed.stdout  # added, then deactivated


# -- backups and restore ---------------------------------------------------------------------------------
def _script(kind: str) -> str:
    found = [b.body for b in marked_blocks() if b.kind == kind]
    assert len(found) == 1, f"docs/OPERATIONS.md should have one `bash {kind}` block"
    return "set -euo pipefail\n" + found[0]


def _store_with_leads(settings_dir: Path, backend: str, n_leads: int) -> Path:
    """A store with `n_leads` leads created through the service (identifiers encrypted, analytics written);
    returns its data folder."""
    settings = make_settings(settings_dir, backend)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    ctx = ServiceContext.from_settings(settings)
    factory = make_sessionmaker(engine)
    ctx.bind(factory)
    for i in range(n_leads):
        with session_scope(factory) as session:
            create_lead(
                session=session, ctx=ctx, lead_in={**LEAD, "lead_id": f"OPS-{i}"}, actor="t", role="t"
            )
    engine.dispose()
    return settings.data_dir


def _n_leads(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(Lead.__table__)).scalar_one())
    finally:
        engine.dispose()


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_sqlite_backup_and_restore_as_documented(tmp_path: Path) -> None:
    data_dir = _store_with_leads(tmp_path / "store", "sqlite", 3)
    database = data_dir / "careleads.db"
    url = f"sqlite:///{database}"
    keys = _files(data_dir / "keys")
    analytics = _files(data_dir / "analytics")
    assert keys and analytics and _n_leads(url) == 3
    env = _env(CARELEADS_DATA_DIR=str(data_dir), BACKUP_DIR=str(tmp_path / "backup"))
    backed_up = _bash(_script("backup-sqlite"), env, tmp_path)
    assert backed_up.returncode == 0, backed_up.stderr
    shutil.rmtree(data_dir)  # the server's disk is lost
    restored = _bash(_script("restore-sqlite"), env, tmp_path)
    assert restored.returncode == 0, restored.stderr + restored.stdout
    assert "audit log ok" in restored.stdout
    assert _n_leads(url) == 3
    assert _files(data_dir / "keys") == keys and _files(data_dir / "analytics") == analytics


@pytest.mark.postgres
@pytest.mark.skipif(
    not PG_URL.startswith("postgresql"), reason="CARELEADS_DATABASE_URL is not a PostgreSQL URL"
)
@pytest.mark.skipif(
    shutil.which("pg_dump") is None or shutil.which("pg_restore") is None,
    reason="the PostgreSQL client tools (pg_dump, pg_restore) are not installed",
)
def test_postgres_backup_and_restore_into_a_fresh_database_as_documented(tmp_path: Path) -> None:
    data_dir = _store_with_leads(tmp_path / "store", "postgres", 3)
    assert _n_leads(PG_URL) == 3
    keys = _files(data_dir / "keys")
    backup = tmp_path / "backup"
    backed_up = _bash(
        _script("backup-postgres"),
        _env(CARELEADS_DATA_DIR=str(data_dir), BACKUP_DIR=str(backup), CARELEADS_DATABASE_URL=PG_URL),
        tmp_path,
    )
    assert backed_up.returncode == 0, backed_up.stderr
    source = make_url(PG_URL)
    fresh = source.set(database=f"{source.database}_restore")
    admin = create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{fresh.database}"'))
        connection.execute(text(f'CREATE DATABASE "{fresh.database}"'))
    try:
        shutil.rmtree(data_dir)
        fresh_url = fresh.render_as_string(hide_password=False)
        restored = _bash(
            _script("restore-postgres"),
            _env(CARELEADS_DATA_DIR=str(data_dir), BACKUP_DIR=str(backup), CARELEADS_DATABASE_URL=fresh_url),
            tmp_path,
        )
        assert restored.returncode == 0, restored.stderr + restored.stdout
        assert "audit log ok" in restored.stdout
        assert _n_leads(fresh_url) == 3
        assert _files(data_dir / "keys") == keys
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{fresh.database}" WITH (FORCE)'))
        admin.dispose()

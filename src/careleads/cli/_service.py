"""Service commands: serve, db, users, tokens, audit, outbox, erase, models.

Settings come from the environment (``CARELEADS_*``, see ``careleads serve --help`` and docs); commands act
as the local administrator and are audited as ``cli:<login>``.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from careleads.cli._errors import command_errors
from careleads.cli._help import example

console = Console(stderr=True)
out = Console()

ROLE_HELP = "One of admin, analyst, reviewer, auditor, integration."


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def open_sessions() -> Iterator[sessionmaker[Session]]:
    """A session factory on the configured database (migrated first when it is the embedded default)."""
    from careleads.service.context import open_store
    from careleads.settings import get_settings
    from careleads.store import make_sessionmaker

    engine = open_store(get_settings())
    try:
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()


def register(app: typer.Typer) -> None:
    """Add the service commands to the `careleads` app."""
    db_app = typer.Typer(help="The operational store's schema.", no_args_is_help=True)
    users_app = typer.Typer(help="Users and their roles.", no_args_is_help=True)
    tokens_app = typer.Typer(help="API tokens (shown once, stored hashed).", no_args_is_help=True)
    audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
    outbox_app = typer.Typer(help="CRM write-back records.", no_args_is_help=True)
    models_app = typer.Typer(
        help="The model registry: list, import, publish, roll back.", no_args_is_help=True
    )
    app.add_typer(db_app, name="db")
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")
    app.add_typer(audit_app, name="audit")
    app.add_typer(outbox_app, name="outbox")
    app.add_typer(models_app, name="models")

    @app.command(epilog=example("careleads serve --host 0.0.0.0 --port 8000 --workers 2"))
    @command_errors()
    def serve(
        host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
        workers: Annotated[
            int,
            typer.Option(
                "--workers",
                help="Worker processes (each loads the model and listens on a socket of its own, so the "
                "system spreads connections over them). One process works on one core at a time; use as "
                "many as the cores the server may take (with SQLite the workers' writes take turns on a "
                "file lock; docs/PERFORMANCE.md).",
            ),
        ] = 1,
    ) -> None:
        """Run the scoring API and the web pages (FastAPI under uvicorn); settings come from CARELEADS_*.

        The scheduled jobs run inside (`careleads jobs list`) unless CARELEADS_SCHEDULER is false."""
        import os

        # the server runs the jobs unless told otherwise; worker processes inherit the environment
        os.environ.setdefault("CARELEADS_SCHEDULER", "true")

        from careleads.settings import get_settings

        settings = get_settings()
        # said before the app loads its model (seconds of silence otherwise): where to go once it is up
        base = f"http://{host}:{port}"
        out.print(
            f"careleads: starting {workers} worker(s); pages at {base}/ui/ (sign in there), API at {base}/v1"
        )
        out.print(f"careleads: API reference at {base}/docs; health at {base}/v1/health. Stop with Ctrl+C.")
        from careleads.serving import serve as run_service

        application = None
        if workers <= 1:
            from careleads.app import create_app

            application = create_app(settings)
        run_service(host=host, port=port, workers=workers, log_level=settings.log_level, app=application)

    @db_app.command("upgrade", epilog=example("careleads db upgrade"))
    @command_errors()
    def db_upgrade(
        revision: Annotated[str, typer.Option("--revision", help="Migrate up to this revision.")] = "head",
    ) -> None:
        """Apply the schema migrations to the configured database."""
        from careleads.settings import get_settings
        from careleads.store import make_engine, upgrade

        engine = make_engine(get_settings().database_url, lock_seconds=get_settings().lock_wait_seconds)
        at = upgrade(engine, revision)
        out.print(f"database at revision {at} ({engine.url.render_as_string(hide_password=True)})")

    @users_app.command("add", epilog=example("careleads users add elena --role reviewer"))
    @command_errors()
    def users_add(
        name: Annotated[str, typer.Argument(help="The user's name (letters, digits, _ . @ -).")],
        role: Annotated[str, typer.Option("--role", help=ROLE_HELP)],
    ) -> None:
        """Add a user with one role."""
        from careleads.service.users import create_user
        from careleads.store import session_scope

        with open_sessions() as factory, session_scope(factory) as session:
            user = create_user(session=session, name=name, role=role, actor=cli_actor())
            out.print(f"user {user.name} ({user.role}) added")

    @users_app.command("list", epilog=example("careleads users list"))
    @command_errors()
    def users_list() -> None:
        """List users and roles."""
        from careleads.service.users import list_users
        from careleads.store import session_scope

        table = Table("name", "role", "active", "created")
        with open_sessions() as factory, session_scope(factory) as session:
            for user in list_users(session=session):
                table.add_row(user.name, user.role, str(user.active), user.created_at.isoformat())
        out.print(table)

    @tokens_app.command("create", epilog=example("careleads tokens create --user crm-integration"))
    @command_errors()
    def tokens_create(
        user: Annotated[str, typer.Option("--user", help="The user the token belongs to.")],
    ) -> None:
        """Create an API token and print it once; only its hash is stored."""
        from careleads.service.users import create_token
        from careleads.store import session_scope

        with open_sessions() as factory, session_scope(factory) as session:
            token = create_token(session=session, user_name=user, actor=cli_actor())
        console.print("The token is shown once; store it safely:")
        out.print(token, soft_wrap=True)

    @users_app.command("deactivate", epilog=example("careleads users deactivate elena"))
    @command_errors()
    def users_deactivate(
        name: Annotated[str, typer.Argument(help="The user whose access ends now.")],
    ) -> None:
        """Take a user's access away: their tokens and web sessions are refused from now on (audited)."""
        from careleads.service.users import deactivate_user
        from careleads.store import session_scope

        with open_sessions() as factory, session_scope(factory) as session:
            user = deactivate_user(session=session, name=name, actor=cli_actor())
            out.print(f"user {user.name} deactivated: their tokens and web sessions no longer work")

    @tokens_app.command(
        "revoke", epilog=example("careleads tokens revoke --user crm-integration --prefix cl_3f9a")
    )
    @command_errors()
    def tokens_revoke(
        user: Annotated[str, typer.Option("--user", help="The user whose tokens are revoked.")],
        prefix: Annotated[
            str | None,
            typer.Option(
                "--prefix", help="Only the token starting with this (its first characters, clk_...)."
            ),
        ] = None,
    ) -> None:
        """Revoke a user's API tokens (all, or one by its prefix); web sessions signed in with them end."""
        from careleads.service.users import revoke_tokens
        from careleads.store import session_scope

        with open_sessions() as factory, session_scope(factory) as session:
            n = revoke_tokens(session=session, user_name=user, prefix=prefix, actor=cli_actor())
        out.print(f"{n} token(s) of {user} revoked")

    @audit_app.command(
        "verify",
        epilog=example("careleads audit verify --anchor https://anchors.example.org/careleads-head.json"),
    )
    @command_errors()
    def audit_verify(
        expected_head: Annotated[
            str | None, typer.Option("--expected-head", help="The last hash as recorded elsewhere.")
        ] = None,
        anchor: Annotated[
            str | None,
            typer.Option(
                "--anchor",
                help="An anchor written by `careleads audit anchor`, a file or an http(s) URL read with GET: "
                "the log must still hold the anchored entry, unchanged, and at least as many entries.",
            ),
        ] = None,
    ) -> None:
        """Check every link of the audit log and its head (exit code 1 when broken); prints the head to keep
        elsewhere."""
        from careleads.service.audit import AuditAnchor, verify_audit
        from careleads.store import session_scope

        kept = AuditAnchor.read(anchor) if anchor is not None else None
        with open_sessions() as factory, session_scope(factory) as session:
            result = verify_audit(session=session, expected_head=expected_head, anchor=kept)
        if result.ok:
            out.print(f"audit log ok: {result.message}")
            out.print("keep the head elsewhere (careleads audit anchor --out FILE) to catch a log cut back")
            return
        where = (
            ""
            if result.broken_id is None
            else f" at entry id {result.broken_id} (position {result.broken_index})"
        )
        out.print(f"audit log BROKEN{where}: {result.reason}. {result.message}")
        raise typer.Exit(code=1)

    @audit_app.command("anchor", epilog=example("careleads audit anchor --out audit-head.json"))
    @command_errors()
    def audit_anchor(
        out_file: Annotated[
            str,
            typer.Option(
                "--out",
                help="Where to keep the head, away from the server: a file, or an http(s) URL the head is "
                "PUT to as JSON (a storage bucket's signed URL, a service on another machine).",
            ),
        ],
    ) -> None:
        """Verify the log, then write its head (entries, last hash) for `audit verify --anchor`."""
        from careleads.service.audit import write_audit_anchor
        from careleads.store import session_scope

        with open_sessions() as factory, session_scope(factory) as session:
            head = write_audit_anchor(session=session, out=out_file)
        out.print(f"anchor written: {head.entries} entries, head {head.head}")

    @audit_app.command(
        "export", epilog=example("careleads audit export --since 2026-11-01 --out audit.jsonl")
    )
    @command_errors()
    def audit_export(
        since: Annotated[
            datetime, typer.Option("--since", help="Entries at or after this date or time (UTC, ISO 8601).")
        ],
        out_file: Annotated[Path, typer.Option("--out", help="CSV file to write.")] = Path("audit.csv"),
    ) -> None:
        """Export the audit log from a date on as CSV, for the privacy officer; the export is audited."""
        from careleads.service.audit import export_audit_log
        from careleads.store import session_scope

        with open_sessions() as factory, session_scope(factory) as session:
            n = export_audit_log(session=session, out=out_file, since=since, actor=cli_actor(), role="admin")
        out.print(f"{n} entries written to {out_file}")

    @outbox_app.command("deliver", epilog=example("careleads outbox deliver --loop"))
    @command_errors()
    def outbox_deliver(
        loop: Annotated[
            bool, typer.Option("--loop", help="Keep delivering every CARELEADS_WEBHOOK_POLL_SECONDS.")
        ] = False,
    ) -> None:
        """Deliver due write-back records to CARELEADS_WEBHOOK_URL (signed, with retries and dead-letter)."""
        import time

        from careleads.service.crm_mapping import load_field_mapping
        from careleads.service.outbox import deliver_configured
        from careleads.settings import get_settings
        from careleads.store import session_scope

        settings = get_settings()
        mapping = load_field_mapping(settings.field_mapping_file)
        with open_sessions() as factory:
            while True:
                with session_scope(factory) as session:
                    report = deliver_configured(session=session, settings=settings, mapping=mapping)
                out.print(json.dumps(report.to_dict()))
                if not loop:
                    break
                time.sleep(settings.webhook_poll_seconds)

    @outbox_app.command("requeue", epilog=example("careleads outbox requeue --dead"))
    @command_errors()
    def outbox_requeue(
        dead: Annotated[bool, typer.Option("--dead", help="Every dead-lettered record.")] = False,
        ids: Annotated[
            list[int] | None,
            typer.Option("--id", min=1, help="A record's id (see `GET /v1/admin/outbox`); repeat for more."),
        ] = None,
    ) -> None:
        """Give write-back records new attempts, due now (delivered and erased records are never sent
        again); audited."""
        from careleads.service.outbox import requeue_outbox
        from careleads.store import session_scope

        with open_sessions() as factory, session_scope(factory) as session:
            n = requeue_outbox(session=session, actor=cli_actor(), role="admin", ids=ids or [], dead=dead)
        out.print(f"{n} records requeued")

    @outbox_app.command(
        "export", epilog=example("careleads outbox export --out writeback.csv --mapping hubspot")
    )
    @command_errors()
    def outbox_export(
        out_file: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
        status: Annotated[
            str | None, typer.Option("--status", help="Only pending, delivered or dead records.")
        ] = None,
        mapping_file: Annotated[
            str | None,
            typer.Option("--mapping", help="Field mapping YAML, or hubspot / salesforce (default: setting)."),
        ] = None,
    ) -> None:
        """Export write-back records as CSV with CRM field names; the export is audited."""
        from careleads.service.crm_mapping import load_field_mapping
        from careleads.service.outbox import export_outbox
        from careleads.settings import get_settings
        from careleads.store import session_scope

        mapping = load_field_mapping(mapping_file or get_settings().field_mapping_file)
        with open_sessions() as factory, session_scope(factory) as session:
            n = export_outbox(
                session=session, out=out_file, mapping=mapping, status=status, actor=cli_actor(), role="admin"
            )
        out.print(f"{n} records written to {out_file}")

    @app.command(epilog=example("careleads erase external:CRM-4"))
    @command_errors()
    def erase(
        reference: Annotated[
            str,
            typer.Argument(
                help="The lead's id in careleads or its CRM (external) id; id:N or external:CRM-ID when a "
                "number could be either.",
            ),
        ],
    ) -> None:
        """Erase a lead's identifiers and free text from store, analytics and outbox; keeps a tombstone."""
        from careleads.service.context import ServiceContext
        from careleads.service.erasure import erase_lead
        from careleads.settings import get_settings
        from careleads.store import session_scope

        ctx = ServiceContext.from_settings(get_settings())
        with open_sessions() as factory:
            ctx.bind(factory)
            with session_scope(factory) as session:
                report = erase_lead(
                    session=session, ctx=ctx, reference=reference, actor=cli_actor(), role="admin"
                )
        out.print(json.dumps(report.to_dict()))

    @models_app.command("list", epilog=example("careleads models list"))
    @command_errors()
    def models_list() -> None:
        """List registered model versions and which one is published."""
        from careleads.models import ModelRegistry
        from careleads.settings import get_settings

        settings = get_settings()
        root = settings.registry_path()
        entries = ModelRegistry(root).versions()
        out.print(f"registry: {root}")
        if not entries:
            out.print(
                "no models here; train one into it with `careleads train DATA_DIR`, or bring a trained model "
                "folder in with `careleads models import PATH` (the folder is CARELEADS_REGISTRY_DIR, else "
                "CARELEADS_DATA_DIR/models)"
            )
            return
        table = Table()
        # `models publish` takes the version as written: it is never cut or wrapped, the others fold
        longest = max((len(m.version) for m in entries), default=len("version"))
        table.add_column("version", no_wrap=True, min_width=longest)
        for name in ("segment/target", "trained", "test AUC", "test ECE", "published"):
            table.add_column(name, overflow="fold")
        for m in entries:
            table.add_row(
                m.version,
                m.target,
                m.trained_at,
                f"{m.test_auc:.3f}" if m.test_auc is not None else "",
                f"{m.test_ece:.3f}" if m.test_ece is not None else "",
                "yes" if m.published else "",
            )
        out.print(table)

    @models_app.command(
        "import", epilog=example("careleads models import /tmp/trained/appointment_scheduled_30d-VERSION")
    )
    @command_errors()
    def models_import(
        path: Annotated[
            Path,
            typer.Argument(
                help="A trained model folder, or a folder of them (what `careleads train --out` wrote)."
            ),
        ],
    ) -> None:
        """Copy trained models into the registry (each read first: one this release cannot score with is
        refused); publish them next."""
        from careleads.models import ModelRegistry
        from careleads.settings import get_settings

        registry = ModelRegistry(get_settings().registry_path())
        for version in registry.import_folder(path):
            out.print(
                f"{version} imported into {registry.root}; "
                f"publish it with `careleads models publish {version}`"
            )

    @models_app.command("publish", epilog=example("careleads models publish VERSION"))
    @command_errors()
    def models_publish(
        version: Annotated[str, typer.Argument(help="The version to publish (see `careleads models list`).")],
        reason: Annotated[
            str, typer.Option("--reason", help="Why (kept in the publication history and the audit log).")
        ] = "no reason given (command line)",
    ) -> None:
        """Make a version the one that scores leads for its target; audited with the reason."""
        from careleads.models import ModelRegistry
        from careleads.service.publishing import publish_model
        from careleads.settings import get_settings
        from careleads.store import session_scope

        registry = ModelRegistry(get_settings().registry_path())
        with open_sessions() as factory, session_scope(factory) as session:
            result = publish_model(
                session=session,
                registry=registry,
                version=version,
                actor=cli_actor(),
                role="admin",
                note=reason,
            )
        out.print(f"{version} published for {result.target}")

    @models_app.command(
        "rollback", epilog=example("careleads models rollback --target appointment_scheduled_30d")
    )
    @command_errors()
    def models_rollback(
        target: Annotated[
            str | None,
            typer.Option(
                "--target",
                help="Target name (default: CARELEADS_TARGET); a segment's as SEGMENT/TARGET, e.g. "
                "returning/appointment_scheduled_30d or partnership/meeting_booked_30d.",
            ),
        ] = None,
        reason: Annotated[
            str, typer.Option("--reason", help="Why (kept in the publication history and the audit log).")
        ] = "no reason given (command line)",
    ) -> None:
        """Return a target to the version published before the current one; audited with the reason."""
        from careleads.models import ModelRegistry
        from careleads.service.publishing import rollback_model
        from careleads.settings import get_settings
        from careleads.store import session_scope

        settings = get_settings()
        name = target or settings.target
        registry = ModelRegistry(settings.registry_path())
        with open_sessions() as factory, session_scope(factory) as session:
            result = rollback_model(
                session=session, registry=registry, target=name, actor=cli_actor(), role="admin", note=reason
            )
        out.print(f"{name}: back to {result.published_version}")

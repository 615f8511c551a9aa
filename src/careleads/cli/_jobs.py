"""Scheduled jobs: ``careleads jobs list`` and ``careleads jobs run NAME`` (under the scheduler's lease)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from careleads.cli._errors import command_errors
from careleads.cli._help import example
from careleads.cli._service import cli_actor, open_sessions

out = Console()


def _when(moment: object) -> str:
    return "" if moment is None else str(moment)[:19]


def register(app: typer.Typer) -> None:
    """Add the `jobs` commands to the `careleads` app."""
    jobs_app = typer.Typer(
        help="Scheduled jobs (run by `careleads serve`): list, run now.", no_args_is_help=True
    )
    app.add_typer(jobs_app, name="jobs")

    @jobs_app.command("list", epilog=example("careleads jobs list --json"))
    @command_errors()
    def jobs_list(
        json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    ) -> None:
        """Each job: its schedule, last run, status and when it is next due (UTC)."""
        from careleads.jobs import JOBS
        from careleads.service.scheduling import list_jobs
        from careleads.settings import get_settings

        settings = get_settings()
        with open_sessions() as factory, factory() as session:
            listed = list_jobs(session=session, settings=settings, jobs=JOBS)
        if json_out:
            out.print_json(listed.model_dump_json())
            return
        table = Table()
        table.add_column("job", no_wrap=True)  # `jobs run` takes the name as written: never cut
        for column in ("every", "last run", "status", "next due"):
            table.add_column(column)
        for job in listed.data:
            last = job.last_run
            table.add_row(
                job.name,
                f"{job.every_minutes} min" if job.every_minutes else "off",
                _when(last.started_at) if last else "never",
                ("running" if job.running else last.status if last else ""),
                _when(job.next_due) if job.next_due else ("now" if job.every_minutes else ""),
            )
        out.print(table)

    @jobs_app.command("run", epilog=example("careleads jobs run deliver_outbox"))
    @command_errors()
    def jobs_run(
        name: Annotated[str, typer.Argument(help="The job (see `careleads jobs list`).")],
        json_out: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
    ) -> None:
        """Run a job now under the same lease as the scheduler (refused while it runs elsewhere); audited."""
        from careleads.jobs import JOBS
        from careleads.service.context import ServiceContext
        from careleads.service.scheduling import run_job
        from careleads.settings import get_settings

        settings = get_settings()
        ctx = ServiceContext.from_settings(settings)
        with open_sessions() as factory:
            ctx.bind(factory)
            try:
                run = run_job(
                    name=name,
                    sessions=factory,
                    settings=settings,
                    service=ctx,
                    actor=cli_actor(),
                    role="admin",
                    jobs=JOBS,
                )
            finally:
                ctx.analytics.close()
        if json_out:
            out.print_json(run.model_dump_json())
        else:
            counts = ", ".join(f"{k}={v}" for k, v in run.summary.items()) or "no counts"
            out.print(f"job {run.job}: {run.status} ({counts})", soft_wrap=True)
            if run.error:
                out.print(f"error: {run.error}", soft_wrap=True)
        if run.status == "failed":
            raise typer.Exit(code=1)

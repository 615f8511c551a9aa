"""The review queue's order: clinical triage first, then by SLA due time, then tier."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from _service_support import make_settings, publish, trained_model
from careleads.service.context import ServiceContext
from careleads.service.leads import create_lead
from careleads.service.review import review_queue
from careleads.store import make_engine, make_sessionmaker, session_scope, upgrade
from careleads.synth import generate

URGENT = "Crushing chest pain spreading to my left arm since this morning"


def test_clinical_triage_leads_come_first_whatever_their_tier_and_due_time(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "sqlite")
    publish(settings, trained_model())
    engine = make_engine(settings.database_url)
    upgrade(engine)
    ctx, sessions = ServiceContext.from_settings(settings), make_sessionmaker(engine)
    leads = generate(200, seed=11, bad_row_rate=0.0).leads.head(40).to_dict("records")
    start = datetime(2025, 3, 3, 9, 0)
    created = []
    for i, row in enumerate(leads):
        lead = {k: v for k, v in row.items() if isinstance(v, str) and v and k != "question"}
        lead["lead_id"] = f"Q{i}"
        # the urgent leads arrive last, so their due times are the latest of all
        urgent = i >= 36
        if urgent:
            lead["question"] = URGENT
        now = start + timedelta(hours=i, days=10 if urgent else 0)
        with session_scope(sessions) as session:
            entry = create_lead(
                session=session, ctx=ctx, lead_in=lead, actor="t", role="integration", now=now
            ).entry
            created.append((lead["lead_id"], urgent, entry.route["kind"], entry.review_required))
    assert all(kind == "clinical" and review for _id, urgent, kind, review in created if urgent)
    with session_scope(sessions) as session:
        queue = review_queue(session=session, limit=100)
        is_urgent = {lead_id: urgent for lead_id, urgent, _kind, _review in created}
        order = [(is_urgent[lead.external_id], task.sla_due, task.tier_rank) for task, lead in queue]
    n_urgent = sum(1 for item in created if item[1])
    assert [urgent for urgent, _due, _rank in order[:n_urgent]] == [True] * n_urgent
    assert not any(urgent for urgent, _due, _rank in order[n_urgent:])
    rest = [(due is None, due or datetime.max, rank) for _urgent, due, rank in order[n_urgent:]]
    assert rest == sorted(rest)  # then by due time (none last), then tier
    # leads due sooner than every urgent one are still listed after them
    first_urgent_due = min(due for urgent, due, _rank in order if urgent)
    assert any(due is not None and due < first_urgent_due for _u, due, _rank in order[n_urgent:])


def test_reading_the_queue_costs_the_same_queries_for_any_number_of_leads(tmp_path: Path) -> None:
    from sqlalchemy import event

    from careleads.service.review import read_review_queue

    settings = make_settings(tmp_path, "sqlite")
    engine = make_engine(settings.database_url)
    upgrade(engine)
    ctx, sessions = ServiceContext.from_settings(settings), make_sessionmaker(engine)
    rows = generate(200, seed=12, bad_row_rate=0.0).leads.head(30).to_dict("records")
    counts = []
    for i, row in enumerate(rows):
        lead = {k: v for k, v in row.items() if isinstance(v, str) and v and k != "question"}
        lead["lead_id"], lead["question"] = f"N{i}", URGENT  # every one waits for review
        with session_scope(sessions) as session:
            create_lead(session=session, ctx=ctx, lead_in=lead, actor="t", role="integration")
        if i + 1 in (3, 30):
            statements: list[str] = []

            def count(*args: object, seen: list[str] = statements) -> None:
                seen.append(str(args[2]))

            event.listen(engine, "before_cursor_execute", count)
            with session_scope(sessions) as session:
                page = read_review_queue(session=session, ctx=ctx, actor="a", role="admin", limit=100)
            event.remove(engine, "before_cursor_execute", count)
            assert page.count == i + 1
            counts.append(sum(1 for s in statements if s.lstrip().upper().startswith("SELECT")))
    assert counts[0] == counts[1], counts  # no query per lead

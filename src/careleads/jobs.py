"""The scheduled jobs of careleads (:data:`JOBS`): each calls an existing use case.

The CRM syncs (:func:`careleads.connectors.sync_hubspot`, :func:`~careleads.connectors.sync_salesforce`),
the outbox delivery, the re-score of open leads, monitoring of the export folder with an alert when the
status is act, and retraining through the publish gate. A job whose prerequisite is absent (no CRM
credentials, no webhook, no published model, no export folder) ends ``skipped`` with its reason. Adding a
job is one :class:`~careleads.service.scheduling.Job` in :data:`JOBS` and its setting ``job_<name>_minutes``
in :class:`careleads.settings.Settings`.

The runner, the lease and the records are :mod:`careleads.service.scheduling`'s; the server and the command
line pass :data:`JOBS` to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from careleads.connectors import sync_hubspot, sync_salesforce
from careleads.monitoring import FolderSource, monitor, retrain
from careleads.service.alerts import Alert, send_alert
from careleads.service.outbox import deliver_configured
from careleads.service.rescoring import rescore_open_leads
from careleads.service.scheduling import Job, JobContext, JobFailedError, JobOutcome, skipped
from careleads.store import session_scope

__all__ = ["JOBS"]


def _numbers(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """The counts of a report's dict, flattened (``pull.n_created``), without lists or text."""
    found: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            found.update(_numbers(value, f"{prefix}{key}."))
        elif isinstance(value, bool | int | float):
            found[f"{prefix}{key}"] = value
    return found


def _sync_hubspot(jc: JobContext) -> JobOutcome:
    if not jc.settings.hubspot_token:
        return skipped("CARELEADS_HUBSPOT_TOKEN is not set")
    report = sync_hubspot(settings=jc.settings)
    return JobOutcome(counts=_numbers(report.to_dict()))


def _sync_salesforce(jc: JobContext) -> JobOutcome:
    s = jc.settings
    if not (
        (s.salesforce_instance_url and s.salesforce_session_id)
        or (s.salesforce_username and s.salesforce_password)
    ):
        return skipped("no Salesforce session or login is set (CARELEADS_SALESFORCE_*)")
    report = sync_salesforce(settings=jc.settings)
    return JobOutcome(counts=_numbers(report.to_dict()))


def _deliver_outbox(jc: JobContext) -> JobOutcome:
    if not (jc.settings.webhook_url and jc.settings.webhook_secret):
        return skipped("CARELEADS_WEBHOOK_URL or CARELEADS_WEBHOOK_SECRET is not set")
    with session_scope(jc.sessions) as session:
        report = deliver_configured(session=session, settings=jc.settings, mapping=jc.service.mapping)
    return JobOutcome(counts=report.to_dict())


def _published(jc: JobContext) -> bool:
    return jc.service.scorer.model() is not None


def _rescore_open_leads(jc: JobContext) -> JobOutcome:
    if not _published(jc):
        return skipped(f"no model is published for {jc.settings.target}")
    report = rescore_open_leads(sessions=jc.sessions, ctx=jc.service, now=jc.now)
    if report.n_failed:
        raise JobFailedError(
            f"{report.n_failed} of {report.n_leads} open leads could not be re-scored (lead ids in the log)",
            counts=report.to_dict(),
        )
    return JobOutcome(counts=report.to_dict())


def _monitor(jc: JobContext) -> JobOutcome:
    data_dir = jc.settings.job_data_dir
    if data_dir is None:
        return skipped("CARELEADS_JOB_DATA_DIR is not set")
    if not _published(jc):
        return skipped(f"no model is published for {jc.settings.target}")
    source = FolderSource(data_dir, jc.settings.registry_path(), target=jc.settings.target)
    report = monitor(source, settings=jc.settings.monitor)
    counts: dict[str, Any] = {"status": report.status, "n_alerts_sent": 0}
    if report.status == "act":
        alert = Alert(
            subject=f"careleads monitoring: act ({report.target}, model {report.model_version})",
            lines=report.summary_lines(),
            details={"job": "monitor", "status": report.status, "model_version": report.model_version},
        )
        counts["n_alerts_sent"] = len(send_alert(settings=jc.settings, alert=alert))
    return JobOutcome(counts=counts)


def _retrain(jc: JobContext) -> JobOutcome:
    data_dir = jc.settings.job_data_dir
    if data_dir is None:
        return skipped("CARELEADS_JOB_DATA_DIR is not set")
    result = retrain(
        data_dir, registry_dir=jc.settings.registry_path(), trigger="schedule", settings=jc.settings.monitor
    )
    counts: dict[str, Any] = {"ran": result.ran}
    if result.gate is not None:  # which version the gate judged and whether it now scores leads (audited)
        gate = result.gate
        counts.update(candidate_version=gate.candidate_version, previous_version=gate.previous_version)
        counts.update(_numbers({"published": gate.published, "window": gate.window}))
        counts.update(
            _numbers({"candidate": gate.candidate_metrics, "previous": gate.previous_metrics or {}})
        )
    return JobOutcome(counts=counts, reason=result.why)


#: every scheduled job, in the order a runner looks at them
JOBS: tuple[Job, ...] = (
    Job(
        "sync_hubspot",
        "Pull changed HubSpot contacts, then write scores back (careleads sync hubspot).",
        "job_sync_hubspot_minutes",
        _sync_hubspot,
    ),
    Job(
        "sync_salesforce",
        "Pull changed Salesforce leads, then write scores back (careleads sync salesforce).",
        "job_sync_salesforce_minutes",
        _sync_salesforce,
    ),
    Job(
        "deliver_outbox",
        "Deliver due write-back records to the CRM webhook (careleads outbox deliver).",
        "job_deliver_outbox_minutes",
        _deliver_outbox,
    ),
    Job(
        "rescore_open_leads",
        "Score every lead without an outcome again on what is known now.",
        "job_rescore_open_leads_minutes",
        _rescore_open_leads,
    ),
    Job(
        "monitor",
        "Drift, calibration and tier order on the export folder; an alert when the status is act.",
        "job_monitor_minutes",
        _monitor,
    ),
    Job(
        "retrain",
        "Retrain when the published model is older than its limit, publishing through the gate.",
        "job_retrain_minutes",
        _retrain,
    ),
)

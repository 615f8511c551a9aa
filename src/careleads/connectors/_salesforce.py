"""Salesforce's REST and Bulk API 2.0 through ``simple-salesforce``, with bounded retries.

:class:`SalesforceApi` is the Salesforce connector's one way to Salesforce: Lead records changed since a
moment (SOQL on ``SystemModstamp``, oldest change first, paged through ``nextRecordsUrl``), User ids by
e-mail, and Bulk API 2.0 upserts (create the ingest job, upload the CSV, close it, poll it, then read its
``successfulResults`` and ``failedResults``). A 429 (``REQUEST_LIMIT_EXCEEDED``) waits the ``Retry-After``
seconds Salesforce sends, a 5xx or a lost connection is tried again after a doubling delay; both bounded by
``max_attempts``. An expired session (401 ``INVALID_SESSION_ID``) is never retried with a session id: the
error says how to get a new one (a username/password login gets a new session by itself).
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from careleads.errors import CareleadsError

__all__ = [
    "RecordPage",
    "SalesforceApi",
    "SalesforceAuthError",
    "SalesforceError",
    "SalesforceRecord",
    "UpsertOutcome",
    "soql_moment",
]

log = logging.getLogger("careleads.connectors")
T = TypeVar("T")
_TERMINAL = ("JobComplete", "Failed", "Aborted")


class SalesforceError(CareleadsError):
    """Salesforce refused a request, or kept failing after the retries; the message says what to do."""


class SalesforceAuthError(SalesforceError):
    """Salesforce refused the credentials or the session (expired or invalid)."""


@dataclass(frozen=True)
class SalesforceRecord:
    """A record as a SOQL query returns it: Id, its fields (as sent), its last change (aware UTC) if asked."""

    record_id: str
    fields: dict[str, Any]
    updated_at: datetime | None


@dataclass(frozen=True)
class RecordPage:
    """One page of a query's records and the ``nextRecordsUrl`` of the next (None: the last page)."""

    records: list[SalesforceRecord]
    next_url: str | None
    total: int


@dataclass
class UpsertOutcome:
    """What one Bulk API 2.0 upsert did: the keys Salesforce confirmed and, per key refused, its error."""

    job_id: str
    succeeded: list[str] = field(default_factory=list)
    errors: dict[str, tuple[str, str]] = field(default_factory=dict)


def moment(value: Any) -> datetime:
    """A Salesforce datetime (``2025-03-01T10:00:00.000+0000``) as an aware UTC datetime."""
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def soql_moment(value: datetime) -> str:
    """A SOQL datetime literal, whole seconds rounded down (a record at that second comes again, unchanged).

    Examples
    --------
    >>> soql_moment(datetime(2025, 3, 1, 10, 0, 5, 900_000, tzinfo=UTC))
    '2025-03-01T10:00:05Z'
    """
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error_code(exc: Any) -> str:
    content = getattr(exc, "content", None)
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode") or "")
    return ""


class SalesforceApi:
    """Salesforce's Lead and User records and Bulk API 2.0 upserts through ``simple-salesforce``.

    Parameters
    ----------
    instance_url : str
        The org's address (``https://yourorg.my.salesforce.com``); with `session_id`.
    session_id : str
        A session id or OAuth access token (``CARELEADS_SALESFORCE_SESSION_ID``).
    username, password, security_token : str
        A username/password login instead of a session id (``domain`` ``login`` or ``test``).
    domain : str
        The login domain for a username/password login.
    version : str
        The REST API version.
    max_attempts : int
        Attempts of one request on 429, 5xx and lost connections before :class:`SalesforceError`.
    backoff_seconds : float
        First delay after a 5xx; doubles each time, at most `max_wait_seconds`.
    max_wait_seconds : float
        The longest wait between two attempts (a longer ``Retry-After`` is cut to it).
    poll_seconds : float
        The wait between two looks at a bulk job still in progress.
    sleep : callable
        How to wait (tests pass a recorder).
    session : requests.Session, optional
        The HTTP session (for a proxy or a private certificate authority).
    """

    def __init__(
        self,
        *,
        instance_url: str = "",
        session_id: str = "",
        username: str = "",
        password: str = "",
        security_token: str = "",
        domain: str = "login",
        version: str = "59.0",
        max_attempts: int = 6,
        backoff_seconds: float = 1.0,
        max_wait_seconds: float = 60.0,
        poll_seconds: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        session: Any = None,
    ) -> None:
        import requests
        from simple_salesforce.api import Salesforce
        from simple_salesforce.exceptions import SalesforceAuthenticationFailed

        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.max_wait_seconds = max_wait_seconds
        self.poll_seconds = poll_seconds
        self.sleep = sleep
        self.n_calls = 0
        self.n_retries = 0
        self._retry_after: str | None = None
        http = session if session is not None else requests.Session()
        http.hooks["response"].append(self._remember)
        if session_id and instance_url:
            self.client = Salesforce(
                instance_url=instance_url, session_id=session_id, session=http, version=version
            )
        elif username and password:
            try:
                self.client = Salesforce(
                    username=username,
                    password=password,
                    security_token=security_token,
                    domain=domain,
                    session=http,
                    version=version,
                )
            except SalesforceAuthenticationFailed as exc:
                raise SalesforceAuthError(
                    f"Salesforce refused the login ({exc.code}); check CARELEADS_SALESFORCE_USERNAME, "
                    "CARELEADS_SALESFORCE_PASSWORD and CARELEADS_SALESFORCE_SECURITY_TOKEN"
                ) from None
        else:
            raise SalesforceAuthError(
                "no Salesforce credentials: set CARELEADS_SALESFORCE_INSTANCE_URL and "
                "CARELEADS_SALESFORCE_SESSION_ID, or CARELEADS_SALESFORCE_USERNAME, "
                "CARELEADS_SALESFORCE_PASSWORD and CARELEADS_SALESFORCE_SECURITY_TOKEN"
            )

    def _remember(self, response: Any, *_args: Any, **_kwargs: Any) -> None:
        # simple-salesforce's errors carry no headers; the session's hook keeps the last Retry-After
        self._retry_after = response.headers.get("Retry-After")

    def _call(self, what: str, request: Callable[[], T]) -> T:
        from requests.exceptions import ChunkedEncodingError
        from requests.exceptions import ConnectionError as LostConnection
        from simple_salesforce.exceptions import SalesforceError as ClientError
        from simple_salesforce.exceptions import SalesforceExpiredSession

        delay = self.backoff_seconds
        for attempt in range(1, self.max_attempts + 1):
            self.n_calls += 1
            self._retry_after = None
            try:
                return request()
            except (LostConnection, ChunkedEncodingError) as exc:  # the connection dropped: like a 5xx
                wait, problem, backed_off = delay, type(exc).__name__, True
            except SalesforceExpiredSession:
                raise SalesforceAuthError(
                    f"Salesforce refused the session while {what} (401 INVALID_SESSION_ID: expired or "
                    "invalid); set CARELEADS_SALESFORCE_SESSION_ID to a new session id or access token "
                    "(or CARELEADS_SALESFORCE_USERNAME, _PASSWORD and _SECURITY_TOKEN, which log in again)"
                ) from None
            except ClientError as exc:
                status = int(exc.status or 0)
                if status != 429 and status < 500:
                    raise SalesforceError(
                        f"Salesforce answered {status} {_error_code(exc)} while {what}: "
                        f"{str(exc.content)[:300]}"
                    ) from None
                retry_after = self._wait_asked() if status == 429 else None
                wait, problem = (
                    (delay if retry_after is None else retry_after),
                    f"{status} {_error_code(exc)}",
                )
                backed_off = retry_after is None
            if attempt == self.max_attempts:
                break
            wait = min(wait, self.max_wait_seconds)
            log.warning(
                "Salesforce %s while %s; attempt %d again in %.1f s", problem, what, attempt + 1, wait
            )
            self.n_retries += 1
            self.sleep(wait)
            if backed_off:  # a 429's Retry-After leaves the 5xx delay as it was
                delay = min(delay * 2, self.max_wait_seconds)
        raise SalesforceError(
            f"Salesforce kept failing while {what} ({problem}, {self.max_attempts} attempts); "
            "run the sync again later: it goes on from where it stopped"
        )

    def _wait_asked(self) -> float | None:
        try:
            return None if self._retry_after is None else max(0.0, float(self._retry_after))
        except ValueError:
            return None

    def query_page(self, soql: str, *, next_url: str | None = None, batch_size: int = 2000) -> RecordPage:
        """One page of a SOQL query's records (the first, or the one `next_url` points to)."""
        headers = {"Sforce-Query-Options": f"batchSize={batch_size}"}
        if next_url is None:
            answer = self._call("querying", lambda: self.client.query(soql, headers=headers))
        else:
            url = next_url
            answer = self._call(
                "querying more", lambda: self.client.query_more(url, identifier_is_url=True, headers=headers)
            )
        records = []
        for row in answer.get("records") or []:
            values = {k: v for k, v in row.items() if k != "attributes"}
            changed = (
                values.get("SystemModstamp") or values.get("LastModifiedDate") or values.get("CreatedDate")
            )
            changed_at = None if changed is None else moment(changed)
            records.append(SalesforceRecord(str(values["Id"]), values, changed_at))
        following = None if answer.get("done", True) else answer.get("nextRecordsUrl")
        return RecordPage(records=records, next_url=following, total=int(answer.get("totalSize") or 0))

    def user_ids(self) -> dict[str, str]:
        """Every active Salesforce user's lower-case e-mail -> User Id."""
        out: dict[str, str] = {}
        soql = "SELECT Id, Email FROM User WHERE IsActive = true"
        next_url: str | None = None
        while True:
            page = self.query_page(soql, next_url=next_url)
            for user in page.records:
                email = user.fields.get("Email")
                if email:
                    out[str(email).strip().lower()] = user.record_id
            if page.next_url is None:
                return out
            next_url = page.next_url

    def upsert(
        self, object_name: str, *, external_id_field: str, rows: Sequence[Mapping[str, str]]
    ) -> UpsertOutcome:
        """Upsert `rows` (each with the `external_id_field` column) in one Bulk API 2.0 ingest job.

        The job is created, its CSV uploaded and the job closed, then polled until Salesforce has processed
        it; the answer lists the keys in ``successfulResults`` and, per key, the ``sf__Error`` of
        ``failedResults`` (a row in neither, e.g. unprocessed, is confirmed by neither).
        """
        from simple_salesforce.bulk2 import LineEnding, Operation

        if not rows:
            return UpsertOutcome(job_id="")
        columns = list(rows[0])
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        # the handler's typed client keeps the job id across each step, so a step that fails is retried on
        # the same job and a job Salesforce processed is never uploaded again
        jobs = getattr(self.client.bulk2, object_name)._client
        job = self._call(
            "creating a bulk job",
            lambda: jobs.create_job(
                Operation.upsert, external_id_field=external_id_field, line_ending=LineEnding.LF
            ),
        )
        job_id = str(job["id"])
        self._call("uploading the bulk job's data", lambda: jobs.upload_job_data(job_id, text.getvalue()))
        self._call("closing the bulk job", lambda: jobs.close_job(job_id))
        try:
            info = self._finished(jobs, job_id)
            if info["state"] != "JobComplete":
                failed_job = SalesforceError(
                    f"Salesforce's bulk job {job_id} ended {info['state']}: "
                    f"{str(info.get('errorMessage'))[:300]}; fix the mapping's write_back fields (or the "
                    "org), then run the sync again: records not confirmed are sent again"
                )
            else:
                return self._results(jobs, job_id, external_id_field)
        except SalesforceError as exc:
            # Salesforce runs a closed job whatever happens here: its rows are unconfirmed, not unwritten
            raise SalesforceError(
                f"{exc}. Bulk job {job_id} was closed but its results were not read: its records stay "
                "unconfirmed and the next run sends them again (the same values)"
            ) from None
        raise failed_job

    def _finished(self, jobs: Any, job_id: str) -> Any:
        while True:
            info = self._call("reading the bulk job", lambda: jobs.get_job(job_id, False))
            if info["state"] in _TERMINAL:
                return info
            self.sleep(self.poll_seconds)

    def _results(self, jobs: Any, job_id: str, external_id_field: str) -> UpsertOutcome:
        outcome = UpsertOutcome(job_id=job_id)
        done = self._call(
            "reading the job's successes", lambda: jobs.get_ingest_results(job_id, "successfulResults")
        )
        for row in csv.DictReader(io.StringIO(done)):
            outcome.succeeded.append(row[external_id_field])
        failed = self._call(
            "reading the job's failures", lambda: jobs.get_ingest_results(job_id, "failedResults")
        )
        for row in csv.DictReader(io.StringIO(failed)):
            error = row.get("sf__Error") or ""
            outcome.errors[row[external_id_field]] = (error.split(":", 1)[0] or "failed", error)
        return outcome

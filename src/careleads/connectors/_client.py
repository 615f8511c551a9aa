"""HubSpot's CRM v3 API through the official client (``hubspot-api-client``), with bounded retries.

:class:`HubSpotApi` is the connector's one way to HubSpot: contacts changed since a moment (the search API,
sorted by ``lastmodifieddate`` ascending, paged with ``after``), batch updates of contact properties (at
most 100 records a call; a 207 answer's errors per record), the property group and properties careleads
writes, and owner ids by e-mail. A 429 waits the ``Retry-After`` seconds HubSpot sends, a 5xx (or a lost
connection) is tried again after a doubling delay; both bounded by ``max_attempts``. A 401 (expired or
revoked token) is never retried.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from careleads.errors import CareleadsError

__all__ = [
    "BATCH_LIMIT",
    "DEFAULT_BASE_URL",
    "SEARCH_RESULTS_LIMIT",
    "BatchOutcome",
    "Contact",
    "ContactPage",
    "HubSpotApi",
    "HubSpotAuthError",
    "HubSpotError",
    "PropertySpec",
]

log = logging.getLogger("careleads.connectors")

DEFAULT_BASE_URL = "https://api.hubapi.com"
#: records per batch call (HubSpot's limit)
BATCH_LIMIT = 100
#: HubSpot's search API returns at most this many results for one query; paging further is refused
SEARCH_RESULTS_LIMIT = 10_000
T = TypeVar("T")


class HubSpotError(CareleadsError):
    """HubSpot refused a request, or kept failing after the retries; the message says what to do."""


class HubSpotAuthError(HubSpotError):
    """HubSpot refused the token (401): it expired or was revoked."""


@dataclass(frozen=True)
class Contact:
    """A contact as the search API returns it: record id, properties (text) and its last change."""

    record_id: str
    properties: dict[str, str | None]
    updated_at: datetime  # UTC, aware
    created_at: datetime | None = None


@dataclass(frozen=True)
class ContactPage:
    """One page of search results and the ``after`` cursor of the next (None: the last page)."""

    contacts: list[Contact]
    after: str | None
    total: int


@dataclass(frozen=True)
class PropertySpec:
    """A contact property careleads writes: internal name, label, type and field type."""

    name: str
    label: str
    type: str = "string"
    field_type: str = "text"


@dataclass
class BatchOutcome:
    """What one batch update did: the ids updated and, per record refused, HubSpot's status and message."""

    updated: list[str] = field(default_factory=list)
    errors: dict[str, tuple[str, str]] = field(default_factory=dict)


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status", None)
    try:
        return None if status is None else int(status)
    except (TypeError, ValueError):
        return None


def _retry_after(exc: BaseException) -> float | None:
    headers = getattr(exc, "headers", None)
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return None if value is None else max(0.0, float(value))
    except (TypeError, ValueError):
        return None


def _moment(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class HubSpotApi:
    """HubSpot's contacts, properties and owners through the official client, with bounded retries.

    Parameters
    ----------
    access_token : str
        A private app's access token (``CARELEADS_HUBSPOT_TOKEN``).
    base_url : str
        HubSpot's API address; a local stand-in in tests.
    max_attempts : int
        Attempts of one request on 429 and 5xx answers before :class:`HubSpotError`.
    backoff_seconds : float
        First delay after a 5xx; doubles each time, at most `max_wait_seconds`.
    max_wait_seconds : float
        The longest wait between two attempts (a longer ``Retry-After`` is cut to it).
    sleep : callable
        How to wait (tests pass a recorder).
    """

    def __init__(
        self,
        *,
        access_token: str,
        base_url: str = DEFAULT_BASE_URL,
        max_attempts: int = 6,
        backoff_seconds: float = 1.0,
        max_wait_seconds: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not access_token:
            raise HubSpotAuthError("no HubSpot token: set CARELEADS_HUBSPOT_TOKEN to a private app's token")
        from hubspot import HubSpot

        self.client = HubSpot(access_token=access_token, host=base_url.rstrip("/"))
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.max_wait_seconds = max_wait_seconds
        self.sleep = sleep
        self.n_calls = 0
        self.n_retries = 0

    def _call(self, what: str, request: Callable[[], T]) -> T:
        from urllib3.exceptions import HTTPError as TransportError

        delay = self.backoff_seconds
        for attempt in range(1, self.max_attempts + 1):
            self.n_calls += 1
            try:
                return request()
            except TransportError as exc:  # the connection dropped: like a 5xx
                wait, problem, backed_off = delay, type(exc).__name__, True
            except Exception as exc:
                status = _status(exc)
                if status is None:
                    raise
                if status == 401:
                    raise HubSpotAuthError(
                        f"HubSpot refused the token while {what} (401: expired or revoked); "
                        "set CARELEADS_HUBSPOT_TOKEN to a valid private app token"
                    ) from None
                if status != 429 and status < 500:
                    raise HubSpotError(
                        f"HubSpot answered {status} while {what}: {str(getattr(exc, 'body', ''))[:300]}"
                    ) from None
                retry_after = _retry_after(exc) if status == 429 else None
                wait, problem = (delay if retry_after is None else retry_after), str(status)
                backed_off = retry_after is None
            if attempt == self.max_attempts:
                break
            wait = min(wait, self.max_wait_seconds)
            log.warning("HubSpot %s while %s; attempt %d again in %.1f s", problem, what, attempt + 1, wait)
            self.n_retries += 1
            self.sleep(wait)
            if backed_off:  # a 429's Retry-After leaves the 5xx delay as it was
                delay = min(delay * 2, self.max_wait_seconds)
        raise HubSpotError(
            f"HubSpot kept failing while {what} ({problem}, {self.max_attempts} attempts); "
            "run the sync again later: it goes on from where it stopped"
        )

    def search_contacts(
        self, *, since: datetime | None, properties: Sequence[str], after: str | None = None, limit: int = 100
    ) -> ContactPage:
        """Contacts changed at or after `since` (all without it), oldest change first; one page."""
        from hubspot.crm.contacts import PublicObjectSearchRequest

        filters = []
        if since is not None:
            millis = int(since.astimezone(UTC).timestamp() * 1000)
            filters = [
                {"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(millis)}]}
            ]
        request = PublicObjectSearchRequest(
            filter_groups=filters,
            sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
            properties=sorted({*properties, "lastmodifieddate", "createdate"}),
            limit=limit,
            after=after,
        )
        page = self._call(
            "searching contacts",
            lambda: self.client.crm.contacts.search_api.do_search(public_object_search_request=request),
        )
        contacts = []
        for item in page.results or []:
            props = dict(item.properties or {})
            changed = _moment(props.get("lastmodifieddate")) or _moment(item.updated_at)
            assert changed is not None
            contacts.append(Contact(str(item.id), props, changed, _moment(item.created_at)))
        paging = getattr(page, "paging", None)
        following = getattr(paging, "next", None) if paging is not None else None
        after_next = getattr(following, "after", None) if following is not None else None
        return ContactPage(contacts=contacts, after=after_next, total=int(page.total or 0))

    def update_contacts(self, updates: Mapping[str, Mapping[str, str]]) -> BatchOutcome:
        """Set properties of up to 100 contacts (record id -> properties) in one call."""
        from hubspot.crm.contacts import BatchInputSimplePublicObjectBatchInput, SimplePublicObjectBatchInput

        if len(updates) > BATCH_LIMIT:
            raise ValueError(f"at most {BATCH_LIMIT} records per batch, got {len(updates)}")
        inputs = [
            SimplePublicObjectBatchInput(id=rid, properties=dict(props)) for rid, props in updates.items()
        ]
        body = BatchInputSimplePublicObjectBatchInput(inputs=inputs)
        answer = self._call(
            "updating contacts",
            lambda: self.client.crm.contacts.batch_api.update(
                batch_input_simple_public_object_batch_input=body
            ),
        )
        outcome = BatchOutcome(updated=[str(r.id) for r in answer.results or []])
        for error in getattr(answer, "errors", None) or []:
            context = error.context or {}
            for rid in context.get("ids") or context.get("id") or []:
                outcome.errors[str(rid)] = (str(error.status), str(error.message))
        return outcome

    def missing_properties(
        self, specs: Sequence[PropertySpec], *, group: str
    ) -> tuple[bool, list[PropertySpec]]:
        """Whether the contact property group `group` is missing, and the properties of `specs` missing."""
        groups = self._call(
            "reading property groups",
            lambda: self.client.crm.properties.groups_api.get_all(object_type="contacts"),
        )
        has_group = any(g.name == group for g in groups.results or [])
        existing = self._call(
            "reading properties", lambda: self.client.crm.properties.core_api.get_all(object_type="contacts")
        )
        names = {p.name for p in existing.results or []}
        return not has_group, [s for s in specs if s.name not in names]

    def create_properties(
        self, specs: Sequence[PropertySpec], *, group: str, group_label: str, create_group: bool
    ) -> None:
        """Create the contact property group (when `create_group`) and the properties `specs` in it."""
        from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate

        if create_group:
            body = PropertyGroupCreate(name=group, label=group_label)
            self._call(
                "creating the property group",
                lambda: self.client.crm.properties.groups_api.create(
                    object_type="contacts", property_group_create=body
                ),
            )
        for spec in specs:
            create = PropertyCreate(
                name=spec.name, label=spec.label, type=spec.type, field_type=spec.field_type, group_name=group
            )
            core_api = self.client.crm.properties.core_api
            self._call(
                f"creating property {spec.name}", functools.partial(core_api.create, "contacts", create)
            )

    def owner_ids(self) -> dict[str, str]:
        """Every HubSpot owner's lower-case e-mail -> owner id."""
        out: dict[str, str] = {}
        after: str | None = None
        while True:
            owners_api = self.client.crm.owners.owners_api
            page = self._call(
                "reading owners", functools.partial(owners_api.get_page, limit=100, after=after)
            )
            for owner in page.results or []:
                if owner.email:
                    out[str(owner.email).strip().lower()] = str(owner.id)
            paging = getattr(page, "paging", None)
            following = getattr(paging, "next", None) if paging is not None else None
            after = getattr(following, "after", None) if following is not None else None
            if not after:
                return out

"""The web pages without a browser: escaping of hostile text, CSRF, sessions, roles, JSON twins, forms."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from _service_support import Service, publish, trained_model
from _web_support import HOSTILE, add_lead, csrf_of, lead_record, sign_in, start_web
from careleads.app import create_app
from careleads.models import ModelRegistry
from careleads.service.rule_edits import config_dir
from careleads.service.users import create_token
from careleads.store import ApiToken, AuditEntry, Feedback, ScoreEntry, session_scope
from careleads.web import install


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Service]:
    yield from start_web(tmp_path)


def _lead(web: Service, n: int = 1, **fields: object) -> int:
    body = add_lead(web.client, web.tokens["integration"], lead_record(n, **fields))
    assert body["decision"]["review_required"], "the test lead should land in the review queue"
    lead_id: int = body["id"]
    return lead_id


def _audit(web: Service, action: str) -> list[AuditEntry]:
    with web.sessions() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_hostile_free_text_is_escaped_on_the_queue_and_the_lead_page(web: Service) -> None:
    lead_id = _lead(web)
    sign_in(web.client, web.tokens["reviewer"])
    for url in ("/ui/queue", f"/ui/leads/{lead_id}"):
        html = web.client.get(url).text
        assert "<script>alert(1)</script>" not in html
        assert "<b onmouseover" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "&lt;img src=x onerror=alert(3)&gt;" in html
        assert "&#34;quoted&#34; &amp; more" in html
        assert "<script" not in html  # the pages have no script at all
    # the text really is there, unescaped, in the JSON twin (so the checks above test escaping, not absence)
    twin = web.client.get(f"/ui/leads/{lead_id}.json").json()
    assert twin["lead"]["texts"]["question"] == HOSTILE
    queue = web.client.get("/ui/queue.json").json()
    assert queue["items"][0]["question"] == HOSTILE


def test_contact_details_follow_the_api_rules(web: Service) -> None:
    lead_id = _lead(web)
    sign_in(web.client, web.tokens["reviewer"])
    assert "ottoline1@example.org" in web.client.get(f"/ui/leads/{lead_id}").text
    sign_in(web.client, web.tokens["analyst"])
    page = web.client.get(f"/ui/leads/{lead_id}")
    assert page.status_code == 200
    assert "ottoline1@example.org" not in page.text and "Ottoline" not in page.text
    assert "knee pain" not in page.text  # analysts get the pseudonymised view: no free text
    assert [e.details for e in _audit(web, "lead.read")][-1] == json.dumps(
        {"contact_shown": False, "n_ledger": 1}, separators=(",", ":"), sort_keys=True
    )


def test_every_post_needs_the_session_csrf_token(web: Service) -> None:
    lead_id = _lead(web)
    client = web.client
    # sign-in itself: without the form's token it is refused
    refused = client.post("/ui/login", data={"token": web.tokens["admin"]}, follow_redirects=False)
    assert refused.status_code == 403
    csrf = sign_in(client, web.tokens["admin"])
    url = f"/ui/leads/{lead_id}/feedback"
    for data, headers in (
        ({"label": "scheduled"}, {}),
        ({"label": "scheduled", "csrf_token": "forged"}, {}),
        ({"label": "scheduled", "csrf_token": csrf}, {"Origin": "https://evil.example"}),
    ):
        response = client.post(url, data=data, headers=headers, follow_redirects=False)
        assert response.status_code == 403, response.text
        assert "reload the page" in response.text
    # a bearer token does not replace the CSRF token on forms
    bare = client.post(
        url, data={"label": "scheduled"}, headers={"Authorization": f"Bearer {web.tokens['admin']}"}
    )
    assert bare.status_code == 403
    with web.sessions() as session:
        assert session.scalars(select(Feedback)).all() == []
    ok = client.post(url, data={"label": "scheduled", "csrf_token": csrf}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == f"/ui/leads/{lead_id}?done=feedback"
    with web.sessions() as session:
        assert [f.label for f in session.scalars(select(Feedback))] == ["scheduled"]


def test_roles_are_checked_like_the_api(web: Service) -> None:
    client = web.client
    sign_in(client, web.tokens["reviewer"])
    page = client.get("/ui/models")
    assert page.status_code == 403
    assert "text/html" in page.headers["content-type"] and "Not allowed" in page.text
    assert client.get("/ui/models.json").status_code == 403
    assert client.get("/ui/rules").status_code == 403
    assert 'href="/ui/models"' not in client.get("/ui/queue").text  # not offered in the menu either
    sign_in(client, web.tokens["analyst"])
    assert client.get("/ui/queue").status_code == 403
    assert client.get("/ui/models").status_code == 200
    sign_in(client, web.tokens["auditor"])
    landing = client.get("/ui/", follow_redirects=False)
    assert landing.headers["location"] == "/ui/audit"  # the audit log is an auditor's page
    assert client.get("/ui/dashboard").status_code == 403


def test_without_a_session_pages_ask_to_sign_in(web: Service) -> None:
    client = web.client
    page = client.get("/ui/queue?tier=A", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/ui/login?next=/ui/queue%3Ftier%3DA"
    assert client.get("/ui/queue.json").status_code == 401
    assert client.get("/", follow_redirects=False).headers["location"] == "/ui/"
    # the sign-in form sends the user back where they wanted to go, but never off the site
    login = client.get("/ui/login?next=/ui/queue%3Ftier%3DA")
    response = client.post(
        "/ui/login",
        data={"token": web.tokens["reviewer"], "csrf_token": csrf_of(login.text), "next": "/ui/queue?tier=A"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/ui/queue?tier=A"
    login = client.get("/ui/login")
    evil = client.post(
        "/ui/login",
        data={"token": web.tokens["reviewer"], "csrf_token": csrf_of(login.text), "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert evil.headers["location"] == "/ui/queue"


def test_session_cookie_and_security_headers(web: Service) -> None:
    client = web.client
    login = client.get("/ui/login")
    for name, value in (
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        ("cache-control", "no-store"),
    ):
        assert login.headers[name] == value
    csp = login.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
    wrong = client.post("/ui/login", data={"token": "clk_nope", "csrf_token": csrf_of(login.text)})
    assert wrong.status_code == 401 and "unknown, revoked or mistyped" in wrong.text
    page = client.get("/ui/login")
    response = client.post(
        "/ui/login",
        data={"token": web.tokens["admin"], "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/ui" in cookie
    assert web.tokens["admin"].lower() not in cookie  # the token never travels in the cookie
    assert client.get("/ui/queue").status_code == 200
    assert "content-security-policy" not in client.get("/v1/health").headers  # the API's docs keep theirs
    # a tampered cookie is no session
    session_cookie = client.cookies.get("careleads_session", path="/ui")
    assert session_cookie
    client.cookies.clear()
    client.cookies.set("careleads_session", session_cookie[:-8] + "AAAAAAA=", path="/ui")
    assert client.get("/ui/queue", follow_redirects=False).status_code == 303
    # revoking the API token ends the web session
    sign_in(client, web.tokens["admin"])
    with web.sessions() as session, session.begin():
        session.execute(update(ApiToken).values(revoked=True))
    assert client.get("/ui/queue", follow_redirects=False).status_code == 303
    # sign-out (a form with the CSRF token) removes the cookie and is audited
    with session_scope(web.sessions) as session:
        token = create_token(session=session, user_name="admin-user")
    csrf = sign_in(client, token)
    saved = [c.value for c in client.cookies.jar if c.name == "careleads_session"][-1]  # a copy kept
    out = client.post("/ui/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/ui/login?done=signed_out"
    assert client.get("/ui/queue", follow_redirects=False).status_code == 303
    # the session ended on the server: the saved copy of the cookie no longer signs anyone in
    client.cookies.clear()
    client.cookies.set("careleads_session", str(saved), path="/ui")
    assert client.get("/ui/queue", follow_redirects=False).status_code == 303
    assert len(_audit(web, "web.sign_out")) == 1 and len(_audit(web, "web.sign_in")) >= 2


def test_queue_filters_counts_and_owners(web: Service) -> None:
    first = _lead(web, 1)
    second = _lead(web, 2, region="south", service_line="Cardio")
    sign_in(web.client, web.tokens["admin"])
    everything = web.client.get("/ui/queue.json").json()
    assert everything["counts"]["total"] == 2 and {i["lead_id"] for i in everything["items"]} == {
        first,
        second,
    }
    assert sum(everything["counts"]["by_owner"].values()) == 2
    south = web.client.get("/ui/queue.json?region=south").json()
    assert [i["lead_id"] for i in south["items"]] == [second] and south["counts"]["total"] == 2
    assert web.client.get("/ui/queue.json?overdue=true").json()["items"] == []
    html = web.client.get("/ui/queue?region=south").text
    assert f'href="/ui/leads/{second}"' in html and f'href="/ui/leads/{first}"' not in html
    assert '<option value="south" selected>' in html
    # the same twin with Accept and a bearer token
    twin = web.client.get(
        "/ui/queue",
        headers={"Accept": "application/json", "Authorization": f"Bearer {web.tokens['reviewer']}"},
    )
    assert twin.headers["content-type"] == "application/json" and twin.json()["counts"]["total"] == 2


def test_feedback_and_route_change_reach_the_ledger_timeline_and_dashboard(web: Service) -> None:
    lead_id = _lead(web)
    csrf = sign_in(web.client, web.tokens["admin"])
    changed = web.client.post(
        f"/ui/leads/{lead_id}/feedback",
        data={
            "label": "wrong_route",
            "route": "intake_general",
            "note": "call Ottoline back on 555-300-1001",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert changed.headers["location"] == f"/ui/leads/{lead_id}?done=route"
    page = web.client.get(changed.headers["location"])
    assert "Route changed." in page.text
    twin = web.client.get(f"/ui/leads/{lead_id}.json").json()
    assert [e["change_reason"] for e in twin["lead"]["ledger"]] == [
        "created",
        "reviewer admin-user changed the route",
    ]
    assert twin["lead"]["decision"]["route"]["queue"] == "intake_general"
    feedback = [t for t in twin["timeline"] if t["kind"] == "feedback"]
    assert feedback[0]["what"] == "wrong_route" and "Ottoline" not in feedback[0]["text"]
    assert "300-1001" not in feedback[0]["text"]
    with web.sessions() as session:
        assert len(session.scalars(select(ScoreEntry).where(ScoreEntry.lead_id == lead_id)).all()) == 2
    board = web.client.get("/ui/dashboard.json").json()
    assert board["n_leads"] == 1 and board["feedback_counts"] == {"wrong_route": 1}
    html = web.client.get("/ui/dashboard").text
    assert html.count("data:image/svg+xml;base64,") >= 4 and "wrong route: 1" in html
    bad = web.client.post(
        f"/ui/leads/{lead_id}/feedback", data={"label": "maybe", "csrf_token": csrf}, follow_redirects=False
    )
    assert bad.status_code == 422 and "text/html" in bad.headers["content-type"]


def test_a_reviewer_stays_on_the_lead_they_labelled_or_goes_on_to_the_next(web: Service) -> None:
    lead_id = _lead(web)
    csrf = sign_in(web.client, web.tokens["reviewer"])
    done = web.client.post(
        f"/ui/leads/{lead_id}/feedback",
        data={"label": "scheduled", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.headers["location"] == f"/ui/leads/{lead_id}?done=feedback"
    # the task is closed, yet the reviewer who worked the lead still reads it (and may undo the label)
    page = web.client.get(done.headers["location"])
    assert page.status_code == 200 and "Feedback saved." in page.text and "Undo scheduled" in page.text
    again = web.client.post(f"/ui/leads/{lead_id}/undo", data={"csrf_token": csrf}, follow_redirects=False)
    assert again.headers["location"] == f"/ui/leads/{lead_id}?done=undone&lead={lead_id}"
    # save and next with nothing else in the queue: back to the (empty) queue
    last = web.client.post(
        f"/ui/leads/{lead_id}/feedback",
        data={"label": "scheduled", "csrf_token": csrf, "then": "next"},
        follow_redirects=False,
    )
    assert last.headers["location"] == f"/ui/queue?done=feedback&lead={lead_id}"
    queue = web.client.get(last.headers["location"])
    assert f"Lead {lead_id}: feedback saved." in queue.text and "Nothing to review" in queue.text
    assert web.client.get(f"/ui/leads/{lead_id}").status_code == 200
    assert web.client.get("/ui/leads/99999").status_code == 404
    sign_in(web.client, web.tokens["admin"])
    missing = web.client.get("/ui/leads/99999")
    assert missing.status_code == 404 and "Not found" in missing.text
    assert web.client.get("/ui/leads/1x").status_code == 404
    assert web.client.get("/ui/leads/99999.json").json()["detail"].startswith("no lead with id 99999")


@pytest.fixture
def shipped_web(tmp_path: Path) -> Iterator[Service]:
    yield from start_web(tmp_path, routing_file=None)


def test_rules_are_validated_saved_to_the_config_folder_and_audited(shipped_web: Service) -> None:
    web = shipped_web
    client = web.client
    csrf = sign_in(client, web.tokens["admin"])
    files = {f["kind"]: f for f in client.get("/ui/rules.json").json()["files"]}
    routing = files["routing"]
    assert routing["source"] == "shipped"
    broken = client.post(
        "/ui/rules/routing", data={"text": "routes: [", "action": "save", "csrf_token": csrf}
    )
    assert broken.status_code == 422 and "not valid YAML" in broken.text
    assert not (config_dir(web.settings) / "routing.yaml").exists()
    # removing a route a hard rule forces is caught before saving
    without_clinical = routing["text"].replace("name: default-healthcare-routing", "name: edited-routing")
    without_clinical = without_clinical.replace("  clinical_triage:", "  clinical_triage_renamed:")
    check = client.post(
        "/ui/rules/routing", data={"text": without_clinical, "action": "validate", "csrf_token": csrf}
    )
    assert check.status_code == 422 and "problem" in check.text
    edited = routing["text"].replace("name: default-healthcare-routing", "name: edited-routing")
    checked = client.post(
        "/ui/rules/routing", data={"text": edited, "action": "validate", "csrf_token": csrf}
    )
    assert checked.status_code == 200 and "The text is valid" in checked.text
    saved = client.post(
        "/ui/rules/routing",
        data={"text": edited, "action": "save", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    path = config_dir(web.settings) / "routing.yaml"
    edited = edited.replace(
        "\nversion: 1\n", "\nversion: 2\n", 1
    )  # an edit that kept the version gets the next
    assert path.read_text(encoding="utf-8") == edited
    assert web.ctx.routing.name == "edited-routing"
    from importlib import resources

    shipped = resources.files("careleads").joinpath("data", "routing.yaml").read_text(encoding="utf-8")
    assert "name: default-healthcare-routing" in shipped  # the package file is untouched
    entries = _audit(web, "config.routing.update")
    details = json.loads(entries[0].details)
    assert details["before"] == routing["text"] and details["after"] == edited
    assert (
        client.get("/ui/rules.json")
        .json()["files"][1]["history"][0]["after_label"]
        .startswith("edited-routing")
    )
    # analysts see the YAML but may not change it
    sign_in(client, web.tokens["analyst"])
    view = client.get("/ui/rules")
    assert view.status_code == 200 and "<textarea" not in view.text and "edited-routing" in view.text
    page = client.get("/ui/rules")
    assert (
        client.post("/ui/rules/routing", data={"text": edited, "csrf_token": csrf_of(page.text)}).status_code
        == 403
    )
    # a restarted service keeps the edit
    restarted = create_app(web.settings)
    install(restarted)
    assert restarted.state.ctx.routing.name == "edited-routing"


def test_models_page_publishes_and_rolls_back_for_the_roles_the_api_admits(web: Service) -> None:
    version = publish(web.settings, trained_model())
    registry = ModelRegistry(web.settings.registry_path())
    shutil.copytree(registry.root / version, registry.root / f"{version}-b")
    client = web.client
    csrf = sign_in(client, web.tokens["reviewer"])
    assert client.get("/ui/models").status_code == 403
    assert client.post(f"/ui/models/{version}-b/publish", data={"csrf_token": csrf}).status_code == 403
    sign_in(client, web.tokens["analyst"])  # analysts publish through the API, and so on the page
    page = client.get("/ui/models")
    assert page.status_code == 200 and f"Model card: {version}" in page.text
    assert "data:image/svg+xml;base64," in page.text and "Publish" in page.text
    twin = client.get("/ui/models.json").json()
    assert twin["published_version"] == version and twin["card"]["test_metrics"]["model"]["auc"] > 0.5
    assert twin["may_publish"] is True
    csrf = csrf_of(page.text)
    done = client.post(
        f"/ui/models/{version}-b/publish",
        data={"csrf_token": csrf, "reason": "better calibrated"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert registry.published_version(web.settings.target) == f"{version}-b"
    assert "Model published." in client.get(done.headers["location"]).text
    csrf = sign_in(client, web.tokens["admin"])
    back = client.post(
        "/ui/models/rollback",
        data={"csrf_token": csrf, "reason": "back to the tested one"},
        follow_redirects=False,
    )
    assert back.status_code == 303 and registry.published_version(web.settings.target) == version
    assert client.post("/ui/models/nope/publish", data={"csrf_token": csrf}).status_code == 404
    assert [json.loads(e.details)["after"] for e in _audit(web, "model.publish")] == [f"{version}-b"]
    assert [json.loads(e.details)["after"] for e in _audit(web, "model.rollback")] == [version]


def test_a_page_and_its_api_equivalent_answer_and_audit_alike(web: Service) -> None:
    in_queue, elsewhere = _lead(web, 1), _lead(web, 2)
    admin = {"Authorization": f"Bearer {web.tokens['admin']}"}
    labelled = web.client.post(f"/v1/leads/{elsewhere}/feedback", json={"label": "duplicate"}, headers=admin)
    assert labelled.status_code == 201, labelled.text  # the review task is closed: no longer in the queue
    api = {"Authorization": f"Bearer {web.tokens['reviewer']}"}
    sign_in(web.client, web.tokens["reviewer"])
    # the same lead, the same view: the JSON twin holds the API's answer
    answer = web.client.get(f"/v1/leads/{in_queue}", headers=api).json()
    assert web.client.get(f"/ui/leads/{in_queue}.json").json()["lead"] == answer
    reads = [(e.actor, e.role, e.subject, e.details) for e in _audit(web, "lead.read")]
    assert len(reads) == 2 and reads[0] == reads[1]
    # a lead outside the review queue: refused on both surfaces with the same message
    refused = web.client.get(f"/v1/leads/{elsewhere}", headers=api)
    page = web.client.get(f"/ui/leads/{elsewhere}.json")
    assert refused.status_code == page.status_code == 403
    message = f"lead {elsewhere} is not in the review queue of a queue you work (owner or member)"
    assert refused.json() == page.json() == {"detail": message}


def test_unknown_values_page_maps_a_value_in_one_click_for_admins(web: Service) -> None:
    client, value = web.client, "<b>Podiatry</b> Pop-up"
    ids = [
        add_lead(client, web.tokens["integration"], lead_record(n, service_line=value))["id"]
        for n in range(2)
    ]
    csrf = sign_in(client, web.tokens["reviewer"])
    assert client.get("/ui/unknowns").status_code == 403
    assert "Unknown values" not in client.get("/ui/queue").text  # not in the menu either
    refused = client.post(
        "/ui/unknowns/map",
        data={
            "csrf_token": csrf,
            "field": "service_line",
            "value": value,
            "to": "orthopedics",
        },
    )
    assert refused.status_code == 403
    csrf = sign_in(client, web.tokens["admin"])
    page = client.get("/ui/unknowns")
    assert page.status_code == 200 and "&lt;b&gt;Podiatry&lt;/b&gt; Pop-up" in page.text
    assert "<b>Podiatry" not in page.text and HOSTILE not in page.text
    twin = client.get("/ui/unknowns.json").json()
    assert twin["data"][0]["lead_ids"] == ids and twin["data"][0]["n_leads"] == 2
    no_token = client.post(
        "/ui/unknowns/map",
        data={"field": "service_line", "value": "<b>Podiatry</b> Pop-up", "to": "orthopedics"},
    )
    assert no_token.status_code == 403
    done = client.post(
        "/ui/unknowns/map",
        data={
            "csrf_token": csrf,
            "field": "service_line",
            "value": value,
            "to": "orthopedics",
            "new": "Podiatry",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "2 stored lead(s) read again" in client.get(done.headers["location"]).text
    assert client.get("/ui/unknowns.json").json()["count"] == 0
    assert [json.loads(e.details)["to"] for e in _audit(web, "dictionary.map")] == ["podiatry"]

"""The API's reference at ``/docs``, drawn on the server from the OpenAPI schema (``/openapi.json``).

FastAPI's Swagger UI and ReDoc pages load their scripts from a CDN and stay blank on a network without
one; no copy of those assets is installed with the service. This page needs nothing but the service: every
route with its method, summary, description, parameters and request body, grouped by tag, and a link to
the schema for tools (import it into any OpenAPI viewer or client generator).
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

__all__ = ["DOCS_PATH", "docs_html", "install_docs"]

DOCS_PATH = "/docs"
_METHODS = ("get", "post", "put", "patch", "delete")
_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'"


def _schema_name(schema: dict[str, Any]) -> str:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return ref.rsplit("/", 1)[-1]
    items = schema.get("items")
    if schema.get("type") == "array" and isinstance(items, dict):
        return f"list of {_schema_name(items)}"
    return str(schema.get("type", "object"))


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    anchor = escape(str(op.get("operationId", f"{method}-{path}")), quote=True)
    parts = [
        f'<section class="op" id="{anchor}"><h3><code>{method.upper()} {escape(path)}</code> '
        f"{escape(str(op.get('summary', '')))}</h3>"
    ]
    if op.get("description"):
        parts.append(f"<p>{escape(str(op['description'])).replace(chr(10) + chr(10), '</p><p>')}</p>")
    params = op.get("parameters") or []
    if params:
        rows = "".join(
            f"<tr><td><code>{escape(str(p.get('name')))}</code></td><td>{escape(str(p.get('in')))}</td>"
            f"<td>{'yes' if p.get('required') else 'no'}</td>"
            f"<td>{escape(str(p.get('description', '')))}</td></tr>"
            for p in params
        )
        parts.append(
            "<table><thead><tr><th>Parameter</th><th>In</th><th>Required</th><th>Description</th></tr>"
            f"</thead><tbody>{rows}</tbody></table>"
        )
    body = op.get("requestBody", {}).get("content", {})
    for media, content in body.items():
        parts.append(f"<p>Body ({escape(media)}): {escape(_schema_name(content.get('schema', {})))}</p>")
    answers = ", ".join(escape(str(code)) for code in op.get("responses", {}))
    if answers:
        parts.append(f"<p>Answers: {answers}</p>")
    parts.append("</section>")
    return "".join(parts)


def docs_html(schema: dict[str, Any]) -> str:
    """The reference page for an OpenAPI `schema` (as ``FastAPI.openapi()`` returns it), all text escaped."""
    info = schema.get("info", {})
    by_tag: dict[str, list[str]] = {}
    for path, item in schema.get("paths", {}).items():
        for method in _METHODS:
            if method in item:
                tag = str((item[method].get("tags") or ["other"])[0])
                by_tag.setdefault(tag, []).append(_operation(path, method, item[method]))
    toc = "".join(f'<li><a href="#tag-{escape(t, quote=True)}">{escape(t)}</a></li>' for t in by_tag)
    sections = "".join(
        f'<section id="tag-{escape(t, quote=True)}"><h2>{escape(t)}</h2>{"".join(ops)}</section>'
        for t, ops in by_tag.items()
    )
    title = f"{info.get('title', 'API')} {info.get('version', '')}".strip()
    description = escape(str(info.get("description", ""))).strip().replace("\n\n", "</p><p>")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}: API reference</title></head><body><main>"
        f"<h1>{escape(title)}: API reference</h1><p>{description}</p>"
        '<p>The machine-readable schema: <a href="/openapi.json">/openapi.json</a> (OpenAPI; import it into '
        "any OpenAPI viewer or client generator).</p>"
        f'<nav aria-label="Resources"><ul>{toc}</ul></nav>{sections}</main></body></html>'
    )


def install_docs(app: FastAPI) -> None:
    """Serve :func:`docs_html` of the app's schema at ``/docs`` (the app is built with ``docs_url=None``)."""

    def api_docs() -> HTMLResponse:
        return HTMLResponse(docs_html(app.openapi()), headers={"Content-Security-Policy": _CSP})

    app.add_api_route(DOCS_PATH, api_docs, methods=["GET"], include_in_schema=False, name="api_docs")

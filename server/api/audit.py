"""``GET /api/admin/audit``: the audit log as JSON or CSV (administrators)."""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import Response

from server.api.accounts import no_store
from server.api.session import require_admin
from server.audit import Audit, event_json, events_csv
from server.errors import BadRequest
from server.storage.audit_base import AuditQuery

MAX_EVENTS = 100_000
DEFAULT_EVENTS = 1000


def _time(request: Request, name: str) -> float | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        raise BadRequest(f"{name} must be a Unix time in seconds") from None
    if not math.isfinite(number):
        raise BadRequest(f"{name} must be a Unix time in seconds")
    return number


async def audit_log(request: Request) -> Response:
    await require_admin(request)
    params = request.query_params
    limit_text = params.get("limit", str(DEFAULT_EVENTS))
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_EVENTS:
        raise BadRequest(f"limit must be an integer from 1 to {MAX_EVENTS}")
    query = AuditQuery(
        type=params.get("type") or None,
        since=_time(request, "since"),
        until=_time(request, "until"),
        account=params.get("account") or None,
        limit=int(limit_text),
    )
    audit: Audit = request.app.state.audit
    events = await audit.events(query)
    if params.get("format") == "csv":
        return Response(
            events_csv(events).encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={
                "Cache-Control": "no-store",
                "Content-Disposition": 'attachment; filename="sealpost-audit.csv"',
            },
        )
    if params.get("format") not in (None, "", "json"):
        raise BadRequest("format must be json or csv")
    return no_store({"events": [event_json(e) for e in events]})

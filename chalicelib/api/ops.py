"""Operations: health."""

from __future__ import annotations

import logging

from chalice import Blueprint, Response

from chalicelib.api.errors import STATUS
from chalicelib.bootstrap import deps
from chalicelib.domain.errors import ServiceUnavailable

log = logging.getLogger(__name__)
bp = Blueprint(__name__)


@bp.route("/healthz", methods=["GET"])
def healthz() -> Response:
    """200 once the app can reach its stores (DynamoDB and the S3 archive)."""
    d = deps()
    try:
        d.units.get("__healthz__")
        d.archive.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means: not healthy
        log.error("health check failed: %s", exc)
        return Response(body={"status": "unavailable"}, status_code=STATUS[ServiceUnavailable])
    return Response(body={"status": "ok"}, status_code=200)

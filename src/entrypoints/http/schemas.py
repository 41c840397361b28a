"""msgspec shapes of what the HTTP API answers."""

from __future__ import annotations

from typing import Any

import msgspec


class ErrorDetail(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    code: str
    message: str
    details: dict[str, Any] = msgspec.field(default_factory=dict)


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """SPEC §4: every error is ``{"error": {"code", "message", "details"}}``."""

    error: ErrorDetail


class HealthStatus(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    status: str
    pid: int | None = None  # /healthz: which process answered (several share a port)

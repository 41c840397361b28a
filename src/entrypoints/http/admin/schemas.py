"""msgspec shapes of the session endpoints (login, me). Other resources keep theirs beside
their controllers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from domain.administrator import MAX_PASSWORD_LENGTH


class LoginRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PASSWORD_LENGTH)]


class LoginResponse(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a scheme name
    expires_at: datetime
    role: Literal["admin", "viewer"]


class OperatorResponse(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``GET /api/me``."""

    username: str
    role: Literal["admin", "viewer"]

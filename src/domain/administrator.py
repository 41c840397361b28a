"""Administrators (SPEC §10): operator accounts with a role, stored with a slow salted hash."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime

from domain.errors import InvalidRequest

USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")  # the table's CHECK says the same
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # scrypt takes anything; a cap keeps a login request cheap to refuse


class Role(enum.StrEnum):
    """``admin`` may do everything; ``viewer`` only reads (no changes, no template downloads,
    no password rotation)."""

    ADMIN = "admin"
    VIEWER = "viewer"


@dataclass(frozen=True, slots=True)
class Administrator:
    username: str
    role: Role
    created_at: datetime
    password_hash: str = field(repr=False)
    last_login_at: datetime | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def validate_username(username: str) -> str:
    """Lower-case letters, digits, ``.``, ``_`` and ``-``; 1–64 characters, starting with a
    letter or digit (safe in logs, URLs and the audit trail)."""
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidRequest(
            "a username is 1-64 lower-case letters, digits, '.', '_' or '-', starting with a "
            "letter or digit",
            {"field": "username"},
        )
    return username


def validate_new_password(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidRequest(
            f"an administrator password needs {MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH} "
            "characters",
            {"field": "password"},
        )
    return password


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidRequest(
            f"role must be one of {', '.join(r.value for r in Role)}, got {value!r}",
            {"field": "role"},
        ) from None

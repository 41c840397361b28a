"""The one hierarchy of business errors; each carries its SPEC §4 error code.

The HTTP layer maps ``code`` to a status in one place; the CLI prints ``message``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class PhotoChangerError(Exception):
    """Base of every error the service reports to a caller."""

    code = "internal_error"

    def __init__(self, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})


class InvalidRequest(PhotoChangerError):
    code = "invalid_request"


class InvalidPassword(PhotoChangerError):
    code = "invalid_password"


class SlotNotFound(PhotoChangerError):
    code = "slot_not_found"


class NotFound(PhotoChangerError):
    """A job, result or public link that does not exist."""

    code = "not_found"


class Gone(PhotoChangerError):
    """A result or public link that existed but has expired or was purged."""

    code = "gone"


class PayloadTooLarge(PhotoChangerError):
    code = "payload_too_large"


class UnsupportedMediaType(PhotoChangerError):
    code = "unsupported_media_type"


class RateLimited(PhotoChangerError):
    code = "rate_limited"

    def __init__(
        self, message: str, retry_after: int, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message, {**(details or {}), "retry_after": retry_after})
        self.retry_after = retry_after


class ProviderFailed(PhotoChangerError):
    """The provider answered with an error or an unusable result."""

    code = "provider_error"


class ServiceUnavailable(PhotoChangerError):
    """Database or storage cannot be reached."""

    code = "service_unavailable"


class StorageUnavailable(ServiceUnavailable):
    """A write to the media storage failed for lack of space or permission: retrying will not
    help until an operator frees space or fixes the mount, so it is reported at once."""


class DeadlineExpired(PhotoChangerError):
    code = "timeout"


class InvalidConfiguration(PhotoChangerError):
    """A slot or setting change that breaks a rule (range, required field, unknown provider)."""

    code = "invalid_configuration"


class ConcurrentModification(PhotoChangerError):
    """Optimistic locking lost: someone changed the row since it was read."""

    code = "conflict"


class JobAlreadyFinalized(PhotoChangerError):
    """A finalized job never becomes active again."""

    code = "job_finalized"


class InvalidCredentials(PhotoChangerError):
    """Login refused: unknown username or wrong password (never says which)."""

    code = "invalid_credentials"


class Unauthorized(PhotoChangerError):
    """No valid operator session or token."""

    code = "unauthorized"


class Forbidden(PhotoChangerError):
    """The operator's role does not allow this."""

    code = "forbidden"


class AdministratorExists(PhotoChangerError):
    code = "conflict"


class LastAdministrator(PhotoChangerError):
    """Removing (or demoting) the last ``admin`` would lock everybody out."""

    code = "conflict"


class JobCancelled(PhotoChangerError):
    """An administrator cancelled the job the request was waiting for."""

    code = "cancelled"


class TemplateInUse(InvalidConfiguration):
    """A template an active slot still uses cannot be removed (the CLI may force it)."""

    code = "conflict"


class ValidationFailed(PhotoChangerError):
    """A change broke one or more rules; ``details.fields`` maps each field to its problem."""

    code = "validation_error"

    def __init__(self, message: str, fields: Mapping[str, str]) -> None:
        super().__init__(message, {"fields": dict(fields)})

"""The Turbotext wire protocol (SPEC §8) as pure functions: forms out, answers in.

Kept apart from the HTTP adapter so every field name, encoding and answer shape can be tested
without a socket, and so the fake server in the tests and the adapter cannot drift apart
silently: both are checked against the same recorded payloads.

Turbotext downloads its inputs itself, so a job's photo and templates arrive here as public
URLs; an answer it gives is either "reconnect" (not ready), a result URL, or an error text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from domain.errors import ProviderFailed

STYLE_TEMPLATE = "style_template_id"
FACE_TEMPLATE = "face_template_id"

# Our operation -> Turbotext's method (the last path segment of ``/api_ai/{method}``).
METHODS: Mapping[str, str] = {
    "image_edit": "generate_image2image",
    "style_transfer": "mix_images",
    "identity_transfer": "deepfake_photo",
}

# image_edit settings passed through unchanged when set: setting name -> Turbotext field.
_IMAGE_EDIT_INTS = ("strength", "seed", "scale")
_IMAGE_EDIT_TEXTS = ("negative_prompt", "original_language")

ERROR_TEXT_LIMIT = 300
URL_LENGTH_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Reconnect:
    """get_result: the job is still running; ask again later."""


@dataclass(frozen=True, slots=True)
class Ready:
    """get_result: the result image can be downloaded from ``url`` (already validated)."""

    url: str
    data: Mapping[str, Any] = field(default_factory=dict)


def method_for(operation: str) -> str:
    """Turbotext's method name for one of our operations."""
    try:
        return METHODS[operation]
    except KeyError:
        known = ", ".join(sorted(METHODS))
        raise ProviderFailed(
            f"turbotext has no operation {operation!r} (known: {known})",
            {"operation": operation},
        ) from None


def create_queue_form(
    operation: str,
    settings: Mapping[str, Any],
    *,
    photo_url: str | None,
    template_urls: Mapping[str, str | None],
) -> dict[str, str]:
    """The ``do=create_queue`` form for ``operation``: the photo and template links plus the
    settings Turbotext understands; optional settings are sent only when set."""
    method = method_for(operation)
    photo = _input_url(photo_url, "photo")
    form = {"do": "create_queue"}
    if method == "generate_image2image":
        form["url"] = photo
        form["content"] = _text(settings, "prompt", required=True) or ""
        for name in _IMAGE_EDIT_INTS:
            value = _integer(settings, name)
            if value is not None:
                form[name] = value
        for name in _IMAGE_EDIT_TEXTS:
            text = _text(settings, name, required=False)
            if text is not None:
                form[name] = text
    elif method == "mix_images":
        form["url_image_target"] = photo  # the booth photo receives the style
        form["url"] = _input_url(template_urls.get(STYLE_TEMPLATE), "style template")
        form["content"] = _text(settings, "prompt", required=True) or ""
    else:  # deepfake_photo
        form["url"] = _input_url(template_urls.get(FACE_TEMPLATE), "face template")
        form["url_image_target"] = photo  # the booth photo receives the face
        restore = settings.get("face_restore")
        if restore is not None:
            if not isinstance(restore, bool):
                raise ProviderFailed(
                    "setting 'face_restore' must be true or false", {"setting": "face_restore"}
                )
            form["face_restore"] = "1" if restore else "0"
    return form


def get_result_form(queueid: int) -> dict[str, str]:
    """The ``do=get_result`` poll for one queued job (sent to the same method path)."""
    return {"do": "get_result", "queueid": str(queueid)}


def parse_create_queue(body: bytes | str) -> int:
    """The queueid of an accepted job; Turbotext's refusal or an unreadable answer fails it."""
    answer = _json_object(body, "create_queue")
    _raise_if_refused(answer, "create_queue")
    if answer.get("success") is not True:
        raise ProviderFailed("turbotext create_queue answer has no success flag")
    queueid = answer.get("queueid")
    if isinstance(queueid, int) and not isinstance(queueid, bool) and queueid > 0:
        return queueid
    if isinstance(queueid, str) and queueid.isascii() and queueid.isdigit():
        number = int(queueid)
        if number > 0:
            return number
    raise ProviderFailed(
        "turbotext create_queue answer has no usable queueid",
        {"queueid": _truncate(repr(queueid), 60)},
    )


def parse_get_result(body: bytes | str) -> Reconnect | Ready:
    """``Reconnect`` while the job runs, ``Ready`` with a checked result URL when done; a
    failed job or an unreadable answer raises ``ProviderFailed`` with Turbotext's text."""
    answer = _json_object(body, "get_result")
    if answer.get("action") == "reconnect":
        return Reconnect()
    _raise_if_refused(answer, "get_result")
    if answer.get("success") is not True:
        raise ProviderFailed("turbotext get_result answer is neither ready nor reconnect")
    url = validate_result_url(answer.get("uploaded_image"))
    data = answer.get("data")
    return Ready(url=url, data=data if isinstance(data, dict) else {})


def validate_result_url(value: object) -> str:
    """Only an absolute http(s) URL with a host is downloaded: a ``file:``, ``ftp:``,
    ``javascript:`` or relative link from the provider must never be followed."""
    if not isinstance(value, str) or not value.strip():
        raise ProviderFailed("turbotext returned no result URL")
    url = value.strip()
    shown = _truncate(url, 120)
    if len(url) > URL_LENGTH_LIMIT or any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise ProviderFailed("turbotext returned a malformed result URL", {"url": shown})
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise ProviderFailed("turbotext returned a malformed result URL", {"url": shown}) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ProviderFailed("turbotext returned a result URL that is not http(s)", {"url": shown})
    if not host:
        raise ProviderFailed("turbotext returned a result URL without a host", {"url": shown})
    return url


def error_text(body: bytes | str, *, limit: int = ERROR_TEXT_LIMIT) -> str:
    """The human part of an error answer (``error`` or ``message`` of a JSON body, else the
    body itself), on one line and truncated, so it can go into a failure reason."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        for key in ("error", "message", "detail"):
            value = parsed.get(key)
            if isinstance(value, str) and value.strip():
                text = value
                break
    return _truncate(" ".join(text.split()), limit)


def _raise_if_refused(answer: Mapping[str, Any], what: str) -> None:
    if answer.get("success") is False:
        raw = answer.get("error") or answer.get("message")
        reason = _truncate(" ".join(str(raw).split()), ERROR_TEXT_LIMIT) if raw else "no reason"
        raise ProviderFailed(f"turbotext {what} failed: {reason}", {"provider_error": reason})


def _json_object(body: bytes | str, what: str) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except ValueError:
        raise ProviderFailed(
            f"turbotext {what} answer is not JSON", {"body": error_text(body, limit=120)}
        ) from None
    if not isinstance(parsed, dict):
        raise ProviderFailed(f"turbotext {what} answer is not a JSON object")
    return parsed


def _input_url(url: str | None, what: str) -> str:
    """Turbotext fetches every input itself, so each must be an absolute http(s) link."""
    if not url:
        raise ProviderFailed(f"turbotext needs a public URL of the {what}", {"input": what})
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ProviderFailed(
            f"the public URL of the {what} is not an absolute http(s) URL", {"input": what}
        )
    return url


def _text(settings: Mapping[str, Any], name: str, *, required: bool) -> str | None:
    value = settings.get(name)
    if value is None:
        if required:
            raise ProviderFailed(f"turbotext needs setting {name!r}", {"setting": name})
        return None
    if not isinstance(value, str) or not value.strip():
        raise ProviderFailed(f"setting {name!r} must be non-empty text", {"setting": name})
    return value


def _integer(settings: Mapping[str, Any], name: str) -> str | None:
    value = settings.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProviderFailed(f"setting {name!r} must be an integer", {"setting": name})
    return str(value)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""Turbotext forms and answers (SPEC §8), checked against real-shaped payloads."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.providers.turbotext_protocol import (
    Ready,
    Reconnect,
    create_queue_form,
    error_text,
    get_result_form,
    method_for,
    parse_create_queue,
    parse_get_result,
    validate_result_url,
)
from domain.errors import ProviderFailed
from domain.providers import PROVIDERS

PHOTO = "https://booth.example.com/public/media/6f1c0e2a"
STYLE = "https://booth.example.com/public/media/style-1"
FACE = "https://booth.example.com/public/media/face-1"
TEMPLATES = {"style_template_id": STYLE, "face_template_id": FACE}

# Answers shaped as Turbotext writes them (SPEC §8): compact JSON, non-ASCII text escaped.
CREATED_INT = b'{"success":true,"queueid":4567891}'
CREATED_STR = b'{"success": true, "queueid": "4567891"}'
# "Недостаточно средств" (insufficient funds), escaped as on the wire.
REFUSED = (
    '{"success":false,"error":"\\u041d\\u0435\\u0434\\u043e\\u0441\\u0442\\u0430'
    "\\u0442\\u043e\\u0447\\u043d\\u043e \\u0441\\u0440\\u0435\\u0434\\u0441"
    '\\u0442\\u0432"}'
)
RECONNECT = b'{"action":"reconnect"}'
READY = json.dumps(
    {
        "success": True,
        "uploaded_image": "https://www.turbotext.ru/download.php?f=aa1.png",
        "data": {"image": ["aa1.png"], "width": 1024, "height": 1024},
    }
)


def form(operation: str, settings: dict[str, Any], photo: str | None = PHOTO) -> dict[str, str]:
    return create_queue_form(operation, settings, photo_url=photo, template_urls=TEMPLATES)


def test_method_names_cover_the_catalogue() -> None:
    assert {op: method_for(op) for op in PROVIDERS["turbotext"].operations} == {
        "image_edit": "generate_image2image",
        "style_transfer": "mix_images",
        "identity_transfer": "deepfake_photo",
    }
    with pytest.raises(ProviderFailed, match="no operation 'grayscale'"):
        method_for("grayscale")


def test_image_edit_sends_prompt_and_only_the_options_that_are_set() -> None:
    assert form("image_edit", {"prompt": "make it snow"}) == {
        "do": "create_queue",
        "url": PHOTO,
        "content": "make it snow",
    }


def test_image_edit_passes_every_option_through() -> None:
    settings = {
        "prompt": "neon city",
        "strength": 0,
        "seed": 42,
        "scale": 7,
        "negative_prompt": "blurry",
        "original_language": "ru",
    }
    assert form("image_edit", settings) == {
        "do": "create_queue",
        "url": PHOTO,
        "content": "neon city",
        "strength": "0",  # zero is a value, not "unset"
        "seed": "42",
        "scale": "7",
        "negative_prompt": "blurry",
        "original_language": "ru",
    }


def test_style_transfer_puts_the_photo_in_the_target_and_the_style_in_url() -> None:
    assert form("style_transfer", {"prompt": "oil painting", "style_template_id": "x"}) == {
        "do": "create_queue",
        "url_image_target": PHOTO,
        "url": STYLE,
        "content": "oil painting",
    }


@pytest.mark.parametrize(("restore", "sent"), [(True, "1"), (False, "0")])
def test_identity_transfer_sends_the_face_in_url_and_encodes_face_restore(
    restore: bool, sent: str
) -> None:
    assert form("identity_transfer", {"face_restore": restore}) == {
        "do": "create_queue",
        "url": FACE,
        "url_image_target": PHOTO,
        "face_restore": sent,
    }


def test_identity_transfer_without_face_restore_leaves_it_out() -> None:
    assert "face_restore" not in form("identity_transfer", {})


def test_missing_input_urls_are_refused() -> None:
    with pytest.raises(ProviderFailed, match="public URL of the photo"):
        form("image_edit", {"prompt": "p"}, photo=None)
    with pytest.raises(ProviderFailed, match="style template"):
        create_queue_form("style_transfer", {"prompt": "p"}, photo_url=PHOTO, template_urls={})
    with pytest.raises(ProviderFailed, match="face template"):
        create_queue_form(
            "identity_transfer", {}, photo_url=PHOTO, template_urls={"face_template_id": None}
        )
    with pytest.raises(ProviderFailed, match="absolute http"):
        form("image_edit", {"prompt": "p"}, photo="/public/media/1")


@pytest.mark.parametrize(
    ("operation", "settings", "message"),
    [
        ("image_edit", {}, "needs setting 'prompt'"),
        ("style_transfer", {"prompt": "  "}, "non-empty text"),
        ("image_edit", {"prompt": "p", "strength": "40"}, "integer"),
        ("image_edit", {"prompt": "p", "seed": True}, "integer"),
        ("identity_transfer", {"face_restore": "yes"}, "true or false"),
    ],
)
def test_bad_settings_are_refused(operation: str, settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ProviderFailed, match=message):
        form(operation, settings)


def test_get_result_form() -> None:
    assert get_result_form(4567891) == {"do": "get_result", "queueid": "4567891"}


@pytest.mark.parametrize("body", [CREATED_INT, CREATED_STR, CREATED_STR.decode()])
def test_create_queue_answer_gives_the_queueid(body: bytes | str) -> None:
    assert parse_create_queue(body) == 4567891


def test_create_queue_refusal_carries_turbotexts_text() -> None:
    with pytest.raises(ProviderFailed, match="create_queue failed: Недостаточно средств") as info:
        parse_create_queue(REFUSED)
    assert info.value.details["provider_error"] == "Недостаточно средств"


def test_an_error_may_come_as_message() -> None:
    with pytest.raises(ProviderFailed, match="failed: queue is full"):
        parse_create_queue(b'{"success": false, "message": "queue is full"}')


@pytest.mark.parametrize(
    "body",
    [
        b"<html>502 Bad Gateway</html>",
        b"",
        b"[1, 2]",
        b'{"success": true}',
        b'{"success": true, "queueid": "12a"}',
        b'{"success": true, "queueid": 0}',
        b'{"success": true, "queueid": true}',
        b'{"queueid": 5}',
    ],
)
def test_unusable_create_queue_answers_fail(body: bytes) -> None:
    with pytest.raises(ProviderFailed, match="create_queue"):
        parse_create_queue(body)


def test_get_result_reconnect() -> None:
    assert parse_get_result(RECONNECT) == Reconnect()


def test_get_result_ready_gives_url_and_data() -> None:
    state = parse_get_result(READY)
    assert isinstance(state, Ready)
    assert state.url == "https://www.turbotext.ru/download.php?f=aa1.png"
    assert state.data["width"] == 1024


def test_get_result_failure_carries_turbotexts_text() -> None:
    with pytest.raises(ProviderFailed, match="get_result failed: failed to download image"):
        parse_get_result(b'{"success": false, "error": "failed to download image"}')


@pytest.mark.parametrize(
    "uploaded",
    [
        "ftp://files.turbotext.ru/aa1.png",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "/download.php?f=aa1.png",
        "aa1.png",
        "https:///nohost.png",
        "https://exa mple.com/a.png",
        "",
        None,
        42,
    ],
)
def test_get_result_refuses_result_urls_that_are_not_absolute_http(uploaded: object) -> None:
    body = json.dumps({"success": True, "uploaded_image": uploaded, "data": {}})
    with pytest.raises(ProviderFailed, match="result URL"):
        parse_get_result(body)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/r/1.png", "HTTPS://cdn.example.com/x"])
def test_http_result_urls_are_accepted(url: str) -> None:
    assert validate_result_url(url) == url


@pytest.mark.parametrize(
    "body", [b"not json", b'"reconnect"', b"{}", b'{"success": "yes"}', b'{"action": "wait"}']
)
def test_unusable_get_result_answers_fail(body: bytes) -> None:
    with pytest.raises(ProviderFailed, match="get_result"):
        parse_get_result(body)


def test_error_text_prefers_the_json_error_and_stays_short() -> None:
    assert error_text(b'{"success": false, "error": "Unauthorized"}') == "Unauthorized"
    assert error_text(b'{"message": "slow down"}') == "slow down"
    long = error_text(b"<html>\n" + b"x" * 1000)
    assert len(long) == 300
    assert long.startswith("<html> xxx")
    assert long.endswith("…")

"""Hostile and sloppy booth requests (issue 7): each cause of a former 500 (or a wrong code)
has its regression test here, over a real socket against real PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import logging
import struct
import uuid
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from http_contract import assert_error_body, multipart_body, multipart_headers, part
from PIL import Image
from service_harness import PASSWORD, Service, jpeg_bytes, png_bytes, serve

MB = 1024 * 1024


async def jobs_in_database(svc: Service) -> int:
    async with svc.container.pool().connection() as conn:
        row = await (await conn.execute("SELECT count(*) FROM job")).fetchone()
    assert row is not None
    return int(row[0])


async def post_form(svc: Service, body: bytes, path: str = "/ingest/slot-001") -> Any:
    return await svc.client.post(path, content=body, headers=multipart_headers())


def booth_form(photo: bytes | None = None, *extra: Any, filename: str | None = "p.jpg") -> bytes:
    return multipart_body(
        [
            part("password", PASSWORD),
            part("fileToUpload", jpeg_bytes() if photo is None else photo, filename=filename),
            *extra,
        ]
    )


async def test_a_photo_sent_as_a_plain_field_is_taken(database_url: str, tmp_path: Path) -> None:
    """A booth (or a script) sending ``fileToUpload`` without a filename: binary bytes in a
    "text" part made Litestar's parser raise UnicodeDecodeError (500)."""
    async with serve(database_url, tmp_path) as svc:
        response = await post_form(svc, booth_form(filename=None))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/jpeg"
        job = await svc.container.jobs().get(uuid.UUID(response.headers["x-job-id"]))
        assert job is not None and job.succeeded and job.metadata == {}


async def test_another_binary_field_or_non_utf8_text_is_400_naming_it(
    database_url: str, tmp_path: Path
) -> None:
    async with serve(database_url, tmp_path) as svc:
        binary = await post_form(svc, booth_form(None, part("thumbnail", jpeg_bytes())))
        error = assert_error_body(binary, 400, "invalid_request")
        assert error["details"] == {"field": "thumbnail"}
        assert "thumbnail" in error["message"]

        latin1 = await post_form(svc, booth_form(None, part("event", "Fête".encode("latin-1"))))
        assert assert_error_body(latin1, 400)["details"] == {"field": "event"}

        unknown = part("event", b"x", content_type="text/plain; charset=no-such-charset")
        assert assert_error_body(await post_form(svc, booth_form(None, unknown)), 400)[
            "details"
        ] == {"field": "event"}

        declared = part(
            "event", "Fête".encode("latin-1"), content_type="text/plain; charset=latin-1"
        )
        accepted = await post_form(svc, booth_form(None, declared))
        assert accepted.status_code == 200, accepted.text
        job = await svc.container.jobs().get(uuid.UUID(accepted.headers["x-job-id"]))
        assert job is not None and job.metadata == {"event": "Fête"}
        assert await jobs_in_database(svc) == 1


async def test_a_slot_id_with_control_characters_is_404(database_url: str, tmp_path: Path) -> None:
    """``/ingest/slot-001%00`` reached PostgreSQL and came back as a DataError (500 with
    ``reason`` and ``sqlstate`` in the body)."""
    async with serve(database_url, tmp_path) as svc:
        for path in ("/ingest/", "/api/ingest/"):
            for slot in ("slot-001%00", "slot%00-001", "slot-001%07", "slot-001%0A", "%FF"):
                response = await post_form(svc, booth_form(), path + slot)
                error = assert_error_body(response, 404, "slot_not_found")
                assert error["details"] == {}
        assert await jobs_in_database(svc) == 0


async def test_control_characters_in_a_field_are_400_naming_it(
    database_url: str, tmp_path: Path
) -> None:
    async with serve(database_url, tmp_path) as svc:
        for value in ("hall\x002", "\x07bell", "esc\x1b[31m", "nel\x85", "del\x7f"):
            response = await post_form(svc, booth_form(None, part("booth", value)))
            error = assert_error_body(response, 400, "invalid_request")
            assert error["details"] == {"field": "booth"}
        password = multipart_body(
            [part("password", PASSWORD + "\x00"), part("fileToUpload", jpeg_bytes(), filename="p")]
        )
        assert assert_error_body(await post_form(svc, password), 400)["details"] == {
            "field": "password"
        }
        named = booth_form(None, part("bo\x00oth", "x"))
        assert_error_body(await post_form(svc, named), 400, "invalid_request")
        assert await jobs_in_database(svc) == 0


async def test_tabs_and_line_breaks_in_a_field_are_text(database_url: str, tmp_path: Path) -> None:
    async with serve(database_url, tmp_path) as svc:
        response = await post_form(svc, booth_form(None, part("note", "a\tb\r\nc")))
        assert response.status_code == 200, response.text
        job = await svc.container.jobs().get(uuid.UUID(response.headers["x-job-id"]))
        assert job is not None and job.metadata == {"note": "a\tb\r\nc"}


async def _streamed_form(photo_bytes: int) -> AsyncIterator[bytes]:
    """A form whose length is not announced (chunked): only the bytes tell it is too big."""
    head, tail = booth_form(b"\x00").split(b"\x00")
    yield head
    for _ in range(photo_bytes // MB):
        yield bytes(MB)
    yield tail


@pytest.mark.parametrize("size_mb", [26, 100])
async def test_bodies_over_the_cap_are_413(database_url: str, tmp_path: Path, size_mb: int) -> None:
    """26 MB and 100 MB bodies were answered ``400 invalid_request`` "Request Entity Too
    Large" (Litestar's 413 caught as a form error); ≤ 25 MB was already 413."""
    async with serve(database_url, tmp_path) as svc:
        photo = b"\xff\xd8\xff" + bytes(size_mb * MB)
        announced = await post_form(svc, booth_form(photo))
        assert_error_body(announced, 413, "payload_too_large")
        streamed = await svc.client.post(
            "/ingest/slot-001", content=_streamed_form(size_mb * MB), headers=multipart_headers()
        )
        assert_error_body(streamed, 413, "payload_too_large")
        just_over = await post_form(svc, booth_form(b"\xff\xd8\xff" + bytes(25 * MB)))
        assert assert_error_body(just_over, 413)["details"]["field"] == "fileToUpload"
        assert (await svc.client.get("/healthz")).status_code == 200
        assert await jobs_in_database(svc) == 0


async def test_form_counts_and_sizes_are_capped(database_url: str, tmp_path: Path) -> None:
    async with serve(database_url, tmp_path, max_form_fields=5, max_form_field_bytes=100) as svc:
        many = booth_form(None, *(part(f"f{i}", "x") for i in range(4)))
        assert "more than 5 parts" in assert_error_body(await post_form(svc, many), 400)["message"]
        fits = await post_form(svc, booth_form(None, *(part(f"f{i}", "x" * 100) for i in range(3))))
        assert fits.status_code == 200, fits.text

        long_field = await post_form(svc, booth_form(None, part("note", "x" * 101)))
        assert assert_error_body(long_field, 413, "payload_too_large")["details"] == {
            "field": "note",
            "max_bytes": 100,
        }
        twice = booth_form(None, part("password", PASSWORD))
        assert assert_error_body(await post_form(svc, twice), 400)["details"] == {
            "field": "password"
        }
        header = f'Content-Disposition: form-data; name="a"\r\nX-Pad: {"p" * 5000}\r\n'
        long_header = multipart_body([part("password", PASSWORD), (header, b"x")])
        assert_error_body(await post_form(svc, long_header), 400, "invalid_request")
        headers = "".join(f"X-H{i}: v\r\n" for i in range(9))
        many_headers = multipart_body(
            [(f'Content-Disposition: form-data; name="a"\r\n{headers}', b"")]
        )
        assert_error_body(await post_form(svc, many_headers), 400, "invalid_request")

        not_multipart = await svc.client.post(
            "/ingest/slot-001", content=b"password=x", headers={"content-type": "text/plain"}
        )
        assert_error_body(not_multipart, 400, "invalid_request")
        no_boundary = await svc.client.post(
            "/ingest/slot-001", content=b"x", headers={"content-type": "multipart/form-data"}
        )
        assert_error_body(no_boundary, 400, "invalid_request")


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header announces ``width``×``height``, with an empty image and IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def _webp() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 10)).save(buffer, format="WEBP")
    return buffer.getvalue()


BROKEN_IMAGES = {
    "truncated-jpeg": (jpeg_bytes(640, 480)[:4000], "incomplete"),
    "jpeg-without-eoi": (jpeg_bytes()[:-2], "end-of-image marker is missing"),
    "truncated-png": (png_bytes()[:-20], "incomplete"),
    "truncated-webp": (_webp()[:-10], "incomplete"),
    "zero-pixels": (_png_header_only(0, 48), "no pixels"),
    "too-many-pixels": (_png_header_only(20_000, 20_000), "too many pixels"),
}


async def test_an_image_that_cannot_be_decoded_is_415_before_a_job_exists(
    database_url: str, tmp_path: Path
) -> None:
    """A truncated JPEG was accepted and only failed later as 502 from the provider."""
    async with serve(database_url, tmp_path) as svc:
        for name, (photo, why) in BROKEN_IMAGES.items():
            error = assert_error_body(await svc.ingest(photo=photo), 415, "unsupported_media_type")
            assert why in error["message"], name
        assert await jobs_in_database(svc) == 0
        assert list((svc.settings.media_path / "payload").iterdir()) == []


async def test_a_500_body_says_only_internal_error_and_an_id(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The DataError 500 carried ``reason`` and ``sqlstate``. Here the slot-id check is taken
    away so that a NUL really reaches PostgreSQL, as it did before the fix."""
    monkeypatch.setattr("entrypoints.http.ingest.is_slot_id", lambda _: True)
    caplog.set_level(logging.ERROR, logger="entrypoints.http.errors")
    async with serve(database_url, tmp_path) as svc:
        response = await post_form(svc, booth_form(), "/ingest/slot-001%00")
    error = assert_error_body(response, 500, "internal_error")
    assert error["message"] == "internal error"
    assert set(error["details"]) == {"error_id"}
    error_id = error["details"]["error_id"]
    assert len(error_id) >= 16
    for leak in ("sqlstate", "DataError", "reason", "\\u0000", "psycopg"):
        assert leak not in response.text
    logged = [r for r in caplog.records if error_id in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None, "the id finds the traceback"


DSLR_REMOTE_PRO_FIELDS = [
    ("time", "2024-06-15 18:42:07"),
    ("user_id", "1"),
    ("id", "20240615_184207"),
    ("profile", "C:\\Users\\Booth\\Documents\\DSLR Remote Pro\\Profiles\\Wedding.xml"),
    ("status", "C:\\Users\\Booth\\Pictures\\DSLR Remote Pro\\Wedding\\IMG_0042.JPG"),
    ("hash", None),  # the SHA-1 of the photo, 40 hex characters
    ("name", "IMG_0042.JPG"),
    ("model", "Canon EOS 5D Mark IV"),
    ("version", "3.21.0.0"),
]


@pytest.mark.parametrize("path", ["/ingest/slot-001", "/api/ingest/slot-001"])
async def test_the_dslr_remote_pro_sample_form(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    """The contract's sample upload, field by field in the booth's order, on both paths."""
    photo = jpeg_bytes(320, 240)
    sha1 = hashlib.new("sha1", photo, usedforsecurity=False).hexdigest()
    fields = [(k, sha1 if k == "hash" else v) for k, v in DSLR_REMOTE_PRO_FIELDS]
    body = multipart_body(
        [
            part("password", PASSWORD),
            part("fileToUpload", photo, filename="IMG_0042.JPG", content_type="image/jpeg"),
            *(part(name, value or "") for name, value in fields),
        ]
    )
    caplog.set_level(logging.DEBUG)
    async with serve(database_url, tmp_path) as svc:
        response = await post_form(svc, body, path)
        assert response.status_code == 200, response.text
        assert Image.open(io.BytesIO(response.content)).size == (320, 240)
        job = await svc.container.jobs().get(uuid.UUID(response.headers["x-job-id"]))
        assert job is not None and job.succeeded
        assert job.metadata == {k: v for k, v in fields if k != "hash"}
        assert svc.container.submit_ingest().hash_mismatches == {}
    assert "declared hash" not in caplog.text


async def test_api_ingest_is_an_alias_of_ingest(database_url: str, tmp_path: Path) -> None:
    async with serve(database_url, tmp_path) as svc:
        ok = await svc.client.post(
            "/api/ingest/slot-001",
            data={"password": PASSWORD},
            files={"fileToUpload": ("p.jpg", jpeg_bytes(), "image/jpeg")},
        )
        assert ok.status_code == 200 and ok.headers["content-type"] == "image/jpeg"
        assert "x-job-id" in ok.headers
        wrong = await svc.client.post(
            "/api/ingest/slot-001",
            data={"password": "not-the-password"},
            files={"fileToUpload": ("p.jpg", jpeg_bytes(), "image/jpeg")},
        )
        assert_error_body(wrong, 401, "invalid_password")
        assert_error_body(await svc.client.get("/api/ingest/slot-001"), 405, "invalid_request")

        schema = (await svc.client.get("/schema/openapi.json")).json()
        main = schema["paths"]["/ingest/{slot_id}"]["post"]
        alias = schema["paths"]["/api/ingest/{slot_id}"]["post"]
        assert alias["deprecated"] is True and "Alias" in alias["description"]
        assert not main.get("deprecated")
        assert set(main["responses"]) == set(alias["responses"])

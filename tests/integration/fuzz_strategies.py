"""Hypothesis strategies for hostile and sloppy requests to the public routes.

An ingest form is drawn part by part — each part well-formed most of the time and broken in
one of many ways otherwise (bytes that are no text, odd charsets, control characters, names
with quotes or NULs, missing or repeated fields, extra headers, truncated or corrupt photos)
— then framed with a boundary that may be wrong and cut short now and then. A form built
without any flaw is marked ``expect_ok``: the service must then answer 200.
"""

from __future__ import annotations

import io
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st
from PIL import Image
from service_harness import PASSWORD

PHOTO_FIELD = "fileToUpload"
SLOT_IDS = tuple(f"slot-{n:03d}" for n in range(1, 16))


def _encode(fmt: str, size: tuple[int, int], **options: Any) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (180, 90, 30)).save(buffer, format=fmt, **options)
    return buffer.getvalue()


# Small valid photos of each accepted type, plus types the local provider refuses.
GOOD_PHOTOS = (
    _encode("JPEG", (48, 32)),
    _encode("JPEG", (33, 17), progressive=True),
    _encode("PNG", (40, 30)),
    _encode("WEBP", (24, 24)),
)
REFUSED_PHOTOS = (_encode("GIF", (16, 16)), _encode("BMP", (16, 16)), b"GIF89a" + bytes(10))

CONTROL = "".join(map(chr, [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]))
_nasty_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(CONTROL + "\"';%\\/\r\n\t ="),
        st.characters(codec="utf-8"),
    ),
    max_size=24,
)
_plain_text = st.text(alphabet=string.ascii_letters + string.digits + " -_.:\\", max_size=40)
_binary = st.binary(max_size=64)


@dataclass(frozen=True)
class Form:
    """A request body with its Content-Type, and whether a correct service answers 200."""

    body: bytes
    content_type: str | None
    expect_ok: bool


@dataclass(frozen=True)
class _Part:
    header_block: bytes
    body: bytes
    clean: bool


def _disposition(name: str, filename: str | None) -> str:
    value = f'form-data; name="{name}"'
    return value if filename is None else value + f'; filename="{filename}"'


def _block(lines: list[str]) -> bytes:
    return "".join(f"{line}\r\n" for line in lines).encode("utf-8", "surrogatepass")


@st.composite
def _extra_headers(draw: st.DrawFn) -> tuple[list[str], bool]:
    """Part headers after the disposition: usually none or a content type."""
    kind = draw(st.sampled_from(["none", "none", "type", "charset", "odd", "many"]))
    if kind == "none":
        return [], True
    if kind == "type":
        return [f"Content-Type: {draw(st.sampled_from(['text/plain', 'image/jpeg']))}"], True
    if kind == "charset":
        charset = draw(st.sampled_from(["utf-8", "UTF-8", "latin-1", "utf-16", "bogus", ""]))
        return [f"Content-Type: text/plain; charset={charset}"], charset.lower() == "utf-8"
    if kind == "odd":
        line = draw(
            st.sampled_from(
                [
                    "Content-Length: 3",
                    "Content-Length: -1",
                    "X-Pad: " + "p" * 5000,
                    "NoColonHere",
                    " continued",
                    "Content-Transfer-Encoding: base64",
                ]
            )
        )
        return [line], False
    return [f"X-Header-{i}: {i}" for i in range(draw(st.integers(3, 12)))], False


@st.composite
def _text_part(draw: st.DrawFn, name: str, value: str) -> _Part:
    """A text field, usually as given; otherwise with a broken name, value or headers."""
    flaw = draw(st.sampled_from(["none"] * 20 + ["value", "binary", "name", "headers", "file"]))
    headers, clean_headers = draw(_extra_headers()) if flaw == "headers" else ([], True)
    filename = draw(_plain_text) if flaw == "file" else None
    if flaw == "name":
        name = draw(_nasty_text)
    body = value.encode()
    if flaw == "value":
        body = draw(_nasty_text).encode("utf-8", "surrogatepass")
    elif flaw == "binary":
        body = draw(_binary)
    block = _block([f"Content-Disposition: {_disposition(name, filename)}", *headers])
    return _Part(block, body, clean=flaw == "none" or (flaw == "headers" and clean_headers))


@st.composite
def _photo_part(draw: st.DrawFn, max_bytes: int) -> _Part:
    photo = draw(st.sampled_from(GOOD_PHOTOS))
    flaw = draw(
        st.sampled_from(
            ["none"] * 14
            + ["truncated", "flipped", "random", "empty", "refused_type", "oversized", "tail"]
        )
    )
    if flaw == "truncated":
        photo = photo[: draw(st.integers(0, len(photo) - 1))]
    elif flaw == "flipped":
        at = draw(st.integers(0, len(photo) - 1))
        photo = photo[:at] + bytes([photo[at] ^ draw(st.integers(1, 255))]) + photo[at + 1 :]
    elif flaw == "random":
        photo = draw(st.binary(min_size=1, max_size=256))
    elif flaw == "empty":
        photo = b""
    elif flaw == "refused_type":
        photo = draw(st.sampled_from(REFUSED_PHOTOS))
    elif flaw == "oversized":
        photo = photo + bytes(max_bytes)
    elif flaw == "tail":
        photo = photo + draw(st.binary(max_size=32))  # bytes after the image's end: allowed
    filename = draw(st.sampled_from(["photo.jpg", None, "C:\\DCIM\\IMG 1.JPG", ""]))
    headers = draw(st.sampled_from([[], ["Content-Type: image/jpeg"], ["Content-Type: x/y"]]))
    block = _block([f"Content-Disposition: {_disposition(PHOTO_FIELD, filename)}", *headers])
    return _Part(block, photo, clean=flaw in ("none", "tail"))


@st.composite
def ingest_forms(draw: st.DrawFn, *, max_photo_bytes: int, max_fields: int) -> Form:
    parts: list[_Part] = []
    clean = True
    if draw(st.integers(0, 19)):  # 95%: a password part
        password = draw(st.sampled_from([PASSWORD] * 16 + ["", "wrong", "wrong-password-7f3a2c"]))
        part = draw(_text_part("password", password))
        parts.append(part)
        clean &= part.clean and password == PASSWORD
    else:
        clean = False
    if draw(st.integers(0, 19)):  # 95%: the photo
        part = draw(_photo_part(max_photo_bytes))
        parts.append(part)
        clean &= part.clean
    else:
        clean = False
    names = st.sampled_from(["time", "id", "user_id", "status", "hash", "note", "password"])
    for _ in range(draw(st.one_of(st.integers(0, 3), st.integers(0, max_fields + 2)))):
        name = draw(names)
        value = draw(st.one_of(_plain_text, st.just("C:\\Users\\Booth\\IMG_0001.JPG")))
        part = draw(_text_part(name, value))
        parts.append(part)
        clean &= part.clean and name != "password"
    if len(parts) > max_fields:
        clean = False
    hashes = [
        p
        for p in parts
        if p.header_block.startswith(b'Content-Disposition: form-data; name="hash"')
    ]
    clean &= len(hashes) <= 1
    parts = draw(st.permutations(parts))

    boundary = draw(st.sampled_from(["b", "----WebKitFormBoundary7MA4YWxkTrZu0gW", "x" * 70]))
    body = bytearray()
    for part in parts:
        body += b"--" + boundary.encode() + b"\r\n" + part.header_block + b"\r\n"
        body += part.body + b"\r\n"
    body += b"--" + boundary.encode() + b"--\r\n"
    framing = draw(
        st.sampled_from(["ok"] * 20 + ["cut", "no_close", "junk_before", "wrong_boundary", "lf"])
    )
    if framing == "cut":
        body = body[: draw(st.integers(0, max(0, len(body) - 1)))]
    elif framing == "no_close":
        body = body[: -len(boundary) - 6]
    elif framing == "junk_before":
        body = bytearray(draw(st.binary(max_size=16))) + body
    elif framing == "lf":
        body = bytearray(bytes(body).replace(b"\r\n", b"\n"))
    content_type: str | None = f"multipart/form-data; boundary={boundary}"
    if framing == "wrong_boundary":
        content_type = "multipart/form-data; boundary=other"
    kind = draw(st.sampled_from(["ok"] * 20 + ["missing", "urlencoded", "no_boundary", "quoted"]))
    if kind == "missing":
        content_type = None
    elif kind == "urlencoded":
        content_type = "application/x-www-form-urlencoded"
    elif kind == "no_boundary":
        content_type = "multipart/form-data"
    elif kind == "quoted":
        content_type = f'multipart/form-data; boundary="{boundary}"'
    clean &= framing == "ok" and kind in ("ok", "quoted")
    return Form(bytes(body), content_type, expect_ok=clean)


def _segment(text: str) -> str:
    return quote(text, safe="")


odd_slot_ids: st.SearchStrategy[str] = st.one_of(
    st.sampled_from(SLOT_IDS[:2]),  # slot-001 (local/grayscale) and slot-002 (inactive)
    st.sampled_from(["slot-000", "slot-016", "SLOT-001", "slot-1", " slot-001", "slot-001/"]),
    _nasty_text.map(lambda t: "slot-001" + t),
    _nasty_text,
)


# Mostly slot-001, so that most forms get as far as the photo.
slot_ids = st.integers(0, 9).flatmap(lambda n: st.just("slot-001") if n < 7 else odd_slot_ids)


def ingest_path(slot: str) -> str:
    prefix = "/ingest/" if len(slot) % 2 else "/api/ingest/"
    return prefix + _segment(slot)


METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Target:
    """A path on one of the public routes (``route`` names its table in the test)."""

    route: str
    path: str


def _route(route: str, build: Callable[[str], str], segments: st.SearchStrategy[str]) -> Any:
    return segments.map(lambda s: Target(route, build(s)))


_uuids = st.uuids().map(str)
_segments = st.one_of(_uuids, _nasty_text, st.sampled_from(["", ".", "..", "%", "a/b"]))
targets: st.SearchStrategy[Target] = st.one_of(
    _route("ingest", ingest_path, slot_ids),
    _route("results", lambda s: "/public/results/" + _segment(s), _segments),
    _route("media", lambda s: "/public/media/" + _segment(s), _segments),
    st.sampled_from(
        [
            Target("healthz", "/healthz"),
            Target("readyz", "/readyz"),
            Target("schema", "/schema"),
            Target("schema", "/schema/openapi.json"),
            Target("schema", "/schema/openapi.yaml"),
            Target("schema", "/schema/swagger"),
            Target("schema", "/schema/redoc"),
        ]
    ),
    _route("schema", lambda s: "/schema/" + _segment(s), _nasty_text),
    _route("unknown", lambda s: "/x-" + _segment(s), _nasty_text),
)

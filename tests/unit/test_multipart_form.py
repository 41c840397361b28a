"""The ingest form reader: any chunking gives the same form; every refusal is a domain error."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidRequest, PayloadTooLarge
from entrypoints.http.multipart_form import (
    FormLimits,
    MultipartForm,
    SpooledPhoto,
    SpoolMemory,
    boundary_of,
    read_multipart_form,
)

BOUNDARY = "xYz"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
LIMITS = FormLimits(max_file_bytes=4096, max_fields=6, max_field_bytes=64)
PHOTO = bytes(range(256)) * 8  # every byte value, no valid UTF-8


def body(*parts: tuple[str, bytes]) -> bytes:
    out = b""
    for headers, data in parts:
        out += f"--{BOUNDARY}\r\n{headers}\r\n".encode() + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def field(name: str, data: bytes, extra: str = "") -> tuple[str, bytes]:
    return f'Content-Disposition: form-data; name="{name}"\r\n{extra}', data


SAMPLE = body(
    field("password", b"secret"),
    field("fileToUpload", PHOTO),  # no filename: still the photo
    field("status", "C:\\Users\\Booth\\IMG_1.JPG — é".encode()),
    ('Content-Disposition: form-data; name="extra"; filename="x.bin"\r\n', b"\x00\xff"),
)


async def chunked(data: bytes, cuts: list[int]) -> AsyncIterator[bytes]:
    start = 0
    for cut in sorted(cuts):
        yield data[start:cut]
        start = cut
    yield data[start:]


async def read(data: bytes, cuts: list[int] | None = None) -> MultipartForm:
    return await read_multipart_form(
        CONTENT_TYPE, chunked(data, cuts or []), file_field="fileToUpload", limits=LIMITS
    )


async def photo_bytes(form: MultipartForm) -> bytes:
    assert form.photo is not None
    return b"".join([chunk async for chunk in form.photo.chunks()])


@given(cuts=st.lists(st.integers(0, len(SAMPLE)), max_size=12))
async def test_any_chunking_reads_the_same_form(cuts: list[int]) -> None:
    form = await read(SAMPLE, cuts)
    try:
        assert form.fields == [
            ("password", "secret"),
            ("status", "C:\\Users\\Booth\\IMG_1.JPG — é"),
        ]
        assert await photo_bytes(form) == PHOTO
    finally:
        form.close()


async def test_a_large_photo_is_spooled_to_a_temp_file_and_read_back_whole() -> None:
    photo = SpooledPhoto(memory_bytes=1000)
    data = bytes(range(256)) * 4000  # ~1 MB, past the memory part
    for start in range(0, len(data), 7000):
        await photo.write(data[start : start + 7000])
    assert photo._file is not None, "spilled to disk"
    assert b"".join([c async for c in photo.chunks()]) == data
    photo.close()


async def photo_of(data: bytes, spool: SpoolMemory, piece: int = 1000) -> SpooledPhoto:
    photo = SpooledPhoto(memory_bytes=len(data), spool=spool)
    for start in range(0, len(data), piece):
        await photo.write(data[start : start + piece])
    return photo


async def test_photos_share_the_processes_memory_allowance_and_spill_past_it() -> None:
    """A burst of uploads waiting to be admitted must not hold a megabyte each in RAM."""
    spool = SpoolMemory(total_bytes=5000)
    first = await photo_of(b"a" * 4000, spool)
    second = await photo_of(b"b" * 4000, spool)  # only 1000 bytes left: it spills
    assert first._file is None and second._file is not None
    assert spool.free_bytes == 1000

    assert b"".join([c async for c in second.chunks()]) == b"b" * 4000
    assert b"".join([c async for c in first.chunks()]) == b"a" * 4000
    assert spool.free_bytes == 5000, "handed over: the allowance is back"
    assert [c async for c in first.chunks()] == [], "the bytes are handed on once"
    first.close()
    second.close()
    assert spool.free_bytes == 5000


async def test_a_closed_photo_gives_its_memory_back() -> None:
    spool = SpoolMemory(total_bytes=5000)
    photo = await photo_of(b"c" * 3000, spool)
    assert spool.free_bytes == 2000
    photo.close()
    assert spool.free_bytes == 5000


async def test_a_whole_form_uses_the_allowance_it_is_given() -> None:
    spool = SpoolMemory(total_bytes=len(PHOTO) - 1)
    form = await read_multipart_form(
        CONTENT_TYPE,
        chunked(SAMPLE, [7, 300, 900]),
        file_field="fileToUpload",
        limits=LIMITS,
        spool=spool,
    )
    try:
        assert form.photo is not None and form.photo._file is not None  # did not fit
        assert await photo_bytes(form) == PHOTO
    finally:
        form.close()
    assert spool.free_bytes == len(PHOTO) - 1


@pytest.mark.parametrize(
    ("data", "field_name"),
    [
        (body(field("note", b"\xff\xfe binary")), "note"),
        (body(field("note", b"caf\xe9")), "note"),
        (body(field("note", b"x", "Content-Type: text/plain; charset=nope\r\n")), "note"),
        (body(field("note", b"a\x00b")), "note"),
        (body(field("note", b"bell\x07")), "note"),
        (body(field("note", "c1\u0085".encode())), "note"),
        (body(field("password", b"a"), field("password", b"b")), "password"),
        (body(field("fileToUpload", b"a"), field("fileToUpload", b"b")), "fileToUpload"),
    ],
)
async def test_unreadable_fields_are_refused_naming_them(data: bytes, field_name: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        form = await read(data)
        form.single("password")
    assert refused.value.details["field"] == field_name


async def test_a_declared_charset_is_used() -> None:
    data = body(
        field("note", "Fête".encode("latin-1"), "Content-Type: text/plain; charset=latin-1\r\n")
    )
    assert (await read(data)).fields == [("note", "Fête")]


async def test_tabs_and_line_breaks_are_text() -> None:
    assert (await read(body(field("note", b"a\tb\r\nc")))).fields == [("note", "a\tb\r\nc")]


async def test_sizes_over_their_caps_are_413() -> None:
    with pytest.raises(PayloadTooLarge) as photo:
        await read(body(field("fileToUpload", bytes(4097))))
    assert photo.value.details == {"field": "fileToUpload", "max_bytes": 4096}
    with pytest.raises(PayloadTooLarge) as text:
        await read(body(field("note", b"x" * 65)))
    assert text.value.details == {"field": "note", "max_bytes": 64}


@pytest.mark.parametrize(
    "data",
    [
        body(*(field(f"f{i}", b"x") for i in range(7))),  # more parts than allowed
        body(field("", b"x")),  # no name
        body(field("na\x01me", b"x")),  # control character in a name
        body(('Content-Disposition: form-data; name="a"\r\nX-Pad: ' + "p" * 5000 + "\r\n", b"")),
        body(
            (
                "".join(f"X-H{i}: v\r\n" for i in range(9))
                + 'Content-Disposition: form-data; name="a"\r\n',
                b"",
            )
        ),
        body(("Content-Type: text/plain\r\n", b"no disposition")),
        body(field("a", b"x"))[:-5],  # the closing boundary never comes
        b"",
        b"garbage without any boundary",
    ],
    ids=[
        "parts",
        "no-name",
        "control-name",
        "long-header",
        "many-headers",
        "no-disposition",
        "cut",
        "empty",
        "garbage",
    ],
)
async def test_malformed_forms_are_400(data: bytes) -> None:
    with pytest.raises(InvalidRequest):
        await read(data)


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "",
        "text/plain",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/mixed; boundary=a",
        "multipart/form-data; boundary=" + "b" * 201,
        "multipart/form-data; boundary=é",
    ],
)
def test_content_types_without_a_usable_boundary_are_400(content_type: str | None) -> None:
    with pytest.raises(InvalidRequest):
        boundary_of(content_type)

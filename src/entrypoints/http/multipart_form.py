"""The booth's multipart form, read from the byte stream with every limit in our hands.

Litestar's form parser decodes every part without a filename as UTF-8 (a booth that sends
the photo as a plain field made it raise ``UnicodeDecodeError``, a 500) and reports its
limits as ``400``. Here the ``multipart`` package's push parser (the one Litestar uses) is
driven directly: the photo part is taken by its name whether or not it has a filename and
spooled to a temp file (never held whole in memory); text fields must decode and be free of
control characters; part count, part headers and sizes are capped. Every refusal is a
domain error naming the field: ``400`` for a malformed or refused form, ``413`` for sizes.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from multipart import (  # type: ignore[import-untyped]
    MultipartError,
    MultipartSegment,
    ParserLimitReached,
    PushMultipartParser,
    parse_options_header,
)

from domain.errors import InvalidRequest, PayloadTooLarge

SPOOL_MEMORY_BYTES = 1024 * 1024  # the photo goes to a temp file past this
# All photos of a process waiting in memory at once (see SpoolMemory): 15 booths' 1 MB shots
# fit many times over; a burst of hundreds goes to temp files instead of RAM.
SPOOL_MEMORY_TOTAL_BYTES = 64 * 1024 * 1024
WRITE_BATCH_BYTES = 256 * 1024
READ_CHUNK_BYTES = 256 * 1024
MAX_BOUNDARY_CHARS = 200  # RFC 2046 says 70; some clients are generous
# Control characters a text field may not carry: C0 except tab, CR and LF, DEL, C1, and
# lone surrogates (which no encoding to UTF-8, and so no database, accepts).
_FORBIDDEN_IN_VALUE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_FORBIDDEN_IN_NAME = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_NAME_SHOWN = 60


@dataclass(frozen=True, slots=True)
class FormLimits:
    max_file_bytes: int  # the photo part
    max_fields: int  # parts in the form, the photo included
    max_field_bytes: int  # one text field
    max_part_header_bytes: int = 4096  # one header line of a part
    max_part_headers: int = 8  # header lines per part (RFC 7578 needs at most 3)


def _shown(name: str) -> str:
    return name if len(name) <= _NAME_SHOWN else name[:_NAME_SHOWN] + "…"


def has_forbidden_characters(value: str) -> bool:
    """Whether ``value`` holds a character no text field may carry (see above)."""
    return _FORBIDDEN_IN_VALUE.search(value) is not None


class SpoolMemory:
    """The memory all spooled photos of a process may hold at once. A photo that finds none
    left goes to its temp file at once, so a burst of uploads (hundreds waiting their turn
    to be admitted) costs disk, not RAM, while the usual few stay in memory."""

    def __init__(self, total_bytes: int = SPOOL_MEMORY_TOTAL_BYTES) -> None:
        self.free_bytes = total_bytes

    def take(self, count: int) -> bool:
        if count > self.free_bytes:
            return False
        self.free_bytes -= count
        return True

    def give_back(self, count: int) -> None:
        self.free_bytes += count


class SpooledPhoto:
    """The photo part: kept in memory up to ``SPOOL_MEMORY_BYTES`` (and while ``spool``, the
    process's shared allowance, lasts), then in an anonymous temp file written in batches
    from a worker thread.

    The parser's chunks are kept as they come (a list, not a growing buffer: no copy per
    chunk) and handed on once, by ``chunks()``, which lets go of them: the spool holds no
    bytes while the request waits for its result."""

    def __init__(
        self, memory_bytes: int = SPOOL_MEMORY_BYTES, spool: SpoolMemory | None = None
    ) -> None:
        self.size = 0
        self._memory_bytes = memory_bytes
        self._spool = spool
        self._held = 0  # taken from ``spool``
        self._parts: list[bytes] = []
        self._pending = 0  # bytes in ``_parts``
        self._file: BinaryIO | None = None

    async def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self._parts.append(chunk if type(chunk) is bytes else bytes(chunk))
        self._pending += len(chunk)
        if self._file is None and self.size <= self._memory_bytes and self._reserve(len(chunk)):
            return
        if self._file is None or self._pending >= WRITE_BATCH_BYTES:
            parts, self._parts, self._pending = self._parts, [], 0
            self._release()
            await asyncio.to_thread(self._flush, parts)

    def _reserve(self, count: int) -> bool:
        if self._spool is None:
            return True
        if not self._spool.take(count):
            return False
        self._held += count
        return True

    def _release(self) -> None:
        if self._spool is not None and self._held:
            self._spool.give_back(self._held)
        self._held = 0

    def _flush(self, parts: list[bytes]) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="photochanger-upload-")  # noqa: SIM115
        self._file.writelines(parts)

    async def chunks(self) -> AsyncIterator[bytes]:
        """The photo's bytes, in order, once: what reached the temp file, then the rest (the
        in-memory part as one chunk, so storage can write it in one go)."""
        if self._file is not None:
            file = self._file
            await asyncio.to_thread(file.seek, 0)
            while chunk := await asyncio.to_thread(file.read, READ_CHUNK_BYTES):
                yield chunk
        parts, self._parts, self._pending = self._parts, [], 0
        self._release()
        if parts:
            whole = parts[0] if len(parts) == 1 else b"".join(parts)
            del parts
            yield whole

    def close(self) -> None:
        if self._file is not None:
            self._file.close()  # an anonymous temp file: closing removes it
            self._file = None
        self._parts, self._pending = [], 0
        self._release()


@dataclass
class MultipartForm:
    """Text fields in the order sent, and the photo part if there was one."""

    fields: list[tuple[str, str]] = field(default_factory=list)
    photo: SpooledPhoto | None = None

    def single(self, name: str) -> str | None:
        """The one value of ``name``; a field sent twice is refused rather than guessed."""
        values = [value for key, value in self.fields if key == name]
        if len(values) > 1:
            raise InvalidRequest(
                f"the form field {name!r} was sent more than once", {"field": name}
            )
        return values[0] if values else None

    def close(self) -> None:
        if self.photo is not None:
            self.photo.close()


def boundary_of(content_type: str | None) -> bytes:
    """The boundary of a ``multipart/form-data`` Content-Type, or ``InvalidRequest``."""
    kind, options = parse_options_header(content_type or "")
    if kind != "multipart/form-data":
        raise InvalidRequest("the body must be multipart/form-data", {"field": "content-type"})
    boundary = options.get("boundary", "")
    if not boundary or len(boundary) > MAX_BOUNDARY_CHARS or not boundary.isascii():
        raise InvalidRequest(
            "the multipart/form-data Content-Type needs a boundary of 1 to "
            f"{MAX_BOUNDARY_CHARS} ASCII characters",
            {"field": "content-type"},
        )
    if _FORBIDDEN_IN_NAME.search(boundary):
        raise InvalidRequest("the multipart boundary has control characters")
    encoded: bytes = boundary.encode("ascii")
    return encoded


class _FormReader:
    """Turns parser events into a ``MultipartForm``; one instance per request."""

    def __init__(
        self, file_field: str, limits: FormLimits, spool: SpoolMemory | None = None
    ) -> None:
        self.form = MultipartForm()
        self._spool = spool
        self._file_field = file_field
        self._limits = limits
        self._parts = 0
        self._name = ""
        self._charset: str | None = None
        self._text: bytearray | None = None  # the text field being read, if any
        self._photo: SpooledPhoto | None = None  # the photo part being read, if any

    async def on_event(self, event: Any) -> None:
        if isinstance(event, MultipartSegment):
            self._start(event)
        elif event is None:
            self._finish()
        elif self._photo is not None:
            if self._photo.size + len(event) > self._limits.max_file_bytes:
                raise PayloadTooLarge(
                    f"the file is larger than {self._limits.max_file_bytes} bytes",
                    {"field": self._file_field, "max_bytes": self._limits.max_file_bytes},
                )
            await self._photo.write(event)
        elif self._text is not None:
            if len(self._text) + len(event) > self._limits.max_field_bytes:
                raise PayloadTooLarge(
                    f"the form field {_shown(self._name)!r} is larger than "
                    f"{self._limits.max_field_bytes} bytes",
                    {"field": self._name, "max_bytes": self._limits.max_field_bytes},
                )
            self._text += event
        # else: an extra file part (with a filename): not used, its bytes are skipped

    def _start(self, segment: MultipartSegment) -> None:
        self._parts += 1
        if self._parts > self._limits.max_fields:
            raise InvalidRequest(
                f"the form has more than {self._limits.max_fields} parts",
                {"max_fields": self._limits.max_fields},
            )
        name: str = segment.name or ""
        if not name or _FORBIDDEN_IN_NAME.search(name):
            raise InvalidRequest("a form part has an empty name or control characters in it")
        self._name, self._charset = name, segment.charset
        self._text = self._photo = None
        if name == self._file_field:
            if self.form.photo is not None:
                raise InvalidRequest(
                    f"the form field {name!r} was sent more than once", {"field": name}
                )
            # Taken as the photo with or without a filename: some booths send a plain field.
            self._photo = self.form.photo = SpooledPhoto(spool=self._spool)
        elif segment.filename is None:
            self._text = bytearray()

    def _finish(self) -> None:
        if self._text is not None:
            self.form.fields.append((self._name, self._decode(self._text)))
        self._text = self._photo = None

    def _decode(self, raw: bytearray) -> str:
        """A text field, in its declared charset (UTF-8 by default), without control
        characters; anything else is refused naming the field."""
        shown = _shown(self._name)
        try:
            value = raw.decode(self._charset or "utf-8")
        except (LookupError, UnicodeDecodeError):
            raise InvalidRequest(
                f"the form field {shown!r} is not text in {self._charset or 'UTF-8'} "
                "(binary data belongs in a file part)",
                {"field": self._name},
            ) from None
        if has_forbidden_characters(value):
            raise InvalidRequest(
                f"the form field {shown!r} contains control characters", {"field": self._name}
            )
        return value


async def read_multipart_form(
    content_type: str | None,
    body: AsyncIterator[bytes],
    *,
    file_field: str,
    limits: FormLimits,
    spool: SpoolMemory | None = None,
) -> MultipartForm:
    """Read the whole form from ``body``; the caller closes the returned form. ``spool``:
    the process's allowance for photos held in memory (none: each photo up to its own cap)."""
    boundary = boundary_of(content_type)
    reader = _FormReader(file_field, limits, spool)
    try:
        parser = PushMultipartParser(
            boundary,
            max_header_size=limits.max_part_header_bytes,
            max_header_count=limits.max_part_headers,
        )
        async for chunk in body:
            if not chunk:
                continue
            for event in parser.parse(chunk):  # bytes after the closing boundary are ignored
                await reader.on_event(event)
        parser.close()  # raises if the closing boundary never came
    except ParserLimitReached as exc:
        reader.form.close()
        raise InvalidRequest(f"the multipart form is refused: {_reason(exc)}") from None
    except MultipartError as exc:
        reader.form.close()
        raise InvalidRequest(f"could not read the multipart form: {_reason(exc)}") from None
    except BaseException:
        reader.form.close()
        raise
    finally:
        aclose = getattr(body, "aclose", None)
        if aclose is not None:  # a refusal mid-body leaves the request stream unfinished
            await aclose()
    return reader.form


def _reason(exc: Exception) -> str:
    """The parser's own fixed message (never input bytes)."""
    first = exc.args[0] if exc.args else ""
    return first if isinstance(first, str) else type(exc).__name__

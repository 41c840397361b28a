"""The booth's optional ``hash`` field: which checksum it is and whether the upload matches.

Booth versions differ: DSLR Remote Pro sends SHA-1 (40 hex characters), others MD5 or
SHA-256. The scheme is told by the length. A mismatch or an unknown scheme is never fatal
(SPEC §4): the photo is what the booth sent, the checksum is only a diagnostic.
"""

from __future__ import annotations

import enum
import hashlib
import string
from collections.abc import AsyncIterator
from dataclasses import dataclass

ALGORITHM_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256"}
_HEX = frozenset(string.hexdigits)


class HashCheck(enum.StrEnum):
    MATCH = "match"
    MISMATCH = "mismatch"
    UNKNOWN_SCHEME = "unknown_scheme"


@dataclass(frozen=True, slots=True)
class DeclaredHash:
    """A declared checksum, lower-cased; ``algorithm`` is None for an unknown scheme."""

    hex: str
    algorithm: str | None

    @classmethod
    def parse(cls, declared: str) -> DeclaredHash:
        text = declared.strip().lower()
        algorithm = ALGORITHM_BY_LENGTH.get(len(text))
        if algorithm is None or not set(text) <= _HEX:
            return cls(text, None)
        return cls(text, algorithm)

    def watch(self, chunks: AsyncIterator[bytes]) -> tuple[AsyncIterator[bytes], HashWatch]:
        """Pass the upload through, digesting it on the way only if storage's own SHA-256
        will not do (MD5, SHA-1): one extra digest at most, computed while streaming."""
        watch = HashWatch(self)
        if self.algorithm is None or self.algorithm == "sha256":
            return chunks, watch
        return watch.digesting(chunks, self.algorithm), watch


class HashWatch:
    """Collects the digest a ``DeclaredHash`` needs and gives the verdict once stored."""

    def __init__(self, declared: DeclaredHash) -> None:
        self.declared = declared
        self._digest: str | None = None

    async def digesting(self, chunks: AsyncIterator[bytes], algorithm: str) -> AsyncIterator[bytes]:
        digest = hashlib.new(algorithm, usedforsecurity=False)  # a checksum, not a secret
        async for chunk in chunks:
            digest.update(chunk)
            yield chunk
        self._digest = digest.hexdigest()

    def verdict(self, stored_sha256: str) -> HashCheck:
        """Compare with the stored photo (``stored_sha256`` from storage)."""
        if self.declared.algorithm is None:
            return HashCheck.UNKNOWN_SCHEME
        actual = stored_sha256 if self.declared.algorithm == "sha256" else self._digest
        return HashCheck.MATCH if actual == self.declared.hex else HashCheck.MISMATCH

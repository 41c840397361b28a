"""The ingest password: scrypt (stdlib) hashes, and a cache for the hot ingest path.

scrypt with n=2**14, r=8 costs ~50 ms and 16 MiB per check on purpose. The booth sends the
same password with every photo, so ``CachingPasswordVerifier`` remembers the last password
that matched (as a keyed HMAC, never in clear) and answers it in microseconds; wrong
passwords always pay the full scrypt price.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets
from concurrent.futures import ThreadPoolExecutor

from application.ports import PasswordHasher

SCHEME = "scrypt"
SALT_BYTES = 16
KEY_BYTES = 32
# Refuse parameters that would make one verification a memory or CPU bomb.
MAX_MEMORY_BYTES = 256 * 1024 * 1024
MAX_PARALLELISM = 16


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _scrypt_memory(n: int, r: int, p: int) -> int:
    """Bytes OpenSSL needs (128·r·(n+p+2)), plus headroom for its own bookkeeping."""
    return 128 * r * (n + p + 2) + 1024 * 1024


class ScryptPasswordHasher:
    """``PasswordHasher`` encoding ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>``."""

    def __init__(self, *, n: int = 2**14, r: int = 8, p: int = 1) -> None:
        if not _valid_parameters(n, r, p):
            raise ValueError(f"unusable scrypt parameters n={n} r={r} p={p}")
        self.n, self.r, self.p = n, r, p
        self._threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="scrypt")

    async def hash(self, password: str) -> str:
        salt = secrets.token_bytes(SALT_BYTES)
        key = await self._in_kdf_thread(password, salt, self.n, self.r, self.p, KEY_BYTES)
        return f"{SCHEME}${self.n}${self.r}${self.p}${_b64encode(salt)}${_b64encode(key)}"

    async def verify(self, password: str, encoded: str) -> bool:
        """Constant-time comparison; a malformed ``encoded`` never matches."""
        parsed = _parse(encoded)
        if parsed is None:
            return False
        n, r, p, salt, expected = parsed
        try:
            actual = await self._in_kdf_thread(password, salt, n, r, p, len(expected))
        except (ValueError, MemoryError):
            return False
        return hmac.compare_digest(actual, expected)

    async def _in_kdf_thread(
        self, password: str, salt: bytes, n: int, r: int, p: int, length: int
    ) -> bytes:
        """scrypt needs 16 MiB and ~50 ms of CPU per call. Two dedicated threads bound both
        under a storm of wrong passwords (the shared executor would run one per thread and
        keep that memory in every thread's malloc arena) and keep the I/O threads free."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, _derive, password, salt, n, r, p, length)

    def needs_rehash(self, encoded: str) -> bool:
        """True when ``encoded`` uses other parameters than this hasher would."""
        parsed = _parse(encoded)
        return parsed is None or parsed[:3] != (self.n, self.r, self.p)


def _derive(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8", "surrogatepass"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=_scrypt_memory(n, r, p),
        dklen=length,
    )


def _valid_parameters(n: int, r: int, p: int) -> bool:
    return (
        n > 1
        and n & (n - 1) == 0
        and r >= 1
        and 1 <= p <= MAX_PARALLELISM
        and _scrypt_memory(n, r, p) <= MAX_MEMORY_BYTES
    )


def _parse(encoded: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        return None
    try:
        n, r, p = (int(part) for part in parts[1:4])
        salt, expected = _b64decode(parts[4]), _b64decode(parts[5])
    except (ValueError, binascii.Error, UnicodeEncodeError):
        return None
    if not _valid_parameters(n, r, p) or len(salt) < 8 or len(expected) < 16:
        return None
    return n, r, p, salt, expected


class CachingPasswordVerifier:
    """``PasswordHasher`` that skips scrypt when the last matching password is sent again.

    The cache holds the encoded hash it was verified against and an HMAC of the password
    under a random per-process key, so memory never holds the password itself. A different
    encoded hash (the password was rotated) misses the cache and clears it.
    """

    def __init__(self, hasher: PasswordHasher) -> None:
        self._hasher = hasher
        self._key = secrets.token_bytes(32)
        self._cached: tuple[bytes, bytes] | None = None  # (encoded, HMAC of password)

    async def hash(self, password: str) -> str:
        return await self._hasher.hash(password)

    async def verify(self, password: str, encoded: str) -> bool:
        encoded_bytes = encoded.encode("utf-8", "surrogatepass")
        fingerprint = hmac.new(
            self._key, password.encode("utf-8", "surrogatepass"), hashlib.sha256
        ).digest()
        cached = self._cached
        if cached is not None:
            same_hash = hmac.compare_digest(cached[0], encoded_bytes)
            if same_hash and hmac.compare_digest(cached[1], fingerprint):
                return True
            if not same_hash:
                self._cached = None  # rotated: the old password must not pass any more
        if not await self._hasher.verify(password, encoded):
            return False
        self._cached = (encoded_bytes, fingerprint)
        return True

"""Ingest password hashing: scrypt encoding, constant-time verify, and the hot-path cache."""

from __future__ import annotations

import base64

import pytest

from adapters.security.password import CachingPasswordVerifier, ScryptPasswordHasher

# Cheap parameters keep the suite fast; one test checks the production defaults.
FAST = ScryptPasswordHasher(n=2**4, r=1, p=1)


async def test_default_encoding_carries_its_parameters_salt_and_key() -> None:
    hasher = ScryptPasswordHasher()
    encoded = await hasher.hash("booth-secret")
    scheme, n, r, p, salt, key = encoded.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(base64.b64decode(salt)) == 16
    assert len(base64.b64decode(key)) == 32
    assert await hasher.verify("booth-secret", encoded)
    assert not await hasher.verify("booth-secret ", encoded)


async def test_same_password_hashes_differently_each_time() -> None:
    first, second = await FAST.hash("pw"), await FAST.hash("pw")
    assert first != second
    assert await FAST.verify("pw", first)
    assert await FAST.verify("pw", second)


async def test_hash_made_with_other_parameters_still_verifies() -> None:
    encoded = await ScryptPasswordHasher(n=2**5, r=2, p=2).hash("pw")
    assert await FAST.verify("pw", encoded)
    assert FAST.needs_rehash(encoded)
    assert not FAST.needs_rehash(await FAST.hash("pw"))


async def test_non_ascii_passwords_work() -> None:
    encoded = await FAST.hash("пароль-фото")
    assert await FAST.verify("пароль-фото", encoded)
    assert not await FAST.verify("пароль-фото!", encoded)


def _valid_parts() -> list[str]:
    salt = base64.b64encode(b"s" * 16).decode()
    key = base64.b64encode(b"k" * 32).decode()
    return ["scrypt", "16", "1", "1", salt, key]


def _with(index: int, value: str) -> str:
    parts = _valid_parts()
    parts[index] = value
    return "$".join(parts)


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "plain-text-password",
        "bcrypt$16$1$1$c2FsdA==$a2V5",
        "scrypt$16$1$1$c2FsdHNhbHRzYWx0c2FsdA==",  # too few parts
        "$".join([*_valid_parts(), "extra"]),
        _with(1, "sixteen"),
        _with(1, "15"),  # n must be a power of two
        _with(1, "1"),
        _with(1, str(2**30)),  # would need gigabytes: refused, not attempted
        _with(2, "0"),
        _with(3, "99"),
        _with(4, "not base64!"),
        _with(4, base64.b64encode(b"s").decode()),  # salt too short
        _with(5, base64.b64encode(b"k" * 4).decode()),  # key too short
        _with(5, "ключ"),
    ],
)
async def test_malformed_encodings_never_match(encoded: str) -> None:
    assert not await FAST.verify("pw", encoded)


def test_unusable_parameters_are_refused_up_front() -> None:
    with pytest.raises(ValueError, match="scrypt parameters"):
        ScryptPasswordHasher(n=1000)


class CountingHasher:
    """The real hasher, counting how often the slow verification actually runs."""

    def __init__(self) -> None:
        self.verifications = 0

    async def hash(self, password: str) -> str:
        return await FAST.hash(password)

    async def verify(self, password: str, encoded: str) -> bool:
        self.verifications += 1
        return await FAST.verify(password, encoded)


async def test_cache_answers_a_repeated_correct_password_without_scrypt() -> None:
    inner = CountingHasher()
    verifier = CachingPasswordVerifier(inner)
    encoded = await verifier.hash("booth")
    assert await FAST.verify("booth", encoded)  # hash delegates to the real hasher

    assert await verifier.verify("booth", encoded)
    assert await verifier.verify("booth", encoded)
    assert await verifier.verify("booth", encoded)
    assert inner.verifications == 1


async def test_wrong_passwords_always_pay_the_full_check() -> None:
    inner = CountingHasher()
    verifier = CachingPasswordVerifier(inner)
    encoded = await FAST.hash("booth")
    assert await verifier.verify("booth", encoded)

    assert not await verifier.verify("guess-1", encoded)
    assert not await verifier.verify("guess-2", encoded)
    assert inner.verifications == 3
    assert await verifier.verify("booth", encoded)  # a wrong guess does not evict the cache
    assert inner.verifications == 3


async def test_rotation_invalidates_the_cache() -> None:
    inner = CountingHasher()
    verifier = CachingPasswordVerifier(inner)
    old = await FAST.hash("old-password")
    assert await verifier.verify("old-password", old)

    new = await FAST.hash("new-password")
    assert not await verifier.verify("old-password", new)
    assert await verifier.verify("new-password", new)
    assert inner.verifications == 3
    assert await verifier.verify("new-password", new)
    assert inner.verifications == 3


async def test_cache_does_not_accept_an_unverified_password_for_a_cached_hash() -> None:
    verifier = CachingPasswordVerifier(CountingHasher())
    encoded = await FAST.hash("right")
    assert await verifier.verify("right", encoded)
    assert not await verifier.verify("wrong", encoded)
    assert not await verifier.verify("", encoded)

"""Password hashing for the global ingest password."""

from adapters.security.password import CachingPasswordVerifier, ScryptPasswordHasher

__all__ = ["CachingPasswordVerifier", "ScryptPasswordHasher"]

"""Argon2id password hashing (argon2-cffi)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from newsroom_common.native_memory import M_MMAP_THRESHOLD, mallopt

# OWASP Password Storage Cheat Sheet: Argon2id, m=19 MiB, t=2, p=1 (its first option).
OWASP_MEMORY_KIB = 19 * 1024
OWASP_TIME_COST = 2
OWASP_PARALLELISM = 1
# The size from which a buffer gets its own mapping.
_OWN_MAPPING_FROM = 1 << 20


def return_hash_memory_to_the_os() -> None:
    """Make glibc give each hash's working memory back to the OS when the hash is done.

    Argon2id mallocs its 19 MiB per hash. glibc serves the first such buffer with its own
    mapping, but raises its threshold once that is freed, so later buffers come from the
    hashing thread's arena and stay resident after the hash: with 4 threads, about 76 MiB
    per worker that no request uses (`make bench` measured 156 MiB workers against ~80).
    A fixed threshold keeps them mapped per hash and unmapped when freed; the page faults
    cost about a millisecond against the hash's tens of milliseconds.
    """
    # Not glibc (musl, macOS): its allocator has no such threshold to fix.
    mallopt(M_MMAP_THRESHOLD, _OWN_MAPPING_FROM)


class Argon2Hasher:
    """Hashes and verifies passwords; old parameters are upgraded at the next login."""

    def __init__(
        self,
        *,
        memory_cost: int = OWASP_MEMORY_KIB,
        time_cost: int = OWASP_TIME_COST,
        parallelism: int = OWASP_PARALLELISM,
    ) -> None:
        return_hash_memory_to_the_os()
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism
        )

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)

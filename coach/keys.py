"""API keys: each maps to a user id and a role; only a hash of the key is ever stored."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from coach.atomic import exclusive_lock, write_atomic
from coach.errors import ConfigurationError
from coach.vocabulary import ROLES, Role

_PREFIX = "ck_"
MAX_USER_CHARS = 200  # what the database stores of a user id


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user id and a role."""

    user: str
    role: Role


@dataclass(frozen=True)
class KeyRecord:
    user: str
    role: Role
    key_sha256: str
    created: str


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyStore:
    """The keys file (JSON). Written atomically under a lock, readable by its owner only; read
    again whenever it changes (another inode, size or modification time), so a key added or
    revoked with the CLI takes effect in a running service."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cache: tuple[tuple[int, int, int], list[KeyRecord]] | None = None

    def records(self) -> list[KeyRecord]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return []
        version = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if self._cache is None or self._cache[0] != version:
            self._cache = (version, self._read())
        return list(self._cache[1])

    def _read(self) -> list[KeyRecord]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return [KeyRecord(**item) for item in raw["keys"]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # Callers of the API see this message: it names the setting, never the path.
            raise ConfigurationError(
                f"the API keys file is unreadable ({type(exc).__name__}); fix or remove the file "
                "COACH_API_KEYS_FILE names and create keys with `coach keys add`"
            ) from exc

    @contextmanager
    def _editing(self) -> Iterator[list[KeyRecord]]:
        """The records as they are on disk, under the writers' lock; saved when the block ends."""
        with exclusive_lock(self.path.with_name(self.path.name + ".lock")):
            records = self._read()
            before = list(records)
            yield records
            if records != before:
                data = {"keys": [asdict(record) for record in records]}
                write_atomic(self.path, (json.dumps(data, indent=2) + "\n").encode())
                self.path.chmod(0o600)
                self._cache = None

    def add(self, user: str, role: str) -> str:
        """Create a key for `user` with `role`; return the key (shown once, stored hashed)."""
        if role not in ROLES:
            raise ConfigurationError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
        user = user.strip()
        if not user:
            raise ConfigurationError("the user id is empty")
        if len(user) > MAX_USER_CHARS or not user.isprintable():
            raise ConfigurationError(
                f"the user id must be at most {MAX_USER_CHARS} printable characters (no line "
                "breaks or control characters)"
            )
        key = _PREFIX + secrets.token_urlsafe(32)
        record = KeyRecord(
            user=user,
            role=role,
            key_sha256=_digest(key),
            created=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        with self._editing() as records:
            records.append(record)
        return key

    def revoke(self, user: str) -> int:
        """Remove every key of `user`; return how many there were."""
        with self._editing() as records:
            kept = [record for record in records if record.user != user]
            removed = len(records) - len(kept)
            records[:] = kept
        return removed

    def lookup(self, key: str) -> Principal | None:
        digest = _digest(key)
        for record in self.records():
            if hmac.compare_digest(record.key_sha256, digest):
                return Principal(record.user, record.role)
        return None

"""The API keys file: read again whenever it changes, written under a lock, kept private, and
no secret in a repr or an error a caller sees."""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from coach.errors import ConfigurationError
from coach.generate.llm import LLMConfig
from coach.keys import KeyStore


def add_key(path: str, user: str) -> str:
    return KeyStore(Path(path)).add(user, "professional")


def test_a_file_replaced_within_the_same_mtime_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    store = KeyStore(path)
    first = store.add("pia", "professional")
    stamp = path.stat().st_mtime_ns
    assert store.lookup(first) is not None
    # Another process rewrites the file (a new inode and size) within the same clock tick.
    other = KeyStore(tmp_path / "other.json")
    second = other.add("cas", "curator")
    os.replace(tmp_path / "other.json", path)
    os.utime(path, ns=(stamp, stamp))
    assert store.lookup(second) is not None
    assert store.lookup(first) is None


def test_concurrent_adds_from_several_processes_lose_no_key(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    users = [f"user-{n}" for n in range(12)]
    with ProcessPoolExecutor(max_workers=4) as pool:
        keys = list(pool.map(add_key, [str(path)] * len(users), users))
    store = KeyStore(path)
    assert sorted(r.user for r in store.records()) == sorted(users)
    assert all(store.lookup(key) is not None for key in keys)


def test_the_keys_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    KeyStore(path).add("pia", "professional")
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_corrupt_keys_file_says_what_to_do_without_showing_where_it_is(tmp_path: Path) -> None:
    path = tmp_path / "secret-folder" / "keys.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"keys": [{"user": "pia"}]}))
    with pytest.raises(ConfigurationError) as caught:
        KeyStore(path).lookup("ck_anything")
    assert "secret-folder" not in str(caught.value)
    assert "COACH_API_KEYS_FILE" in str(caught.value)


def test_the_llm_api_key_is_not_in_the_config_repr() -> None:
    config = LLMConfig(base_url="http://127.0.0.1:9/v1", model="m", api_key="sk-very-secret")
    assert "sk-very-secret" not in repr(config)
    assert "sk-very-secret" not in str(config)


@pytest.mark.parametrize("user", ["x" * 201, "pi\na", "pia\u0000", "  "])
def test_a_user_id_the_database_cannot_hold_is_refused_when_the_key_is_made(
    tmp_path: Path, user: str
) -> None:
    with pytest.raises(ConfigurationError, match="user id"):
        KeyStore(tmp_path / "keys.json").add(user, "professional")
    assert not (tmp_path / "keys.json").exists()

"""`coach keys` and `coach serve` as a user runs them."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.api_support import running_service

Run = Callable[..., subprocess.CompletedProcess[str]]


def test_keys_add_list_revoke(run_cli: Run, tmp_path: Path) -> None:
    env = {"COACH_API_KEYS_FILE": str(tmp_path / "keys.json")}
    added = run_cli("keys", "add", "pia", "--role", "curator", env=env)
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip().splitlines()[-1]
    assert key.startswith("ck_") and len(key) > 30
    assert key not in (tmp_path / "keys.json").read_text()  # stored hashed only
    listed = run_cli("keys", "list", env=env)
    assert listed.stdout.split("\t")[:2] == ["pia", "curator"]
    bad_role = run_cli("keys", "add", "piet", "--role", "boss", env=env)
    assert bad_role.returncode == 2 and "unknown role 'boss'" in bad_role.stderr
    assert run_cli("keys", "revoke", "pia", env=env).returncode == 0
    assert run_cli("keys", "revoke", "pia", env=env).returncode == 1
    assert run_cli("keys", "list", env=env).stdout == ""


def test_serve_indexes_then_answers_in_local_mode(tmp_path: Path) -> None:
    with running_service(tmp_path, "--local") as base:
        answer = httpx.post(
            f"{base}/v1/coach",
            json={"situation": "Klanten bellen steeds opnieuw omdat niemand ze terugbelt"},
            timeout=30,
        )
        assert answer.status_code == 200 and answer.json()["grounded"]
        assert httpx.get(f"{base}/v1/sessions").json()["total"] == 1
        # A page whose name was rebound to 127.0.0.1 names itself in Host; another site's page
        # names itself in Origin. Neither gets in.
        port = base.rsplit(":", 1)[1]
        rebound = httpx.get(f"{base}/v1/sessions", headers={"Host": f"attacker.example:{port}"})
        assert rebound.status_code == 421
        forged = httpx.post(
            f"{base}/v1/coach",
            json={"situation": "Klanten bellen steeds opnieuw omdat niemand ze terugbelt"},
            headers={"Origin": "https://attacker.example"},
        )
        assert forged.status_code == 403
        assert httpx.get(f"{base}/v1/sessions").json()["total"] == 1
    output = (tmp_path / "serve.log").read_text()
    assert "5 added" in output and "local mode" in output


def test_local_mode_refuses_to_listen_beyond_this_machine(run_cli: Run, tmp_path: Path) -> None:
    for host in ("0.0.0.0", "192.168.1.10"):
        started = time.monotonic()
        refused = run_cli("serve", "--local", "--host", host, "--index-dir", str(tmp_path))
        assert refused.returncode == 2, refused.stderr
        assert "--host must be 127.0.0.1, localhost or ::1" in refused.stderr
        assert f"not {host}" in refused.stderr and "Traceback" not in refused.stderr
        assert time.monotonic() - started < 60  # before any model loads or index is built
    assert list(tmp_path.iterdir()) == []


def test_every_worker_sees_a_write_made_through_another(tmp_path: Path) -> None:
    with running_service(tmp_path, "--local", "--workers", "2") as base:
        # Both workers answer (uvicorn spreads connections); each is ready before it accepts.
        deadline = time.monotonic() + 120
        while len({_worker_pid(base) for _ in range(12)}) < 2:
            assert time.monotonic() < deadline, "the second worker did not start"
            time.sleep(0.5)
        url = f"{base}/v1/documents/proc-expense-claims"
        current = httpx.get(url)
        doc = current.json()
        body = {key: doc[key] for key in ("type", "language", "team", "owner", "tags", "title")}
        body["body"] = doc["body"] + "\n## Zeppelin\nA zeppelin ticket is never reimbursed.\n"
        saved = httpx.put(url, json=body, headers={"If-Match": current.headers["ETag"]}, timeout=60)
        assert saved.status_code == 200, saved.text
        stale = httpx.put(url, json=body, headers={"If-Match": current.headers["ETag"]}, timeout=60)
        assert stale.status_code == 412
        answered_by = set()
        for _ in range(12):  # fresh connections, so both workers answer some of them
            with httpx.Client(base_url=base) as client:
                found = client.post("/v1/search", json={"query": "zeppelin ticket", "k": 1})
                answered_by.add(found.headers["X-Worker"])
                assert found.json()["sources"][0]["id"] == "proc-expense-claims"
        assert len(answered_by) == 2
    assert "starting 2 worker processes" in (tmp_path / "serve.log").read_text()


def _worker_pid(base: str) -> str:
    with httpx.Client(base_url=base) as client:
        return client.get("/healthz").headers["X-Worker"]


def test_an_unknown_cycle_time_zone_stops_the_start_naming_the_setting(
    run_cli: Run, tmp_path: Path
) -> None:
    refused = run_cli(
        "serve",
        "--local",
        "--index-dir",
        str(tmp_path),
        env={"COACH_CYCLE_TIME_ZONE": "Europe/Atlantis"},
    )
    assert refused.returncode == 2, refused.stderr
    assert "invalid setting COACH_CYCLE_TIME_ZONE" in refused.stderr
    assert "Unknown time zone 'Europe/Atlantis'" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert list(tmp_path.iterdir()) == []  # refused before anything was indexed

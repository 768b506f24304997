"""Group work under load (issue #24): eight members of one group work at once for 60 s against a
real `coach serve`, on SQLite and on PostgreSQL: proposing cycles, bringing situations (or
none), building agendas, check-ins, notes, moves and the odd cancel. It ends with every answer
2xx or a documented 4xx (none 5xx), and every write accounted for: each member's last accepted
note and check-in per cycle and day is what the cycle shows, every accepted proposal is among
the group's cycles, and every situation brought as text is one of that member's sessions.

    .venv/bin/python bench/group_load.py [--seconds 60] [--databases sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coach.keys import KeyStore
from tests.api_support import running_postgres, running_service
from tests.conftest import free_port

USERS = [f"lid{n}" for n in range(1, 9)]
SITUATIONS = [
    "Klanten bellen ons steeds opnieuw over dezelfde storing omdat niemand terugbelt.",
    "After we install a heat pump the customer says the house stays cold.",
    "Onze monteurs komen bij klanten aan zonder de juiste onderdelen.",
    "De overdracht tussen nachtdienst en dagdienst mist open storingen.",
]
RESULTS = Path(__file__).with_name("results") / "group-load.json"


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    by_action: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    proposed: set[str] = field(default_factory=set)
    # (cycle, user, day) -> the last accepted note / check-in word of that user
    notes: dict[tuple[str, str, int], str] = field(default_factory=dict)
    check_ins: dict[tuple[str, str, int], str] = field(default_factory=dict)
    brought: Counter[str] = field(default_factory=Counter)  # user -> situations brought as text
    lock: threading.Lock = field(default_factory=threading.Lock)


def member(base: str, key: str, user: str, seconds: float, tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        group = client.get("/v1/groups").json()["items"][0]["id"]
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            listed = client.get(f"/v1/groups/{group}").json()["cycles"]
            cycles = [c["id"] for c in listed if c["state"] == "planned"]
            action = rng.choices(
                ["propose", "bring", "agenda", "check_in", "note", "move", "cancel", "read"],
                weights=[1, 3, 1, 5, 5, 1, 0.1, 3],
            )[0]
            if action not in ("propose",) and not cycles:
                action = "propose"
            cycle = rng.choice(cycles) if cycles else ""
            url = f"/v1/cycles/{cycle}"
            day = rng.randint(1, 4)
            start = (date.today() + timedelta(days=rng.randint(1, 60))).isoformat()
            text = rng.choice(SITUATIONS)
            word = f"{user}-{rng.randint(0, 10**6)}"
            body: dict[str, Any] = {}
            if action == "propose":
                answer = client.post(
                    f"/v1/groups/{group}/cycles",
                    json={"start": start, "time": "09:00", "situation": text},
                )
            elif action == "bring":
                body = {"none": True} if rng.random() < 0.3 else {"situation": text}
                answer = client.put(f"{url}/situation", json=body)
            elif action == "agenda":
                answer = client.post(f"{url}/agenda")
            elif action == "check_in":
                body = {"energy": rng.randint(1, 5), "word": word[:40], "shared": True}
                answer = client.put(f"{url}/days/{day}/check-in", json=body)
            elif action == "note":
                answer = client.post(
                    f"{url}/days/{day}/notes", json={"did": word, "noticed": "load"}
                )
            elif action == "move":
                answer = client.post(f"{url}/move", json={"start": start})
            elif action == "cancel":
                answer = client.post(f"{url}/cancel")
            else:
                answer = client.get(url)
            with tally.lock:
                tally.statuses[answer.status_code] += 1
                tally.by_action[f"{action} {answer.status_code}"] += 1
                if answer.status_code >= 500:
                    tally.errors.append(f"{action}: {answer.status_code} {answer.text[:200]}")
                if answer.status_code < 300:
                    if action == "propose":
                        tally.proposed.add(answer.json()["id"])
                        tally.brought[user] += 1
                    elif action == "bring" and "situation" in body:
                        tally.brought[user] += 1
                    elif action == "note":
                        tally.notes[(cycle, user, day)] = word
                    elif action == "check_in":
                        tally.check_ins[(cycle, user, day)] = word[:40]


def accounted(base: str, keys: dict[str, str], tally: Tally) -> list[str]:
    """What the service shows against what was accepted: the differences (none, when sound)."""
    wrong: list[str] = []
    first = {"Authorization": f"Bearer {keys[USERS[0]]}"}
    with httpx.Client(base_url=base, timeout=60) as client:
        group = client.get("/v1/groups", headers=first).json()["items"][0]
        listed = client.get(f"/v1/groups/{group['id']}", headers=first).json()
        if listed["cycles_total"] != len(tally.proposed):
            wrong.append(f"{listed['cycles_total']} cycles listed, {len(tally.proposed)} accepted")
        for cycle in tally.proposed:
            days = client.get(f"/v1/cycles/{cycle}", headers=first).json()["days"]
            for day in days:
                for note in day["notes"]:
                    want = tally.notes.get((cycle, note["member"], day["day"]))
                    if note["did"] != want:
                        wrong.append(f"note {cycle} {note['member']} {day['day']}: {note['did']}")
                for check in day["check_ins"]:
                    want = tally.check_ins.get((cycle, check["member"], day["day"]))
                    if check["word"] != want:
                        wrong.append(f"check-in {cycle} {check['member']} {day['day']}")
        kept_notes = sum(1 for key in tally.notes if key[0] in tally.proposed)
        shown = sum(
            len(day["notes"])
            for cycle in tally.proposed
            for day in client.get(f"/v1/cycles/{cycle}", headers=first).json()["days"]
        )
        if shown != kept_notes:
            wrong.append(f"{shown} notes shown, {kept_notes} accepted")
        for user in USERS:
            headers = {"Authorization": f"Bearer {keys[user]}"}
            total = client.get("/v1/sessions?limit=1", headers=headers).json()["total"]
            if total != tally.brought[user]:
                wrong.append(f"{user}: {total} sessions, {tally.brought[user]} brought")
    return wrong


def run(database: str, seconds: float) -> dict[str, Any]:
    with TemporaryDirectory(prefix="group-load-") as folder:
        root = Path(folder)
        keys_file = root / "keys.json"
        store = KeyStore(keys_file)
        keys = {user: store.add(user, "professional") for user in USERS}
        env = {
            "COACH_API_KEYS_FILE": str(keys_file),
            "COACH_RATE_COACH_PER_MINUTE": "0",
            "COACH_RATE_SEARCH_PER_MINUTE": "0",
        }
        postgres = running_postgres(free_port()) if database == "postgresql" else None
        url = postgres.__enter__() if postgres else None
        if url:
            plain = url.replace("+psycopg", "")
            with psycopg.connect(f"{plain}/postgres", autocommit=True) as connection:
                connection.execute('CREATE DATABASE "coach"')
            env["COACH_DATABASE_URL"] = url + "/coach"
        try:
            with running_service(root, env=env) as base:
                head = {"Authorization": f"Bearer {keys[USERS[0]]}"}
                made = httpx.post(
                    f"{base}/v1/groups",
                    json={"name": "Belasting", "members": USERS[1:]},
                    headers=head,
                    timeout=30,
                ).json()
                for user in USERS[1:]:
                    httpx.post(
                        f"{base}/v1/groups/{made['id']}/accept",
                        headers={"Authorization": f"Bearer {keys[user]}"},
                        timeout=30,
                    ).raise_for_status()
                tally = Tally()
                threads = [
                    threading.Thread(
                        target=member, args=(base, keys[user], user, seconds, tally, number)
                    )
                    for number, user in enumerate(USERS)
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                wrong = accounted(base, keys, tally)
        finally:
            if postgres:
                postgres.__exit__(None, None, None)
    return {
        "database": database,
        "seconds": seconds,
        "requests": sum(tally.statuses.values()),
        "statuses": dict(sorted(tally.statuses.items())),
        "by_action": dict(sorted(tally.by_action.items())),
        "server_errors": tally.errors[:10],
        "cycles": len(tally.proposed),
        "notes": len(tally.notes),
        "check_ins": len(tally.check_ins),
        "unaccounted": wrong[:20],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--databases", default="sqlite,postgresql")
    options = parser.parse_args()
    results = [run(db, options.seconds) for db in options.databases.split(",")]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    sound = all(not r["server_errors"] and not r["unaccounted"] for r in results)
    return 0 if sound else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""A real Learning Record Store for the learning records' tests: Ralph (xAPI 1.0.3) with its
file-system backend, from its own venv (`make test` makes `.venv-ralph`), on a free port. It
can be stopped and started again on the same port and data, as an LRS that goes down."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port

RALPH = Path(__file__).resolve().parents[1] / ".venv-ralph" / "bin" / "ralph"
USER, PASSWORD = "coach", "lrs-secret"
VERSION = {"X-Experience-API-Version": "1.0.3"}
# `ralph runserver` is uvicorn with its development reloader, and Ralph 5.1.0's file-system
# backend writes each request as a new file of the one name, so it refuses the second write
# ("already exists and overwrite is not allowed"). The tests serve Ralph's own app without the
# reloader, its file-system backend appending to that file: the xAPI behaviour (ids, 409 on a
# known id, GET) is all Ralph's.
SERVE = """
import sys, uvicorn
from ralph.backends.data.base import BaseOperationType
from ralph.backends.data.fs import FSDataBackend
FSDataBackend.default_operation_type = BaseOperationType.APPEND
uvicorn.run("ralph.api:app", host="127.0.0.1", port=int(sys.argv[1]), log_level="info")
"""


class Ralph:
    def __init__(self, root: Path) -> None:
        if not RALPH.exists():
            raise RuntimeError(f"Ralph is missing at {RALPH}: `make test` installs it")
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/xAPI"
        self._process: subprocess.Popen[bytes] | None = None
        self._env = {
            **os.environ,
            "RALPH_APP_DIR": str(root),
            "RALPH_AUTH_FILE": str(root / "auth.json"),
            "RALPH_RUNSERVER_BACKEND": "fs",
            "RALPH_BACKENDS__DATA__FS__DEFAULT_DIRECTORY_PATH": str(root / "data"),
        }
        subprocess.run(
            [str(RALPH), "auth", "-u", USER, "-p", PASSWORD, "-s", "all", "-M",
             "mailto:lrs@example.org", "-w"],
            env=self._env, check=True, capture_output=True,
        )  # fmt: skip

    def start(self) -> None:
        log = (self.root / "ralph.log").open("a")
        self._process = subprocess.Popen(
            [str(RALPH.with_name("python")), "-c", SERVE, str(self.port)],
            env=self._env, stdout=log, stderr=subprocess.STDOUT, cwd=self.root,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/__heartbeat__", timeout=1).is_success:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"Ralph did not start: see {self.root / 'ralph.log'}")

    def stop(self) -> None:
        if self._process is not None:
            os.killpg(self._process.pid, 15)
            self._process.wait(timeout=30)
            self._process = None

    def statements(self) -> list[dict[str, Any]]:
        """Every statement the LRS holds, read back through its own GET /xAPI/statements."""
        found: list[dict[str, Any]] = []
        url: str | None = f"{self.url}/statements?limit=500"
        while url:
            page = httpx.get(url, auth=(USER, PASSWORD), headers=VERSION, timeout=10)
            page.raise_for_status()
            found += page.json()["statements"]
            more = page.json().get("more")
            url = f"http://127.0.0.1:{self.port}{more}" if more else None
        return found

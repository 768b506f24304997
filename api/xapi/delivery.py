"""Delivering the outbox to the Learning Record Store (xAPI 1.0.3, basic auth).

A batch goes in one POST. When the LRS already holds one of its ids (409: a statement sent
before, whose answer was lost), each goes again by PUT with its id; 409 then means the LRS has
that statement already, which counts as delivered. So a statement arrives once however often
it is sent. While the LRS is unreachable or failing, statements wait longer after each try
(`api.db.outbox.backoff`); nothing is dropped.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from api.db.outbox import Outbox
from api.xapi.statements import RecordsConfig

log = logging.getLogger("coach.xapi")
VERSION = "1.0.3"


class DeliveryError(Exception):
    """The LRS refused or could not take the statements; the message says how."""


class LrsClient:
    def __init__(self, config: RecordsConfig, timeout: float = 10.0) -> None:
        token = base64.b64encode(f"{config.username}:{config.password}".encode()).decode()
        # What an LRS's refusal may echo back of the credentials, never kept in its reason.
        self._secrets = [secret for secret in (token, config.password) if secret]
        self._client = httpx.Client(
            base_url=config.lrs_url.rstrip("/"),
            auth=(config.username, config.password),
            headers={"X-Experience-API-Version": VERSION},
            timeout=timeout,
        )

    def close(self) -> None:
        self._client.close()

    def send(self, statements: list[dict[str, Any]]) -> None:
        """Every statement is in the LRS when this returns; DeliveryError otherwise."""
        try:
            answer = self._client.post("/statements", json=statements)
            if answer.status_code == 409:
                for one in statements:
                    put = self._client.put(
                        "/statements", params={"statementId": one["id"]}, json=one
                    )
                    if put.status_code not in (200, 204, 409):
                        raise DeliveryError(f"the LRS answered {put.status_code} to a statement")
            elif answer.status_code not in (200, 204):
                raise DeliveryError(f"the LRS answered {answer.status_code}: {self._said(answer)}")
        except httpx.HTTPError as error:
            raise DeliveryError(f"the LRS is unreachable ({type(error).__name__})") from error

    def _said(self, answer: httpx.Response) -> str:
        """The start of the LRS's answer, without the password should it repeat it: the reason
        is kept with the records, shown by `GET /v1/admin/xapi` and logged."""
        said = answer.text
        for secret in self._secrets:
            said = said.replace(secret, "***")
        return said[:200]


@dataclass(frozen=True)
class Delivered:
    sent: int
    failed: int
    error: str | None


def deliver_due(outbox: Outbox, client: LrsClient, batch: int = 50) -> Delivered:
    """Send what is due, batch by batch, until nothing is due or the LRS fails."""
    sent = 0
    while True:
        token, claimed = outbox.claim(batch)
        if not claimed:
            return Delivered(sent, 0, None)
        ids = [item.id for item in claimed]
        try:
            client.send([item.statement for item in claimed])
        except DeliveryError as error:
            outbox.failed(token, ids, str(error))
            return Delivered(sent, len(ids), str(error))
        outbox.delivered(token, ids)
        sent += len(ids)


class Deliverer:
    """A thread of one worker that delivers the outbox every `interval_seconds`, after
    `before_round` has queued what came due since (learning records that wait for a meeting to
    start or end: `api.db.cycle_records`)."""

    def __init__(
        self,
        outbox: Outbox,
        config: RecordsConfig,
        before_round: Callable[[], object] = lambda: None,
    ) -> None:
        self._outbox = outbox
        self._before_round = before_round
        self._client = LrsClient(config)
        self._interval = config.interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="coach-xapi", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._before_round()
                done = deliver_due(self._outbox, self._client)
            except Exception:  # the database away for a moment: try again next round
                log.exception("learning records: delivery round failed")
                continue
            if done.error:
                log.warning("learning records: %d waiting; %s", done.failed, done.error)

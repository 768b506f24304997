"""Learning records: what professionals do with the coach, as xAPI 1.0.3 statements for the
organisation's Learning Record Store. `statements` makes them, `recorder` queues them in the
outbox with the action (`api.db.outbox`), `delivery` sends them."""

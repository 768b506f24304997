"""One router a resource; `api.main.create_app` includes each of them."""

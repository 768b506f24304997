"""The HTTP API (FastAPI); built in a later issue."""

"""Settings, read from `COACH_*` environment variables (and a `.env` file) once, at the edge."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from coach.store import StoreLocation


class Settings(BaseSettings):
    """Everything a deployment can set. Library code receives the values it needs explicitly."""

    model_config = SettingsConfigDict(env_prefix="COACH_", env_file=".env", extra="ignore")

    corpus_dir: Path = Field(Path("corpus"), description="Folder of the curated Markdown corpus.")
    index_dir: Path = Field(
        Path("indexes"), description="Folder of the embedded Chroma index (when no server is set)."
    )
    embedding_model: str = Field(
        "all-MiniLM-L6-v2",
        description=(
            "Embedding model: a packaged name (all-MiniLM-L6-v2), or a sentence-transformers "
            "model name or local path."
        ),
    )
    embedding_batch_size: int = Field(32, ge=1, le=1024)
    chunk_tokens: int = Field(
        0,
        ge=0,
        description="Chunk size in the model's tokens; 0 sizes chunks to the model's maximum.",
    )
    chroma_host: str | None = Field(
        None, description="Chroma server host; unset means the embedded index under index_dir."
    )
    chroma_port: int = Field(8000, ge=1, le=65535)
    chroma_ssl: bool = False
    chroma_collection: str = Field("coach", pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,60}[a-zA-Z0-9]$")

    def store_location(self) -> StoreLocation:
        """The embedded index under `index_dir`, or the Chroma server when a host is set."""
        return StoreLocation(
            collection=self.chroma_collection,
            path=None if self.chroma_host else self.index_dir,
            host=self.chroma_host,
            port=self.chroma_port,
            ssl=self.chroma_ssl,
        )

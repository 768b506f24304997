"""Settings, read from `COACH_*` environment variables (and a `.env` file) once, at the edge."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from coach.cycles.planning import DEFAULT_TIME_ZONE, CyclePlanningError, time_zone
from coach.index.records import StoreLocation


class Settings(BaseSettings):
    """Everything a deployment can set. Library code receives the values it needs explicitly."""

    # An invalid value is not repeated in the error: it may be a password (or hold one).
    model_config = SettingsConfigDict(
        env_prefix="COACH_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    corpus_dir: Path = Field(Path("corpus"), description="Folder of the curated Markdown corpus.")
    index_dir: Path = Field(
        Path("indexes"), description="Folder of the embedded Chroma index (when no server is set)."
    )
    embedding_model: str = Field(
        "use-multilingual-v3",
        description=(
            "Embedding model: use-multilingual-v3 (default, chosen by measurement; see README), "
            "multilingual-e5-small, all-MiniLM-L6-v2, or any sentence-transformers model name "
            "or local path (which then needs grounding_threshold and grounding_score)."
        ),
    )
    embedding_batch_size: int = Field(32, ge=1, le=1024)
    chunk_tokens: int = Field(
        0,
        ge=0,
        description="Chunk size in the model's tokens; 0 sizes chunks to the model's maximum.",
    )
    index_group_chunks: int = Field(
        1024,
        ge=1,
        description=(
            "Chunks embedded and committed together; an interrupted run loses at most one group."
        ),
    )
    chroma_host: str | None = Field(
        None, description="Chroma server host; unset means the embedded index under index_dir."
    )
    chroma_port: int = Field(8000, ge=1, le=65535)
    chroma_ssl: bool = False
    chroma_collection: str = Field("coach", pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,60}[a-zA-Z0-9]$")

    grounding_threshold: float | None = Field(
        None,
        ge=-1.0,
        le=1.0,
        description=(
            "Best dense cosine a situation needs to count as covered by the corpus; unset uses "
            "the threshold calibrated for the embedding model."
        ),
    )
    grounding_score: float | None = Field(
        None,
        ge=-3.0,
        le=3.0,
        description=(
            "Hybrid score the best document needs for a situation to count as covered; unset "
            "uses the one calibrated for the embedding model."
        ),
    )
    fusion_dense_weight: float = Field(
        1.0, ge=0, description="Weight of a document's best chunk cosine in hybrid retrieval."
    )
    fusion_item_weight: float = Field(
        1.0, ge=0, description="Weight of a document's best advice item cosine."
    )
    fusion_lexical_weight: float = Field(
        0.3, ge=0, description="Weight of a document's BM25, relative to the best document's."
    )
    llm_base_url: str | None = Field(
        None,
        description=(
            "OpenAI-compatible endpoint (e.g. https://api.openai.com/v1, http://localhost:11434/v1);"
            " unset means the offline extractive composer."
        ),
    )
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr = SecretStr("not-needed")
    llm_timeout: float = Field(30.0, gt=0, le=600)
    llm_temperature: float = Field(0.2, ge=0, le=2)
    judge_base_url: str | None = Field(
        None,
        description="OpenAI-compatible endpoint of the judge for `coach eval --judge`.",
    )
    judge_model: str = "gpt-4o-mini"
    judge_api_key: SecretStr = SecretStr("not-needed")
    judge_timeout: float = Field(120.0, gt=0, le=3600)

    data_dir: Path = Field(
        Path("data"), description="Folder of the service's database and API keys file."
    )
    database_url: str | None = Field(
        None,
        description=(
            "SQLAlchemy URL of the sessions database (e.g. postgresql+psycopg://...); unset "
            "means SQLite in data_dir/coach.sqlite3."
        ),
    )
    session_retention_days: int = Field(0, ge=0, description="Days a session is kept; 0 = keep.")
    api_keys_file: Path | None = Field(
        None, description="The hashed API keys (JSON); unset means data_dir/api-keys.json."
    )
    # Local mode (no API keys) is no setting: only `coach serve --local` switches it on.
    rate_coach_per_minute: int = Field(
        30, ge=0, description="Coaching requests per user a minute (the stream too); 0 = no limit."
    )
    rate_search_per_minute: int = Field(
        120, ge=0, description="Searches per user a minute; 0 = no limit."
    )
    cycle_time_zone: str = Field(
        DEFAULT_TIME_ZONE,
        description="The IANA time zone vital week cycles are planned in (e.g. Europe/Amsterdam).",
    )
    max_pending_drafts: int = Field(
        20, ge=0, description="Lesson drafts one user may have waiting for review; 0 = no limit."
    )
    public_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s/]+(/\S*)?$",
        description=(
            "The address people open the service at (e.g. https://coach.example.org), for the "
            "links in chat answers; unset means the address each request came to."
        ),
    )

    lrs_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s/]+(/\S*)?$",
        description=(
            "The xAPI endpoint of the organisation's Learning Record Store (e.g. "
            "https://lrs.example.org/xAPI); unset means no learning records are kept or sent."
        ),
    )
    lrs_username: str | None = Field(None, description="The LRS's basic-auth user.")
    lrs_password: SecretStr | None = Field(None, description="The LRS's basic-auth password.")
    xapi_base_url: str = Field(
        "http://coach.local/xapi",
        pattern=r"^https?://[^\s/]+(/\S*)?$",
        description=(
            "The IRI under which learning records name activities, the coach's own verbs and "
            "the actor's home page; stable for the life of the LRS (e.g. "
            "https://coach.example.org/xapi)."
        ),
    )
    xapi_interval_seconds: float = Field(
        2.0, gt=0, le=3600, description="How often each worker delivers waiting learning records."
    )

    @model_validator(mode="after")
    def _lrs_credentials(self) -> Settings:
        if self.lrs_url and not (self.lrs_username and self.lrs_password):
            raise ValueError(
                "COACH_LRS_URL needs COACH_LRS_USERNAME and COACH_LRS_PASSWORD (basic auth)"
            )
        return self

    @field_validator("lrs_url")
    @classmethod
    def _no_credentials_in_url(cls, url: str | None) -> str | None:
        """The URL is shown (`GET /v1/admin/xapi`, `coach xapi status`) and may be logged; a
        password in it would be too."""
        if url and "@" in urlsplit(url).netloc:
            raise ValueError(
                "the URL holds credentials (user:password@); give it without them, and the "
                "credentials in COACH_LRS_USERNAME and COACH_LRS_PASSWORD"
            )
        return url

    def lrs_in_clear(self) -> bool:
        """The LRS is reached by plain http on another machine: its password and the learning
        records cross the network readable (the service warns at start-up)."""
        if not self.lrs_url:
            return False
        parts = urlsplit(self.lrs_url)
        host = parts.hostname or ""
        if parts.scheme != "http" or host == "localhost":
            return False
        try:
            return not ipaddress.ip_address(host).is_loopback
        except ValueError:  # a name: not this machine
            return True

    @field_validator("cycle_time_zone")
    @classmethod
    def _known_time_zone(cls, name: str) -> str:
        """Checked when the settings are read (at start-up), not at the first cycle."""
        try:
            time_zone(name)
        except CyclePlanningError as error:  # its message says what to give instead
            raise ValueError(str(error)) from error
        return name

    def keys_path(self) -> Path:
        return self.api_keys_file or self.data_dir / "api-keys.json"

    def sessions_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self.data_dir / 'coach.sqlite3'}"

    def didactics_path(self) -> Path:
        return self.corpus_dir / "didactics.yaml"

    def store_location(self) -> StoreLocation:
        """The embedded index under `index_dir`, or the Chroma server when a host is set."""
        return StoreLocation(
            collection=self.chroma_collection,
            path=None if self.chroma_host else self.index_dir,
            host=self.chroma_host,
            port=self.chroma_port,
            ssl=self.chroma_ssl,
        )

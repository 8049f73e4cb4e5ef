"""The one typed settings object, read from the environment and `.env`.

Every knob of the product lives here so that the CLI, the bot, the tests and the
benchmarks configure the same thing the same way (fakes plug in by base URL).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlparse

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DASHSCOPE_URL = "https://dashscope.aliyuncs.com/compatible-mode/v1"
DEFAULT_CATEGORIES = ("二次元", "生活照片", "宠物", "工作", "表情包")

Provider = Literal["auto", "dashscope", "openai", "vllm", "ollama", "llamacpp"]


def split_names(text: str) -> list[str]:
    """`a, b，c` → ["a", "b", "c"] (Chinese commas too; empty parts dropped)."""
    return [part.strip() for part in text.replace("，", ",").split(",") if part.strip()]


def split_list(value: object) -> object:
    """Comma-separated strings from the environment become lists."""
    return split_names(value) if isinstance(value, str) else value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    # --- the vision-language model endpoint --------------------------------
    vlm_base_url: str = DASHSCOPE_URL
    vlm_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("VLM_API_KEY", "DASHSCOPE_API_KEY")
    )
    vlm_model: str = "qwen-vl-plus"
    ocr_model: str = "qwen-vl-ocr"
    # When the page finder is unsure, ask VLM_MODEL for page boxes (it must ground objects,
    # as Qwen2.5-VL does); off by default: one more model call per such photo.
    page_boxes_from_model: bool = False
    vlm_provider: Provider = "auto"
    vlm_max_concurrency: int = Field(default=8, ge=1, le=256)
    vlm_timeout_s: float = Field(default=60.0, gt=0)
    vlm_max_retries: int = Field(default=3, ge=0, le=10)
    vlm_token_pixels: int = Field(default=32, ge=8, le=64)

    # --- the text model that polishes OCR (defaults to the VLM endpoint) ----
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str = "qwen-plus"

    # --- image budgets, in image tokens -------------------------------------
    classify_max_tokens: int = Field(default=256, ge=4)
    ocr_max_tokens: int = Field(default=1280, ge=64, le=16384)
    captcha_max_tokens: int = Field(default=256, ge=4)
    max_image_pixels: int = Field(default=80_000_000, ge=1_000_000)
    max_file_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)

    # --- OCR engine ---------------------------------------------------------
    ocr_engine: Literal["auto", "vlm", "local"] = "auto"

    # --- tasks --------------------------------------------------------------
    default_categories: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_CATEGORIES)
    )
    # Edited prompt files to try without reinstalling; unset: the ones shipped in the package.
    prompts_dir: Path | None = None
    default_language: Literal["zh", "en"] = "zh"

    # --- Telegram bot -------------------------------------------------------
    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str | None = None
    telegram_file_base_url: str | None = None
    # SQLite file for the application's data, used while DATABASE_URL is unset.
    database_path: Path = Path("data/notelens.db")
    # postgresql://user:password@host/db to share one database between processes.
    database_url: SecretStr | None = None
    allowed_user_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    admin_user_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    user_jobs_per_minute: int = Field(default=10, ge=1)
    telegram_max_download_bytes: int = 20 * 1024 * 1024
    pdf_max_pages: int = Field(default=20, ge=1, le=200)
    album_wait_s: float = Field(default=1.5, gt=0)
    # Notes archive: days a note is kept (unset: for good); `Archive.prune` drops older ones.
    archive_retention_days: int | None = Field(default=None, ge=1)
    # Jobs as durable workflows (stored before Telegram is told, resumed after a crash);
    # false runs them in memory (what NoteLens 0.1 did; kept to measure the difference).
    durable_jobs: bool = True
    # `notelens serve`: Telegram posts updates to PUBLIC_URL + /telegram/webhook with this secret.
    public_url: str | None = None
    webhook_secret: SecretStr | None = None
    # Signs the bot's /web links and the web page's sessions; unset: derived from
    # TELEGRAM_BOT_TOKEN by HMAC (never the token itself), else random per process.
    web_secret: SecretStr | None = None

    # --- HTTP API (`notelens serve`) ------------------------------------------
    # Comma-separated bearer keys; unset: no keys, and `serve` listens on loopback only.
    api_keys: SecretStr | None = None
    # Jobs each key may submit per minute (429 with Retry-After beyond it).
    api_rate_per_min: int = Field(default=60, ge=1)
    # The most a request body may carry, in MB (refused with 413 while it streams in).
    api_max_upload_mb: float = Field(default=20.0, gt=0)
    # Images in one job (or pages read of one PDF: PDF_MAX_PAGES).
    api_max_files: int = Field(default=20, ge=1, le=200)

    # --- memory -------------------------------------------------------------
    # Decoded pixels all jobs may hold at once; a photo waits until its pixels fit.
    max_pixels_in_flight: int = Field(default=24_000_000, ge=1_000_000)
    # glibc malloc arenas (0: glibc's default, 8 per core) and giving freed memory back.
    malloc_arena_max: int = Field(default=2, ge=0, le=64)
    malloc_trim: bool = True

    # --- durable jobs (notelens.jobs, on DBOS) ------------------------------
    # Where job state lives; unset: `dbos.sqlite` next to the SQLite database, or the same
    # PostgreSQL server as DATABASE_URL (schema `dbos`).
    jobs_database_url: SecretStr | None = None
    # Names this process: restarted with the same id it resumes its own unfinished jobs.
    worker_id: str = "local"
    # Bump only when unfinished jobs of the old code cannot be replayed by the new code.
    app_version: str = "1"
    # Jobs one process runs at once: twice the model's slots, as a job also downloads and
    # answers (the model calls themselves are bounded by VLM_MAX_CONCURRENCY).
    job_concurrency: int = Field(default=16, ge=1, le=256)
    # A worker silent this long is dead: live workers take over its started jobs.
    worker_silence_s: float = Field(default=60.0, gt=0)
    # On SIGTERM, running jobs get this long to finish; the rest resume at the next start.
    shutdown_grace_s: float = Field(default=25.0, ge=0)
    # The model endpoint's rate limit for the whole deployment (every process together): at
    # most MODEL_RATE_LIMIT requests per MODEL_RATE_PERIOD_S seconds (unset: no limit).
    model_rate_limit: int | None = Field(default=None, ge=1)
    model_rate_period_s: float = Field(default=60.0, gt=0)

    _split_lists = field_validator(
        "default_categories", "allowed_user_ids", "admin_user_ids", mode="before"
    )(split_list)

    @field_validator(
        "vlm_api_key",
        "llm_api_key",
        "telegram_bot_token",
        "webhook_secret",
        "web_secret",
        "database_url",
        "jobs_database_url",
        "api_keys",
        "archive_retention_days",
        "model_rate_limit",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    # --- derived ------------------------------------------------------------
    @property
    def has_vlm(self) -> bool:
        """A model is configured: a key, or a self-hosted server that needs none."""
        return self.vlm_api_key is not None or self.resolved_provider != "dashscope"

    @property
    def has_llm(self) -> bool:
        url, key = self.llm_endpoint
        return key is not None or detect_provider(url) != "dashscope"

    @property
    def llm_endpoint(self) -> tuple[str, SecretStr | None]:
        """The polishing model's endpoint; without its own, it shares the VLM's."""
        if self.llm_base_url:
            return self.llm_base_url, self.llm_api_key or self.vlm_api_key
        return self.vlm_base_url, self.llm_api_key or self.vlm_api_key

    @cached_property
    def resolved_provider(self) -> str:
        return (
            detect_provider(self.vlm_base_url) if self.vlm_provider == "auto" else self.vlm_provider
        )

    @property
    def api_key_values(self) -> list[str]:
        """The API keys, each stripped; empty when API_KEYS is unset."""
        if self.api_keys is None:
            return []
        return split_names(self.api_keys.get_secret_value())

    @property
    def api_max_upload_bytes(self) -> int:
        return int(self.api_max_upload_mb * 1024 * 1024)

    @property
    def uses_local_ocr(self) -> bool:
        """`auto` reads locally when no model is configured; `vlm` and `local` are explicit."""
        if self.ocr_engine == "auto":
            return not self.has_vlm
        return self.ocr_engine == "local"


def detect_provider(base_url: str) -> str:
    """Guess the server kind from its URL; only DashScope gets DashScope-only fields."""
    parsed = urlparse(base_url)
    host = parsed.hostname or ""
    if host.endswith("aliyuncs.com"):
        return "dashscope"
    if parsed.port == 11434:
        return "ollama"
    if host.endswith("openai.com"):
        return "openai"
    return "vllm"

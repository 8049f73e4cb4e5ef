"""Shared fixtures: an isolated environment and a fake model server on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from notelens.config import Settings
from testsupport.fakes.openai_server import FakeOpenAI

SETTING_PREFIXES = (
    "VLM_",
    "LLM_",
    "OCR_",
    "DASHSCOPE_",
    "TELEGRAM_",
    "DATABASE_",
    "ALLOWED_",
    "ADMIN_",
    "USER_JOBS",
    "DEFAULT_CATEGORIES",
    "CLASSIFY_",
    "CAPTCHA_",
    "MAX_",
    "PDF_",
    "ALBUM_",
    "DEFAULT_LANGUAGE",
    "PROMPTS_DIR",
    "JOBS_",
    "WORKER_",
    "APP_VERSION",
    "JOB_",
    "SHUTDOWN_",
    "ARCHIVE_",
    "API_",
    "WEB",  # WEB_SECRET, WEBHOOK_SECRET
    "PUBLIC_URL",
)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No real key, token or .env file can leak into a test."""
    for name in list(os.environ):
        if name.startswith(SETTING_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture
def fake_model() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def model_env(server: FakeOpenAI, **extra: Any) -> dict[str, str]:
    """Environment variables that point the product at the fake model server."""
    env = {
        "VLM_BASE_URL": server.url,
        "VLM_API_KEY": "sk-test-secret",
        "VLM_TIMEOUT_S": "3",
        "VLM_MAX_RETRIES": "2",
        "OCR_ENGINE": "vlm",
    }
    env.update({k.upper(): str(v) for k, v in extra.items()})
    return env


@pytest.fixture
def settings_for(monkeypatch: pytest.MonkeyPatch):
    """Settings built from the environment, exactly as the product reads them."""

    def make(server: FakeOpenAI, **extra: Any) -> Settings:
        for key, value in model_env(server, **extra).items():
            monkeypatch.setenv(key, value)
        return Settings()

    return make

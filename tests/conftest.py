"""Shared test set-up: offline model hubs, no real API keys, a fresh store per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Nothing in the tests may reach a model hub: fail fast instead of waiting on a network that is not there.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(autouse=True)
def _no_real_api_keys(monkeypatch):
    """Real keys never reach a test: tests that need a key set a fake one for a loopback server."""
    for name in ("GROQ_API_KEY", "GEMINI_API_KEY", "OPENAI_API_KEY", "GROQ_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def store(tmp_path):
    from vidqa.store import Store

    s = Store(tmp_path / "vidqa.db")
    yield s
    s.close()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS

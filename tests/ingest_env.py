"""Fixtures shared by the ingest and robustness tests: a clean download environment and a store in tmp."""

from __future__ import annotations

import pytest

import vidqa.media.download as dl
from vidqa.store import Store


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    monkeypatch.setattr(dl, "RETRY_BACKOFF_S", 0.01)
    for var in ("VIDQA_ALLOW_PRIVATE_URLS", "VIDQA_DRIVE_BASE", "VIDQA_ALLOWED_ROOTS", "VIDQA_MAX_DOWNLOAD_BYTES"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "data" / "vidqa.db")
    yield s
    s.close()

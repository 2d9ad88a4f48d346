"""The SQLite store: the one owner of vidqa's schema.

Open a store with :func:`open_store` (or :class:`Store`). The database runs in WAL mode with a busy timeout, every
write is one ``BEGIN IMMEDIATE`` transaction (nested blocks are savepoints), and the schema is versioned with
migration functions recorded as applied (:mod:`vidqa.store.schema`). Dashboards open it read-only
(``open_store(path, readonly=True)``); read-only commands open it with ``create=False`` so a wrong path is an error,
never a new empty database.

The store is split by domain, one module each, combined here: videos (:mod:`~vidqa.store.videos`), runs
(:mod:`~vidqa.store.runs`), cues (:mod:`~vidqa.store.cues`), notes (:mod:`~vidqa.store.notes`). Stage functions
return records (:mod:`vidqa.records`) and never write; :mod:`vidqa.pipeline` is the only writer.
Paths of media files are stored relative to the folder holding the database (the *data folder*), so a data
folder can be moved whole.

Example::

    from vidqa.store import open_store
    store = open_store("data/vidqa.db")
    for video in store.videos():
        print(video.id, video.duration)
"""

from __future__ import annotations

from pathlib import Path

from vidqa.store.cues import CueTables
from vidqa.store.db import BUSY_TIMEOUT_S, Database, now, settings_hash
from vidqa.store.evaluations import EvaluationTables
from vidqa.store.notes import NoteTables
from vidqa.store.questions import QuestionTables
from vidqa.store.runs import RunTables
from vidqa.store.schema import MIGRATIONS, SCHEMA_VERSION
from vidqa.store.videos import VideoTables

__all__ = ["Store", "open_store", "BUSY_TIMEOUT_S", "MIGRATIONS", "SCHEMA_VERSION", "now", "settings_hash"]


class Store(VideoTables, RunTables, CueTables, NoteTables, QuestionTables, EvaluationTables, Database):
    """A vidqa database and the data folder around it (see :class:`~vidqa.store.db.Database` for the options)."""


def open_store(path: str | Path | None = None, *, readonly: bool = False, create: bool = True) -> Store:
    """Open the vidqa database at ``path``: created and migrated if needed, unless ``readonly`` or ``create=False``
    (then a missing file is a :class:`~vidqa.errors.StoreError` naming the path and the command that makes one)."""
    return Store(path, readonly=readonly, create=create)

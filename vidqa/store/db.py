"""The database plumbing under :class:`~vidqa.store.Store`: connections, transactions, migrations, paths.

- One SQLite connection per thread (a worker thread never shares a transaction), WAL, busy timeout.
- :meth:`Database.transaction` is one ``BEGIN IMMEDIATE`` write transaction; nested calls become savepoints, so an
  inner block that fails rolls back alone and the outer one goes on.
- Migrations (:mod:`vidqa.store.schema`) run on open, each in the same transaction as its version bump.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlite_utils

from vidqa.config import default_db_path
from vidqa.errors import StoreError
from vidqa.store.schema import MIGRATIONS, SCHEMA_VERSION

__all__ = ['BUSY_TIMEOUT_S', 'HOST', 'now', 'settings_hash', 'dumps', 'Database', 'current_process']

BUSY_TIMEOUT_S = 30.0
HOST = socket.gethostname()


def now() -> str:
    """UTC time as ISO-8601 with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def settings_hash(settings: dict[str, Any]) -> str:
    """A stable hash of a stage's settings (used to skip work already done with the same settings)."""
    blob = json.dumps(settings, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def dumps(value: Any) -> str:
    """JSON for a TEXT column."""
    return json.dumps(value, default=str)


class Database:
    """A vidqa database file and the data folder around it.

    Parameters
    ----------
    path:
        The SQLite file. Default: ``$VIDQA_DB`` or ``./data/vidqa.db``.
    readonly:
        Open with ``mode=ro`` (for dashboards): no migrations, every write raises.
    create:
        Create the file (and its folder) when missing. ``False`` raises :class:`StoreError` naming the path, so a
        read-only command or a mistyped ``--db`` never leaves an empty database behind.
    timeout:
        Seconds a writer waits for another writer's lock before failing.
    """

    def __init__(self, path: str | Path | None = None, *, readonly: bool = False, create: bool = True,
                 timeout: float = BUSY_TIMEOUT_S):
        self.path = Path(path) if path is not None else default_db_path()
        self.readonly = readonly
        self.timeout = timeout
        self._local = threading.local()
        self._conns: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._conns_lock = threading.Lock()
        if readonly or not create:
            if not self.path.is_file():
                raise StoreError(
                    f"No vidqa database at {self.path.resolve()}: run `vidqa ingest SOURCE --db {self.path}` to "
                    "create one (or pass --db with the right path)."
                )
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self.conn  # opens this thread's connection (and sets WAL mode)
        if not readonly:
            self._migrate()
            self._after_open()
        elif self.schema_version > SCHEMA_VERSION:
            conn.close()
            raise StoreError(f"{self.path} has schema {self.schema_version}; this vidqa knows {SCHEMA_VERSION}.")

    def _after_open(self) -> None:
        """Hook for domain tables (e.g. marking runs whose process is gone)."""

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection to the database."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._conns_lock:
                self._conns.append((threading.current_thread(), conn))
        return conn

    @property
    def db(self) -> sqlite_utils.Database:
        """A ``sqlite_utils.Database`` over this thread's connection (for reads and introspection)."""
        return sqlite_utils.Database(self.conn)

    def _connect(self) -> sqlite3.Connection:
        try:
            if self.readonly:
                uri = f"file:{self.path.resolve()}?mode=ro"
                conn = sqlite3.connect(uri, uri=True, timeout=self.timeout, check_same_thread=False,
                                       isolation_level=None)
            else:
                conn = sqlite3.connect(str(self.path), timeout=self.timeout, check_same_thread=False,
                                       isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            if not self.readonly:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
            else:
                conn.execute("PRAGMA schema_version")  # fails now, not later, when the file is not a database
        except sqlite3.DatabaseError as err:
            raise StoreError(f"{self.path} is not a vidqa database (SQLite said: {err}).") from None
        return conn

    # --- paths -----------------------------------------------------------------------------------------------
    @property
    def root(self) -> Path:
        """The data folder (the database's folder)."""
        return self.path.resolve().parent

    @property
    def media_dir(self) -> Path:
        return self.root / "media"

    @property
    def notes_dir(self) -> Path:
        return self.root / "notes"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    def abspath(self, rel: str | Path) -> Path:
        """A stored (relative) path as an absolute path."""
        p = Path(rel)
        return p if p.is_absolute() else self.root / p

    def relpath(self, path: str | Path) -> str:
        """An absolute path inside the data folder as the relative string the database stores."""
        p = Path(path).resolve()
        try:
            return p.relative_to(self.root).as_posix()
        except ValueError:
            return str(p)

    # --- connections -----------------------------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def release_thread(self) -> None:
        """Close the calling thread's connection (a worker thread that is done with the store calls this)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            with self._conns_lock:
                self._conns = [(t, c) for t, c in self._conns if c is not conn]
            conn.close()

    def optimize(self) -> None:
        """Refresh the query planner's statistics (``PRAGMA optimize``; cheap, run after big batches)."""
        if not self.readonly:
            self.conn.execute("PRAGMA optimize")

    def close(self) -> None:
        """Close this thread's connection and those of threads that have ended.

        A connection another live thread owns is left to that thread (closing it under a running query crashes
        SQLite): it closes when the thread calls :meth:`release_thread` or ends. The store can be used again after
        ``close()``; each thread then opens a new connection.
        """
        if not self.readonly and getattr(self._local, "conn", None) is not None:
            try:
                self.conn.execute("PRAGMA optimize")
            except sqlite3.Error:
                pass
        me = threading.current_thread()
        with self._conns_lock:
            closing = [c for t, c in self._conns if t is me or not t.is_alive()]
            self._conns = [(t, c) for t, c in self._conns if not (t is me or not t.is_alive())]
        for conn in closing:
            conn.close()
        self._local = threading.local()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self):
        raise TypeError("A Store holds SQLite connections and cannot be pickled: send plain records to workers "
                        "and commit their results in the process that owns the store.")

    # --- transactions ----------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` write transaction: commits on success, rolls back on any error.

        A nested call is a ``SAVEPOINT``: if the inner block raises, only its writes are undone (and the error
        propagates); the outer transaction decides about the rest.
        """
        if self.readonly:
            raise StoreError(f"{self.path} is open read-only.")
        conn = self.conn
        if conn.in_transaction:
            depth = getattr(self._local, "depth", 0) + 1
            self._local.depth = depth
            name = f"vidqa_sp{depth}"
            conn.execute(f"SAVEPOINT {name}")
            try:
                yield conn
            except BaseException:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
                raise
            else:
                conn.execute(f"RELEASE {name}")
            finally:
                self._local.depth = depth - 1
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as err:
            raise StoreError(f"Could not lock {self.path} for writing: {err}") from err
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: several queries see one consistent state (WAL snapshot)."""
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")


    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}, newer than this vidqa ({SCHEMA_VERSION}): upgrade vidqa."
            )
        if version == SCHEMA_VERSION:
            return
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = self.schema_version  # another process may have migrated meanwhile
            for i in range(version, SCHEMA_VERSION):
                name, migrate = MIGRATIONS[i]
                migrate(conn)
                if i >= 1:  # schema_migrations exists from v2 on; v1 is recorded with it
                    if i == 1 and version <= 1:
                        conn.execute("INSERT OR IGNORE INTO schema_migrations VALUES (1, ?, ?)", (MIGRATIONS[0][0], now()))
                    conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (i + 1, name, now()))
                conn.execute(f"PRAGMA user_version = {i + 1}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def migrations(self) -> list[dict[str, Any]]:
        """The migrations applied to this database, in order (version, name, applied_at)."""
        return self.query("SELECT * FROM schema_migrations ORDER BY version")

    # --- reads -----------------------------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        """Rows of a read query as dicts."""
        return [dict(r) for r in self.conn.execute(sql, params).fetchall()]

    def dataframe(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()):  # -> pandas.DataFrame
        """Rows of a read query as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.query(sql, params))


def current_process() -> tuple[int, str]:
    """(pid, host) of this process, recorded with every run."""
    return os.getpid(), HOST

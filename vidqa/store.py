"""The SQLite store: the one owner of vidqa's schema.

Open a store with :func:`open_store` (or :class:`Store`). The database runs in WAL mode with a busy timeout, every
write is one ``BEGIN IMMEDIATE`` transaction, and the schema is versioned (``PRAGMA user_version``) with
migrations applied on open. Dashboards open it read-only (``Store(path, readonly=True)``).

There is one write helper per record kind; stage functions return records (:mod:`vidqa.records`) and never write.
Paths of media files are stored relative to the folder holding the database (the *data folder*), so a data
folder can be moved whole.

Example::

    from vidqa.store import open_store
    store = open_store("data/vidqa.db")
    for video in store.videos():
        print(video.id, video.duration)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlite_utils

from .config import default_db_path
from .errors import NotFoundError, StoreError
from .records import (
    AudioEvent,
    MediaFile,
    Note,
    Run,
    TranscriptSegment,
    TranscriptWord,
    Video,
    VisualEvent,
)

BUSY_TIMEOUT_S = 30.0

# Each entry migrates the schema from version i to i + 1. Append, never edit a released entry.
MIGRATIONS: list[str] = [
    # --- version 1 ---------------------------------------------------------------------------------------------
    """
    CREATE TABLE videos (
        id TEXT PRIMARY KEY,                -- first 12 hex digits of sha256
        sha256 TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        duration REAL NOT NULL,             -- seconds
        fps REAL,                           -- average frame rate
        is_vfr INTEGER NOT NULL DEFAULT 0,
        width INTEGER NOT NULL,             -- display size, after rotation
        height INTEGER NOT NULL,
        rotation INTEGER NOT NULL DEFAULT 0,
        video_codec TEXT NOT NULL,
        audio_codec TEXT,
        audio_tracks INTEGER NOT NULL DEFAULT 0,
        has_audio INTEGER NOT NULL DEFAULT 0,
        path TEXT NOT NULL,                 -- original, relative to the data folder
        play_path TEXT NOT NULL,            -- browser-playable copy (may equal path)
        audio_path TEXT,                    -- 16 kHz mono wav
        audio_track INTEGER,                -- which audio track was extracted
        audio_coverage REAL,                -- decoded audio seconds / video seconds
        size INTEGER NOT NULL DEFAULT 0,
        warnings TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL
    );
    CREATE TABLE video_sources (
        source TEXT PRIMARY KEY,            -- as the user gave it (path, URL, Drive link)
        video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,                 -- local / url / drive
        added_at TEXT NOT NULL
    );
    CREATE INDEX video_sources_video ON video_sources(video_id);
    CREATE TABLE media_files (
        id INTEGER PRIMARY KEY,
        video_id TEXT REFERENCES videos(id) ON DELETE CASCADE,
        role TEXT NOT NULL,                 -- original / proxy / audio / note_audio
        path TEXT NOT NULL UNIQUE,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        mime TEXT,
        codec TEXT,
        info TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL
    );
    CREATE INDEX media_files_video ON media_files(video_id);
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        stage TEXT NOT NULL,
        video_id TEXT,
        settings TEXT NOT NULL,
        settings_hash TEXT NOT NULL,
        status TEXT NOT NULL,               -- running / done / failed / skipped
        started_at TEXT NOT NULL,
        finished_at TEXT,
        seconds REAL,                       -- wall time
        media_seconds REAL,                 -- media processed
        n_records INTEGER,
        error TEXT,
        vidqa_version TEXT
    );
    CREATE INDEX runs_lookup ON runs(stage, video_id, settings_hash, status);
    CREATE TABLE transcript_segments (
        id INTEGER PRIMARY KEY,
        video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        run_id INTEGER REFERENCES runs(id),
        backend TEXT,
        model TEXT,
        seg_index INTEGER NOT NULL,
        start REAL NOT NULL,
        end REAL NOT NULL,
        text TEXT NOT NULL,
        avg_logprob REAL,
        no_speech_prob REAL,
        language TEXT
    );
    CREATE INDEX transcript_segments_video ON transcript_segments(video_id, start);
    CREATE TABLE transcript_words (
        id INTEGER PRIMARY KEY,
        segment_id INTEGER NOT NULL REFERENCES transcript_segments(id) ON DELETE CASCADE,
        video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        start REAL NOT NULL,
        end REAL NOT NULL,
        word TEXT NOT NULL,
        probability REAL
    );
    CREATE INDEX transcript_words_video ON transcript_words(video_id, start);
    CREATE TABLE visual_events (
        id INTEGER PRIMARY KEY,
        video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        run_id INTEGER REFERENCES runs(id),
        t REAL NOT NULL,
        frame_index INTEGER,
        kind TEXT NOT NULL,                 -- object / text / colour / scene_cut
        label TEXT NOT NULL,
        confidence REAL NOT NULL,
        x0 REAL, y0 REAL, x1 REAL, y1 REAL, -- normalised box
        attributes TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX visual_events_video ON visual_events(video_id, kind, t);
    CREATE TABLE audio_events (
        id INTEGER PRIMARY KEY,
        video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        run_id INTEGER REFERENCES runs(id),
        kind TEXT NOT NULL,
        start REAL NOT NULL,
        end REAL NOT NULL,
        peak REAL NOT NULL,
        confidence REAL NOT NULL,
        labels TEXT NOT NULL DEFAULT '[]'
    );
    CREATE INDEX audio_events_video ON audio_events(video_id, kind, start);
    CREATE TABLE notes (
        id INTEGER PRIMARY KEY,
        video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        t REAL NOT NULL,                    -- stamp, seconds of media time
        end REAL,
        frame_index INTEGER,
        kind TEXT NOT NULL,                 -- voice / typed
        text TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,               -- recording / pending / transcribing / done / error / typed
        error TEXT,
        audio_path TEXT,
        audio_mime TEXT,
        backend TEXT,
        tags TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        deleted_at TEXT
    );
    CREATE INDEX notes_video ON notes(video_id, t);
    CREATE TABLE summaries (
        id INTEGER PRIMARY KEY,
        video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE qa_pairs (
        id INTEGER PRIMARY KEY,
        video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        template TEXT,
        question TEXT NOT NULL,
        answer TEXT,
        options TEXT NOT NULL DEFAULT '[]',
        t_start REAL,
        t_end REAL,
        audio_cue TEXT NOT NULL DEFAULT '{}',
        visual_cue TEXT NOT NULL DEFAULT '{}',
        source_note_id INTEGER REFERENCES notes(id),
        status TEXT NOT NULL DEFAULT 'draft', -- draft / validated / rejected
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX qa_pairs_video ON qa_pairs(video_id, status);
    CREATE TABLE qa_reviews (
        id INTEGER PRIMARY KEY,
        qa_id INTEGER NOT NULL REFERENCES qa_pairs(id) ON DELETE CASCADE,
        reviewer TEXT NOT NULL,
        verdict TEXT NOT NULL,              -- accept / reject / edit
        answer TEXT,
        comment TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE llm_responses (
        id INTEGER PRIMARY KEY,
        qa_id INTEGER NOT NULL REFERENCES qa_pairs(id) ON DELETE CASCADE,
        run_id INTEGER REFERENCES runs(id),
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        modality TEXT,                      -- av / audio / visual / text
        response TEXT,
        answer TEXT,
        correct INTEGER,
        score REAL,
        error_category TEXT,
        latency REAL,
        error TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX llm_responses_qa ON llm_responses(qa_id);
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


def now() -> str:
    """UTC time as ISO-8601 with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def settings_hash(settings: dict[str, Any]) -> str:
    """A stable hash of a stage's settings (used to skip work already done with the same settings)."""
    blob = json.dumps(settings, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)


class Store:
    """A vidqa database and the data folder around it.

    Parameters
    ----------
    path:
        The SQLite file (created with its folder if missing, unless ``readonly``). Default: ``$VIDQA_DB`` or
        ``./data/vidqa.db``.
    readonly:
        Open with ``mode=ro`` (for dashboards): no migrations, every write raises.
    timeout:
        Seconds a writer waits for another writer's lock before failing.
    """

    def __init__(self, path: str | Path | None = None, *, readonly: bool = False, timeout: float = BUSY_TIMEOUT_S):
        self.path = Path(path) if path is not None else default_db_path()
        self.readonly = readonly
        self.timeout = timeout
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        if readonly:
            if not self.path.exists():
                raise StoreError(f"No database at {self.path} (open it once read-write to create it).")
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self.conn  # opens this thread's connection (and sets WAL mode)
        if not readonly:
            self._migrate()
        elif self.schema_version > SCHEMA_VERSION:
            conn.close()
            raise StoreError(f"{self.path} has schema {self.schema_version}; this vidqa knows {SCHEMA_VERSION}.")

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection to the database.

        Each thread gets its own connection, so a stage running in a worker thread (transcription beside the visual
        path, the player's transcription worker) has its own transactions and never reads another thread's
        uncommitted rows; WAL lets them read while one writes.
        """
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    @property
    def db(self) -> sqlite_utils.Database:
        """A ``sqlite_utils.Database`` over this thread's connection (for reads and introspection)."""
        return sqlite_utils.Database(self.conn)

    def _connect(self) -> sqlite3.Connection:
        if self.readonly:
            uri = f"file:{self.path.resolve()}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, timeout=self.timeout, check_same_thread=False, isolation_level=None)
        else:
            conn = sqlite3.connect(str(self.path), timeout=self.timeout, check_same_thread=False,
                                   isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        if not self.readonly:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    # --- plumbing --------------------------------------------------------------------------------------------
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

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def release_thread(self) -> None:
        """Close the calling thread's connection (a worker thread that is done with the store calls this)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            with self._conns_lock:
                self._conns = [c for c in self._conns if c is not conn]
            conn.close()

    def close(self) -> None:
        """Close every connection this store opened (in any thread)."""
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()
        self._local = threading.local()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` write transaction: commits on success, rolls back on any error.

        Nested calls join the outer transaction.
        """
        if self.readonly:
            raise StoreError(f"{self.path} is open read-only.")
        conn = self.conn
        if conn.in_transaction:
            yield conn
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
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
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
                for statement in _split_sql(MIGRATIONS[i]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {i + 1}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        """Rows of a read query as dicts."""
        return [dict(r) for r in self.conn.execute(sql, params).fetchall()]

    def dataframe(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()):  # -> pandas.DataFrame
        """Rows of a read query as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.query(sql, params))

    # --- videos ----------------------------------------------------------------------------------------------
    def add_video(
        self,
        video: Video,
        media: Iterable[MediaFile] = (),
        *,
        source: str | None = None,
        source_kind: str = "local",
    ) -> Video:
        """Insert a video (or keep the existing one with the same sha256), its media files and its source.

        Returns the stored video. Ingesting the same bytes twice gives one row.
        """
        with self.transaction() as conn:
            existing = conn.execute("SELECT id FROM videos WHERE sha256 = ?", (video.sha256,)).fetchone()
            if existing is None:
                row = {
                    k: v
                    for k, v in video.__dict__.items()
                    if k not in {"warnings", "created_at"}
                }
                row["is_vfr"] = int(video.is_vfr)
                row["has_audio"] = int(video.has_audio)
                row["warnings"] = _dumps(video.warnings)
                row["created_at"] = now()
                cols = ", ".join(row)
                conn.execute(f"INSERT INTO videos ({cols}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
                video_id = video.id
                for m in media:
                    conn.execute(
                        "INSERT OR IGNORE INTO media_files (video_id, role, path, sha256, size, mime, codec, info,"
                        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (video_id, m.role, m.path, m.sha256, m.size, m.mime, m.codec, _dumps(m.info), now()),
                    )
            else:
                video_id = existing["id"]
            if source:
                conn.execute(
                    "INSERT INTO video_sources (source, video_id, kind, added_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT(source) DO UPDATE SET video_id = excluded.video_id",
                    (source, video_id, source_kind, now()),
                )
        return self.video(video_id)

    def video(self, key: str) -> Video:
        """A video by id, full sha256 or a source it was ingested from. Raises :class:`NotFoundError`."""
        found = self.find_video(key)
        if found is None:
            raise NotFoundError(f"No video {key!r} in {self.path}; ingest it first (vidqa ingest SOURCE).")
        return found

    def find_video(self, key: str) -> Video | None:
        """Like :meth:`video` but returns ``None`` when there is no such video."""
        row = self.conn.execute(
            "SELECT * FROM videos WHERE id = ? OR sha256 = ? OR id = "
            "(SELECT video_id FROM video_sources WHERE source = ?)",
            (key, key, key),
        ).fetchone()
        return _video(row) if row else None

    def videos(self) -> list[Video]:
        """All videos, oldest first."""
        return [_video(r) for r in self.conn.execute("SELECT * FROM videos ORDER BY created_at, id")]

    def sources(self, video_id: str) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM video_sources WHERE video_id = ? ORDER BY added_at", (video_id,))

    def media_files(self, video_id: str) -> list[MediaFile]:
        rows = self.conn.execute("SELECT * FROM media_files WHERE video_id = ? ORDER BY id", (video_id,))
        return [
            MediaFile(r["role"], r["path"], r["sha256"], r["size"], r["mime"], r["codec"], json.loads(r["info"]))
            for r in rows
        ]

    def add_media_file(self, video_id: str | None, media: MediaFile) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO media_files (video_id, role, path, sha256, size, mime, codec, info,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (video_id, media.role, media.path, media.sha256, media.size, media.mime, media.codec,
                 _dumps(media.info), now()),
            )

    def update_video(self, video_id: str, **fields: Any) -> Video:
        """Set columns of a video (e.g. ``play_path`` after making a proxy)."""
        if not fields:
            return self.video(video_id)
        for k in ("is_vfr", "has_audio"):
            if k in fields:
                fields[k] = int(fields[k])
        if "warnings" in fields:
            fields["warnings"] = _dumps(fields["warnings"])
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.transaction() as conn:
            cur = conn.execute(f"UPDATE videos SET {sets} WHERE id = ?", [*fields.values(), video_id])
            if cur.rowcount == 0:
                raise NotFoundError(f"No video {video_id!r}.")
        return self.video(video_id)

    # --- runs ------------------------------------------------------------------------------------------------
    def start_run(self, stage: str, video_id: str | None, settings: dict[str, Any]) -> Run:
        """Record that a stage started on a video with these settings."""
        from . import __version__

        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO runs (stage, video_id, settings, settings_hash, status, started_at, vidqa_version)"
                " VALUES (?, ?, ?, ?, 'running', ?, ?)",
                (stage, video_id, _dumps(settings), settings_hash(settings), now(), __version__),
            )
            run_id = cur.lastrowid
        return self.run(run_id)

    def finish_run(
        self,
        run_id: int,
        status: str = "done",
        *,
        seconds: float | None = None,
        media_seconds: float | None = None,
        n_records: int | None = None,
        error: str | None = None,
    ) -> Run:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE runs SET status = ?, finished_at = ?, seconds = ?, media_seconds = ?, n_records = ?,"
                " error = ? WHERE id = ?",
                (status, now(), seconds, media_seconds, n_records, error, run_id),
            )
        return self.run(run_id)

    def run(self, run_id: int) -> Run:
        row = self.conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"No run {run_id}.")
        return _run(row)

    def runs(self, stage: str | None = None, video_id: str | None = None) -> list[Run]:
        sql, params = "SELECT * FROM runs WHERE 1", []
        if stage:
            sql += " AND stage = ?"
            params.append(stage)
        if video_id:
            sql += " AND video_id = ?"
            params.append(video_id)
        return [_run(r) for r in self.conn.execute(sql + " ORDER BY id", params)]

    def find_done_run(self, stage: str, video_id: str | None, settings: dict[str, Any]) -> Run | None:
        """The run whose results the store holds for ``stage`` on ``video_id``, if it used these settings.

        Only the latest finished run counts: each run replaces the rows of the one before, so an older run with the
        same settings no longer has its results in the database.
        """
        row = self.conn.execute(
            "SELECT * FROM runs WHERE stage = ? AND video_id IS ? AND status = 'done' ORDER BY id DESC LIMIT 1",
            (stage, video_id),
        ).fetchone()
        return _run(row) if row and row["settings_hash"] == settings_hash(settings) else None

    # --- transcripts -----------------------------------------------------------------------------------------
    def replace_transcript(
        self,
        video_id: str,
        segments: Sequence[TranscriptSegment],
        *,
        run_id: int | None = None,
        backend: str | None = None,
        model: str | None = None,
    ) -> int:
        """Replace a video's transcript with ``segments`` (and their words) in one transaction."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM transcript_words WHERE video_id = ?", (video_id,))
            conn.execute("DELETE FROM transcript_segments WHERE video_id = ?", (video_id,))
            for i, s in enumerate(segments):
                cur = conn.execute(
                    "INSERT INTO transcript_segments (video_id, run_id, backend, model, seg_index, start, end, text,"
                    " avg_logprob, no_speech_prob, language) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (video_id, run_id, backend, model, i, s.start, s.end, s.text, s.avg_logprob, s.no_speech_prob,
                     s.language),
                )
                conn.executemany(
                    "INSERT INTO transcript_words (segment_id, video_id, start, end, word, probability)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [(cur.lastrowid, video_id, w.start, w.end, w.word, w.probability) for w in s.words],
                )
        return len(segments)

    def transcript(self, video_id: str) -> list[TranscriptSegment]:
        """A video's transcript segments with their words, in time order."""
        with self._snapshot() as conn:  # segments and words from one state of the database
            segs = conn.execute(
                "SELECT * FROM transcript_segments WHERE video_id = ? ORDER BY start, seg_index", (video_id,)
            ).fetchall()
            words: dict[int, list[TranscriptWord]] = {}
            for w in conn.execute("SELECT * FROM transcript_words WHERE video_id = ? ORDER BY start", (video_id,)):
                words.setdefault(w["segment_id"], []).append(
                    TranscriptWord(w["start"], w["end"], w["word"], w["probability"])
                )
        return [
            TranscriptSegment(
                s["start"], s["end"], s["text"], words.get(s["id"], []), s["avg_logprob"], s["no_speech_prob"],
                s["language"],
            )
            for s in segs
        ]

    # --- events ----------------------------------------------------------------------------------------------
    def replace_audio_events(self, video_id: str, events: Sequence[AudioEvent], *, run_id: int | None = None) -> int:
        """Replace a video's audio events in one transaction."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM audio_events WHERE video_id = ?", (video_id,))
            conn.executemany(
                "INSERT INTO audio_events (video_id, run_id, kind, start, end, peak, confidence, labels)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(video_id, run_id, e.kind, e.start, e.end, e.peak, e.confidence, _dumps(e.labels)) for e in events],
            )
        return len(events)

    def audio_events(self, video_id: str, kind: str | None = None) -> list[AudioEvent]:
        sql, params = "SELECT * FROM audio_events WHERE video_id = ?", [video_id]
        if kind:
            sql += " AND kind = ?"
            params.append(kind)
        return [
            AudioEvent(r["kind"], r["start"], r["end"], r["peak"], r["confidence"],
                       [tuple(x) for x in json.loads(r["labels"])])
            for r in self.conn.execute(sql + " ORDER BY start", params)
        ]

    def replace_visual_events(
        self,
        video_id: str,
        events: Sequence[VisualEvent],
        *,
        run_id: int | None = None,
        kinds: Iterable[str] | None = None,
    ) -> int:
        """Replace a video's visual events (only those of ``kinds`` when given) in one transaction."""
        kinds = list(kinds) if kinds is not None else None
        with self.transaction() as conn:
            if kinds is None:
                conn.execute("DELETE FROM visual_events WHERE video_id = ?", (video_id,))
            else:
                conn.execute(
                    f"DELETE FROM visual_events WHERE video_id = ? AND kind IN ({', '.join('?' * len(kinds))})",
                    [video_id, *kinds],
                )
            conn.executemany(
                "INSERT INTO visual_events (video_id, run_id, t, frame_index, kind, label, confidence, x0, y0, x1, y1,"
                " attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (video_id, run_id, e.t, e.frame_index, e.kind, e.label, e.confidence,
                     *(e.box if e.box else (None, None, None, None)), _dumps(e.attributes))
                    for e in events
                ],
            )
        return len(events)

    def visual_events(self, video_id: str, kind: str | None = None) -> list[VisualEvent]:
        sql, params = "SELECT * FROM visual_events WHERE video_id = ?", [video_id]
        if kind:
            sql += " AND kind = ?"
            params.append(kind)
        out = []
        for r in self.conn.execute(sql + " ORDER BY t, id", params):
            box = (r["x0"], r["y0"], r["x1"], r["y1"]) if r["x0"] is not None else None
            out.append(VisualEvent(r["t"], r["kind"], r["label"], r["confidence"], r["frame_index"], box,
                                   json.loads(r["attributes"])))
        return out

    # --- notes -----------------------------------------------------------------------------------------------
    def add_note(
        self,
        video_id: str,
        t: float,
        *,
        frame_index: int | None = None,
        kind: str = "voice",
        text: str = "",
        status: str | None = None,
        tags: Sequence[str] = (),
        end: float | None = None,
    ) -> Note:
        """Save a note at media time ``t`` (seconds). Voice notes start as ``recording``; typed ones as ``typed``."""
        status = status or ("recording" if kind == "voice" else "typed")
        stamp = now()
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO notes (video_id, t, end, frame_index, kind, text, status, tags, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (video_id, float(t), end, frame_index, kind, text, status, _dumps(list(tags)), stamp, stamp),
            )
            note_id = cur.lastrowid
        return self.note(note_id)

    NOTE_FIELDS = frozenset({"t", "end", "frame_index", "kind", "text", "status", "error", "audio_path",
                             "audio_mime", "backend", "tags"})

    def update_note(self, note_id: int, **fields: Any) -> Note:
        """Change fields of a note (``text``, ``tags``, ``status``, ``error``, ``audio_path`` ...)."""
        unknown = set(fields) - self.NOTE_FIELDS
        if unknown:
            raise ValueError(f"Unknown note fields: {sorted(unknown)}")
        if "tags" in fields:
            fields["tags"] = _dumps(list(fields["tags"]))
        fields["updated_at"] = now()
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.transaction() as conn:
            cur = conn.execute(f"UPDATE notes SET {sets} WHERE id = ?", [*fields.values(), note_id])
            if cur.rowcount == 0:
                raise NotFoundError(f"No note {note_id}.")
        return self.note(note_id)

    def delete_note(self, note_id: int) -> Note:
        """Soft-delete a note (it can be restored with :meth:`restore_note`)."""
        with self.transaction() as conn:
            cur = conn.execute("UPDATE notes SET deleted_at = ?, updated_at = ? WHERE id = ?", (now(), now(), note_id))
            if cur.rowcount == 0:
                raise NotFoundError(f"No note {note_id}.")
        return self.note(note_id, include_deleted=True)

    def restore_note(self, note_id: int) -> Note:
        """Undo :meth:`delete_note`."""
        with self.transaction() as conn:
            cur = conn.execute("UPDATE notes SET deleted_at = NULL, updated_at = ? WHERE id = ?", (now(), note_id))
            if cur.rowcount == 0:
                raise NotFoundError(f"No note {note_id}.")
        return self.note(note_id)

    def note(self, note_id: int, *, include_deleted: bool = False) -> Note:
        row = self.conn.execute("SELECT * FROM notes WHERE id = ?", (note_id,)).fetchone()
        if row is None or (row["deleted_at"] and not include_deleted):
            raise NotFoundError(f"No note {note_id}.")
        return _note(row)

    def notes(self, video_id: str, *, include_deleted: bool = False) -> list[Note]:
        """A video's notes in time order."""
        sql = "SELECT * FROM notes WHERE video_id = ?"
        if not include_deleted:
            sql += " AND deleted_at IS NULL"
        return [_note(r) for r in self.conn.execute(sql + " ORDER BY t, id", (video_id,))]

    # --- summaries -------------------------------------------------------------------------------------------
    def add_summary(self, video_id: str, model: str, text: str) -> int:
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO summaries (video_id, model, text, created_at) VALUES (?, ?, ?, ?)",
                (video_id, model, text, now()),
            )
            return int(cur.lastrowid)

    def summaries(self, video_id: str) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM summaries WHERE video_id = ? ORDER BY id", (video_id,))


def open_store(path: str | Path | None = None, *, readonly: bool = False) -> Store:
    """Open (creating and migrating if needed) the vidqa database at ``path``."""
    return Store(path, readonly=readonly)


def _split_sql(script: str) -> list[str]:
    """Statements of a migration script (``executescript`` would commit our transaction)."""
    out = []
    for chunk in script.split(";"):
        code = "\n".join(line for line in chunk.splitlines() if not line.strip().startswith("--")).strip()
        if code:
            out.append(chunk)
    return out


def _video(r: sqlite3.Row) -> Video:
    return Video(
        id=r["id"], sha256=r["sha256"], title=r["title"], duration=r["duration"], fps=r["fps"],
        is_vfr=bool(r["is_vfr"]), width=r["width"], height=r["height"], rotation=r["rotation"],
        video_codec=r["video_codec"], audio_codec=r["audio_codec"], audio_tracks=r["audio_tracks"],
        has_audio=bool(r["has_audio"]), path=r["path"], play_path=r["play_path"], audio_path=r["audio_path"],
        audio_track=r["audio_track"], audio_coverage=r["audio_coverage"], size=r["size"],
        created_at=r["created_at"], warnings=json.loads(r["warnings"]),
    )


def _run(r: sqlite3.Row) -> Run:
    return Run(
        id=r["id"], stage=r["stage"], video_id=r["video_id"], settings=json.loads(r["settings"]),
        settings_hash=r["settings_hash"], status=r["status"], started_at=r["started_at"],
        finished_at=r["finished_at"], seconds=r["seconds"], media_seconds=r["media_seconds"],
        n_records=r["n_records"], error=r["error"],
    )


def _note(r: sqlite3.Row) -> Note:
    return Note(
        id=r["id"], video_id=r["video_id"], t=r["t"], frame_index=r["frame_index"], kind=r["kind"], text=r["text"],
        status=r["status"], error=r["error"], audio_path=r["audio_path"], tags=json.loads(r["tags"]),
        backend=r["backend"], created_at=r["created_at"], updated_at=r["updated_at"], end=r["end"],
    )

"""The schema: an append-only list of migration functions, each recorded as applied.

Each entry migrates the schema from version ``i`` to ``i + 1`` (``PRAGMA user_version``) and is recorded by name
in ``schema_migrations``. A migration is a plain function over the connection, run inside the store's write
transaction, so it may create triggers, copy data or rebuild a table (nothing is split on ``;``). Append, never edit
a released entry. Domain modules that own tables (questions, evaluations) define their own migration function
here by import, so the store stays the one owner of the schema.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

Migration = Callable[[sqlite3.Connection], None]


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run a script of plain statements (no triggers) one statement at a time, inside the open transaction."""
    for chunk in script.split(";"):
        code = "\n".join(line for line in chunk.splitlines() if not line.strip().startswith("--")).strip()
        if code:
            conn.execute(chunk)


V1_SQL =     """
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
    """


def v1_initial(conn: sqlite3.Connection) -> None:
    """Videos, sources, media files, runs, transcripts, audio and visual events, notes, summaries (and three
    placeholder tables that v2 drops)."""
    _run_script(conn, V1_SQL)


def v2_cue_spans_units_and_provenance(conn: sqlite3.Connection) -> None:
    """Visual cues get a span end and a track id; runs get a unit key (question x model x route, not only a video)
    and the process that ran them (so a killed run can be told from a live one); the v1 placeholders go."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                 " applied_at TEXT NOT NULL)")
    for table in ("llm_responses", "qa_reviews", "qa_pairs"):
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute("ALTER TABLE visual_events ADD COLUMN end REAL")
    conn.execute("ALTER TABLE visual_events ADD COLUMN track_id INTEGER")
    conn.execute("CREATE INDEX visual_events_span ON visual_events(video_id, t, end)")
    # The longest span per (video, kind): a window query [t1, t2] then bounds t from both sides
    # (t >= t1 - longest span), so it uses the (video_id, kind, t) index instead of scanning earlier cues.
    conn.execute("CREATE TABLE cue_spans (video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,"
                 " kind TEXT NOT NULL, max_span REAL NOT NULL, PRIMARY KEY (video_id, kind))")
    conn.execute("CREATE INDEX audio_events_span ON audio_events(video_id, start, end)")
    conn.execute("ALTER TABLE runs ADD COLUMN unit TEXT")
    conn.execute("ALTER TABLE runs ADD COLUMN pid INTEGER")
    conn.execute("ALTER TABLE runs ADD COLUMN host TEXT")
    conn.execute("CREATE INDEX runs_unit ON runs(stage, unit, status)")



# A visual cue is LONG when it spans more than 120 s (a channel logo or watermark over the whole video, a count over a
# static shot). The literal is part of the partial index below and of the window query (SQLite uses a partial index
# only when the query repeats its WHERE term): never change it; a new threshold is a new migration.
LONG_CUE_S = 120.0
LONG_CUE_SQL = "end - t > 120.0"


def v5_long_cues_apart(conn: sqlite3.Connection) -> None:
    """Long visual cues get their own small partial index and leave ``cue_spans``: ``max_span`` becomes the longest
    span of the SHORT cues of a (video, kind) (0 when all are long), so one whole-video cue no longer unbounds every
    window query of that video; the window query fetches long cues through ``visual_events_long`` instead."""
    conn.execute(f"CREATE INDEX visual_events_long ON visual_events(video_id, t, end, kind) WHERE {LONG_CUE_SQL}")
    conn.execute("DELETE FROM cue_spans")
    conn.execute(
        "INSERT INTO cue_spans (video_id, kind, max_span)"
        f" SELECT video_id, kind, MAX(CASE WHEN end IS NULL OR {LONG_CUE_SQL} THEN 0.0 ELSE MAX(0.0, end - t) END)"
        " FROM visual_events WHERE video_id IN (SELECT id FROM videos) GROUP BY video_id, kind"
    )


# The domain modules that own their tables define their migration beside their queries. They import nothing of
# vidqa.store.db at module level (db imports this module), so these imports cannot be circular.
from vidqa.store.evaluations import MIGRATION as EVALUATIONS
from vidqa.store.questions import MIGRATION as QUESTIONS

__all__ = [
    'LONG_CUE_S',
    'LONG_CUE_SQL',
    'MIGRATIONS',
    'SCHEMA_VERSION',
    'V1_SQL',
    'v1_initial',
    'v2_cue_spans_units_and_provenance',
    'v5_long_cues_apart',
]

MIGRATIONS: list[tuple[str, Migration]] = [
    ("v1_initial", v1_initial),
    ("v2_cue_spans_units_and_provenance", v2_cue_spans_units_and_provenance),
    QUESTIONS,
    EVALUATIONS,
    ("v5_long_cues_apart", v5_long_cues_apart),
]
SCHEMA_VERSION = len(MIGRATIONS)

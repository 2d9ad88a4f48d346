"""Cues: transcript segments and words, audio events, visual events."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence

from vidqa.records import AudioEvent, TranscriptSegment, TranscriptWord, VisualEvent
from vidqa.store.db import Database, dumps
from vidqa.store.schema import LONG_CUE_S, LONG_CUE_SQL

__all__ = ['CueTables']


class CueTables(Database):
    """Cues: transcript segments and words, audio events, visual events."""

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
        with self.snapshot() as conn:  # segments and words from one state of the database
            segs = conn.execute(
                "SELECT * FROM transcript_segments WHERE video_id = ? ORDER BY start, seg_index", (video_id,)
            ).fetchall()
            words: dict[int, list[TranscriptWord]] = {}
            for w in conn.execute("SELECT * FROM transcript_words WHERE video_id = ? ORDER BY start, id", (video_id,)):
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
                [(video_id, run_id, e.kind, e.start, e.end, e.peak, e.confidence, dumps(e.labels)) for e in events],
            )
        return len(events)

    def audio_events(self, video_id: str, kind: str | None = None, *, start: float | None = None,
                     end: float | None = None) -> list[AudioEvent]:
        """A video's audio events in time order; only those of ``kind`` and overlapping [start, end] when given."""
        sql, params = "SELECT * FROM audio_events WHERE video_id = ?", [video_id]
        if kind:
            sql += " AND kind = ?"
            params.append(kind)
        if end is not None:
            sql += " AND start <= ?"
            params.append(end)
        if start is not None:
            sql += " AND end >= ?"
            params.append(start)
        return [
            AudioEvent(r["kind"], r["start"], r["end"], r["peak"], r["confidence"],
                       [tuple(x) for x in json.loads(r["labels"])])
            for r in self.conn.execute(sql + " ORDER BY start, id", params)
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
                "INSERT INTO visual_events (video_id, run_id, t, end, frame_index, kind, label, confidence, x0, y0, x1,"
                " y1, attributes, track_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (video_id, run_id, e.t, e.end, e.frame_index, e.kind, e.label, e.confidence,
                     *(e.box if e.box else (None, None, None, None)), dumps(e.attributes), e.track_id)
                    for e in events
                ],
            )
            # The longest SHORT span per kind (long cues are found through their own index, see visual_events);
            # every kind present gets a row, 0 when all its cues are long.
            spans: dict[str, float] = {}
            for e in events:
                span = 0.0 if e.end is None else float(e.end) - float(e.t)
                spans[e.kind] = max(spans.get(e.kind, 0.0), span if span <= LONG_CUE_S else 0.0)
            if kinds is None:
                conn.execute("DELETE FROM cue_spans WHERE video_id = ?", (video_id,))
            else:
                conn.execute(f"DELETE FROM cue_spans WHERE video_id = ? AND kind IN ({', '.join('?' * len(kinds))})",
                             [video_id, *kinds])
            conn.executemany("INSERT OR REPLACE INTO cue_spans (video_id, kind, max_span) VALUES (?, ?, ?)",
                             [(video_id, k, s) for k, s in spans.items()])
        return len(events)

    def visual_events(self, video_id: str, kind: str | None = None, *, start: float | None = None,
                      end: float | None = None, min_confidence: float | None = None) -> list[VisualEvent]:
        """A video's visual events in time order; only those of ``kind``, overlapping [start, end] and at least
        ``min_confidence`` when given (the question engine's window query).

        A cue overlaps the window when ``t <= end`` and ``COALESCE(end, t) >= start``. Both ends of the index
        range on ``t`` are bounded: short cues (span <= ``LONG_CUE_S``) start no earlier than ``start`` minus the
        longest short span of that video and kind (table ``cue_spans``); long cues (a whole-video watermark, a
        count over a static shot) come from the small partial index ``visual_events_long``. One statement, so
        the bound and the rows come from one state of the database.

        >>> store.visual_events(video.id, "text", start=30.0, end=60.0)  # doctest: +SKIP
        """
        sql, params = _visual_window_sql(video_id, kind, start, end, min_confidence)
        return [_visual(r) for r in self.conn.execute(sql, params)]


def _visual_window_sql(video_id: str, kind: str | None, start: float | None, end: float | None,
                       min_confidence: float | None) -> tuple[str, list]:
    """The SQL and parameters of :meth:`CueTables.visual_events`."""
    where, params = ["video_id = ?"], [video_id]
    if kind:
        where.append("kind = ?")
        params.append(kind)
    if end is not None:
        where.append("t <= ?")
        params.append(end)
    tail, tail_params = [], []
    if min_confidence is not None:
        tail.append("confidence >= ?")
        tail_params.append(min_confidence)
    if start is None:
        return (f"SELECT * FROM visual_events WHERE {' AND '.join(where + tail)} ORDER BY t, id",
                params + tail_params)
    spans = "SELECT MAX(max_span) FROM cue_spans WHERE video_id = ?" + (" AND kind = ?" if kind else "")
    span_params = [video_id, kind] if kind else [video_id]
    # No cue_spans row (rows written outside replace_visual_events): -1e300 leaves t unbounded below.
    short = where + [f"t >= ? - COALESCE(({spans}), 1e300) - 1e-6", "COALESCE(end, t) >= ?",
                     f"(end IS NULL OR NOT ({LONG_CUE_SQL}))"] + tail
    long = where + ["end >= ?", LONG_CUE_SQL] + tail
    sql = (f"SELECT * FROM visual_events WHERE {' AND '.join(short)}"
           f" UNION ALL SELECT * FROM visual_events INDEXED BY visual_events_long WHERE {' AND '.join(long)}"
           " ORDER BY t, id")
    return sql, params + [start, *span_params, start] + tail_params + params + [start] + tail_params


def _visual(r: sqlite3.Row) -> VisualEvent:
    box = (r["x0"], r["y0"], r["x1"], r["y1"]) if r["x0"] is not None else None
    return VisualEvent(r["t"], r["kind"], r["label"], r["confidence"], r["frame_index"], box,
                       json.loads(r["attributes"]), end=r["end"], track_id=r["track_id"])

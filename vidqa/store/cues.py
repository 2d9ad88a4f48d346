"""Cues: transcript segments and words, audio events, visual events."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence

from vidqa.records import AudioEvent, TranscriptSegment, TranscriptWord, VisualEvent
from vidqa.store.db import Database, dumps

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
            spans: dict[str, float] = {}
            for e in events:
                span = max(0.0, (e.end if e.end is not None else e.t) - e.t)
                spans[e.kind] = max(spans.get(e.kind, 0.0), span)
            if kinds is None:
                conn.execute("DELETE FROM cue_spans WHERE video_id = ?", (video_id,))
            else:
                conn.execute(f"DELETE FROM cue_spans WHERE video_id = ? AND kind IN ({', '.join('?' * len(kinds))})",
                             [video_id, *kinds])
            conn.executemany("INSERT OR REPLACE INTO cue_spans (video_id, kind, max_span) VALUES (?, ?, ?)",
                             [(video_id, k, s) for k, s in spans.items()])
        return len(events)

    def _longest_span(self, video_id: str, kind: str | None) -> float | None:
        sql, params = "SELECT MAX(max_span) AS m, COUNT(*) AS n FROM cue_spans WHERE video_id = ?", [video_id]
        if kind:
            sql += " AND kind = ?"
            params.append(kind)
        row = self.conn.execute(sql, params).fetchone()
        return float(row["m"]) if row["n"] else None

    def visual_events(self, video_id: str, kind: str | None = None, *, start: float | None = None,
                      end: float | None = None, min_confidence: float | None = None) -> list[VisualEvent]:
        """A video's visual events in time order; only those of ``kind``, overlapping [start, end] and at least
        ``min_confidence`` when given (the question engine's window query)."""
        sql, params = "SELECT * FROM visual_events WHERE video_id = ?", [video_id]
        if kind:
            sql += " AND kind = ?"
            params.append(kind)
        if end is not None:
            sql += " AND t <= ?"
            params.append(end)
        if start is not None:
            sql += " AND COALESCE(end, t) >= ?"
            params.append(start)
            longest = self._longest_span(video_id, kind)
            if longest is not None:  # lets the index bound t from below too
                sql += " AND t >= ?"
                params.append(start - longest - 1e-9)
        if min_confidence is not None:
            sql += " AND confidence >= ?"
            params.append(min_confidence)
        return [_visual(r) for r in self.conn.execute(sql + " ORDER BY t, id", params)]


def _visual(r: sqlite3.Row) -> VisualEvent:
    box = (r["x0"], r["y0"], r["x1"], r["y1"]) if r["x0"] is not None else None
    return VisualEvent(r["t"], r["kind"], r["label"], r["confidence"], r["frame_index"], box,
                       json.loads(r["attributes"]), end=r["end"], track_id=r["track_id"])

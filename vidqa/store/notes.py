"""Annotation notes and their summaries."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from vidqa.errors import NotFoundError, StoreError
from vidqa.records import Note
from vidqa.store.db import Database, dumps, now

__all__ = ['NoteTables']


class NoteTables(Database):
    """Annotation notes and their summaries."""

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
                (video_id, float(t), end, frame_index, kind, text, status, dumps(list(tags)), stamp, stamp),
            )
            note_id = cur.lastrowid
        return self.note(note_id)

    NOTE_FIELDS = frozenset({"t", "end", "frame_index", "kind", "text", "status", "error", "audio_path",
                             "audio_mime", "backend", "tags"})

    def update_note(self, note_id: int, **fields: Any) -> Note:
        """Change fields of a note (``text``, ``tags``, ``status``, ``error``, ``audio_path`` ...)."""
        unknown = set(fields) - self.NOTE_FIELDS
        if unknown:
            raise StoreError(f"Unknown note fields: {sorted(unknown)}; a note has {sorted(self.NOTE_FIELDS)}.")
        if "tags" in fields:
            fields["tags"] = dumps(list(fields["tags"]))
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


def _note(r: sqlite3.Row) -> Note:
    return Note(
        id=r["id"], video_id=r["video_id"], t=r["t"], frame_index=r["frame_index"], kind=r["kind"], text=r["text"],
        status=r["status"], error=r["error"], audio_path=r["audio_path"], tags=json.loads(r["tags"]),
        backend=r["backend"], created_at=r["created_at"], updated_at=r["updated_at"], end=r["end"],
        audio_mime=r["audio_mime"],
    )

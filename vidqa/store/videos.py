"""Videos, their sources and media files."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from vidqa.errors import NotFoundError
from vidqa.records import MediaFile, Video
from vidqa.store.db import Database, dumps, now

__all__ = ['VideoTables']


class VideoTables(Database):
    """Videos, their sources and media files."""

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
                row["warnings"] = dumps(video.warnings)
                row["created_at"] = now()
                cols = ", ".join(row)
                conn.execute(f"INSERT INTO videos ({cols}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
                video_id = video.id
                for m in media:
                    conn.execute(
                        "INSERT OR IGNORE INTO media_files (video_id, role, path, sha256, size, mime, codec, info,"
                        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (video_id, m.role, m.path, m.sha256, m.size, m.mime, m.codec, dumps(m.info), now()),
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
                 dumps(media.info), now()),
            )

    def update_video(self, video_id: str, **fields: Any) -> Video:
        """Set columns of a video (e.g. ``play_path`` after making a proxy)."""
        if not fields:
            return self.video(video_id)
        for k in ("is_vfr", "has_audio"):
            if k in fields:
                fields[k] = int(fields[k])
        if "warnings" in fields:
            fields["warnings"] = dumps(fields["warnings"])
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.transaction() as conn:
            cur = conn.execute(f"UPDATE videos SET {sets} WHERE id = ?", [*fields.values(), video_id])
            if cur.rowcount == 0:
                raise NotFoundError(f"No video {video_id!r}.")
        return self.video(video_id)


def _video(r: sqlite3.Row) -> Video:
    return Video(
        id=r["id"], sha256=r["sha256"], title=r["title"], duration=r["duration"], fps=r["fps"],
        is_vfr=bool(r["is_vfr"]), width=r["width"], height=r["height"], rotation=r["rotation"],
        video_codec=r["video_codec"], audio_codec=r["audio_codec"], audio_tracks=r["audio_tracks"],
        has_audio=bool(r["has_audio"]), path=r["path"], play_path=r["play_path"], audio_path=r["audio_path"],
        audio_track=r["audio_track"], audio_coverage=r["audio_coverage"], size=r["size"],
        created_at=r["created_at"], warnings=json.loads(r["warnings"]),
    )

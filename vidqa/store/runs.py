"""Stage runs: what ran on which unit with which settings, how long it took, how it ended.

A run is keyed by (stage, unit, settings hash). The unit is what the stage works on: a video id for the processing
stages, a composite key for evaluation (question x model x input route). Each run records the process that ran it
(pid and host), so a run left ``running`` by a killed process is marked ``abandoned`` the next time the store is
opened on that host.
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any

from vidqa.errors import NotFoundError
from vidqa.records import Run
from vidqa.store.db import HOST, Database, current_process, dumps, now, settings_hash

__all__ = ['RUN_STATUSES', 'RunTables']

RUN_STATUSES = ("running", "done", "failed", "skipped", "abandoned")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunTables(Database):
    """Stage runs (see the module docstring)."""

    def _after_open(self) -> None:
        super()._after_open()
        self.mark_abandoned_runs()

    def mark_abandoned_runs(self) -> int:
        """Mark ``running`` runs whose process (on this host) is gone as ``abandoned``; returns how many."""
        rows = self.conn.execute("SELECT id, pid FROM runs WHERE status = 'running' AND host = ?", (HOST,)).fetchall()
        dead = [r["id"] for r in rows if r["pid"] is not None and not _alive(r["pid"])]
        if dead:
            with self.transaction() as conn:
                conn.executemany(
                    "UPDATE runs SET status = 'abandoned', finished_at = ?, error = ? WHERE id = ? AND status = 'running'",
                    [(now(), "the process running it ended without finishing (killed?)", i) for i in dead],
                )
        return len(dead)

    def start_run(self, stage: str, video_id: str | None, settings: dict[str, Any], *, unit: str | None = None) -> Run:
        """Record that ``stage`` started on ``unit`` (default: the video id) with these settings."""
        from vidqa._version import __version__

        pid, host = current_process()
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO runs (stage, video_id, unit, settings, settings_hash, status, started_at, vidqa_version,"
                " pid, host) VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)",
                (stage, video_id, unit or video_id, dumps(settings), settings_hash(settings), now(), __version__,
                 pid, host),
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
        """Record how a run ended (``done``, ``failed``, ``skipped``)."""
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

    def runs(self, stage: str | None = None, video_id: str | None = None, *, unit: str | None = None) -> list[Run]:
        """Runs, oldest first, optionally of one stage / video / unit."""
        sql, params = "SELECT * FROM runs WHERE 1", []
        for col, value in (("stage", stage), ("video_id", video_id), ("unit", unit)):
            if value:
                sql += f" AND {col} = ?"
                params.append(value)
        return [_run(r) for r in self.conn.execute(sql + " ORDER BY id", params)]

    def find_done_run(self, stage: str, video_id: str | None, settings: dict[str, Any], *,
                      unit: str | None = None) -> Run | None:
        """The run whose results the store holds for ``stage`` on ``unit`` (default the video), if it used these
        settings.

        Only the latest finished run counts: each run replaces the rows of the one before, so an older run with the
        same settings no longer has its results in the database.
        """
        row = self.conn.execute(
            "SELECT * FROM runs WHERE stage = ? AND COALESCE(unit, video_id) IS ? AND status = 'done'"
            " ORDER BY id DESC LIMIT 1",
            (stage, unit or video_id),
        ).fetchone()
        return _run(row) if row and row["settings_hash"] == settings_hash(settings) else None


def _run(r: sqlite3.Row) -> Run:
    return Run(
        id=r["id"], stage=r["stage"], video_id=r["video_id"], settings=json.loads(r["settings"]),
        settings_hash=r["settings_hash"], status=r["status"], started_at=r["started_at"],
        finished_at=r["finished_at"], seconds=r["seconds"], media_seconds=r["media_seconds"],
        n_records=r["n_records"], error=r["error"], unit=r["unit"],
    )

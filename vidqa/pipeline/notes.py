"""The one writer of notes: applies the rules of :mod:`vidqa.annotate.notes` to the store, runs transcriptions.

:class:`VideoNotes` holds one video's notes. Every change a face asks for (a stamp, a recording, a typed text, an
edit, a delete) is decided by a pure rule and written here; transcriptions run on an injectable
:class:`~vidqa.annotate.notes.Executor` (the process-wide worker thread by default, a
:class:`~vidqa.annotate.notes.SyncExecutor` in tests). The player widget calls it; so can a review widget or a
script, without any widget.

Example::

    from vidqa.store import open_store
    from vidqa.annotate.notes import SyncExecutor
    from vidqa.pipeline.notes import VideoNotes, find_or_ingest
    store = open_store("data/vidqa.db")
    notes = VideoNotes(store, find_or_ingest(store, "clip.mp4"), executor=SyncExecutor(), backend="local")
    n = notes.stamp(3.5)                                     # status "recording"
    notes.save_audio(n.id, open("note.webm", "rb").read(), "audio/webm")   # transcribed (synchronously here)
    notes.note(n.id).text
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vidqa.annotate import notes as rules
from vidqa.annotate.notes import Executor, NoteUpdate, shared_executor
from vidqa.errors import NotFoundError, VidqaError
from vidqa.records import MediaFile, Note, Video
from vidqa.store import Store

__all__ = ["VideoNotes", "find_or_ingest", "audio_ext", "audio_mime_of"]

log = logging.getLogger(__name__)

_MIME_EXT = {
    "audio/webm": "webm", "video/webm": "webm", "audio/ogg": "ogg", "audio/mp4": "mp4", "video/mp4": "mp4",
    "audio/aac": "mp4", "audio/x-m4a": "mp4", "audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav",
    "audio/mpeg": "mp3",
}
_EXT_MIME = {"webm": "audio/webm", "ogg": "audio/ogg", "mp4": "audio/mp4", "wav": "audio/wav", "mp3": "audio/mpeg"}
_warmed: set[tuple[str, str]] = set()
_warm_lock = threading.Lock()


def audio_ext(mime: str | None) -> str:
    """File extension for a recording's MIME type (``audio/webm;codecs=opus`` -> ``webm``)."""
    base = (mime or "").split(";")[0].strip().lower()
    return _MIME_EXT.get(base, "audio")


def audio_mime_of(path: str | os.PathLike[str]) -> str:
    """The MIME type of a stored recording, from its extension."""
    return _EXT_MIME.get(Path(path).suffix.lower().lstrip("."), "application/octet-stream")


def find_or_ingest(store: Store, source: Any, *, progress: bool = True) -> Video:
    """The stored video ``source`` names (id, sha256, a source it came from, a local path), else ingest it."""
    key = os.fspath(source) if isinstance(source, os.PathLike) else str(source)
    found = store.find_video(key)
    if found is None and key and Path(key).expanduser().exists():
        found = store.find_video(str(Path(key).expanduser().resolve()))
    if found is not None:
        return found
    from vidqa.pipeline.ingest import ingest

    return ingest(key, store, progress=progress)


class VideoNotes:
    """The notes of one video: every write, and the transcription queue.

    Parameters
    ----------
    store, video:
        Where the notes live and whose they are.
    executor:
        Runs transcriptions (default: the process-wide worker thread, :func:`~vidqa.annotate.notes.shared_executor`).
    backend, model:
        Speech-to-text for voice notes (``auto``: Groq when ``GROQ_API_KEY`` is set, else the local tiny.en).
    lookback:
        Seconds subtracted from stamps and recording ends (reaction time), clamped at 0.
    on_change:
        Called (from any thread) after the notes changed.
    on_busy:
        Called with a short progress line (``""`` when idle): what the worker is doing for this video.
    """

    def __init__(
        self,
        store: Store,
        video: Video,
        *,
        executor: Executor | None = None,
        backend: str = "auto",
        model: str | None = None,
        lookback: float = 0.0,
        on_change: Callable[[], None] | None = None,
        on_busy: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.video = video
        self.executor: Executor = executor if executor is not None else shared_executor()
        self.backend = backend
        self.model = model
        self.lookback = float(lookback or 0.0)
        self.on_change = on_change
        self.on_busy = on_busy
        self._jobs = 0
        self._done = 0
        self._submitted = 0
        self._cv = threading.Condition()
        self._current = ""

    # --- reading -------------------------------------------------------------------------------------------------
    def notes(self) -> list[Note]:
        """The video's notes (not deleted), in time order."""
        return self.store.notes(self.video.id)

    def note(self, note_id: int) -> Note:
        """One of this video's notes (deleted ones too); :class:`NotFoundError` for another video's."""
        note = self.store.note(int(note_id), include_deleted=True)
        if note.video_id != self.video.id:
            raise NotFoundError(f"Note {note_id} belongs to another video.")
        return note

    def audio(self, note_id: int) -> tuple[bytes, str]:
        """(bytes, MIME type) of a note's recording, to play it back."""
        note = self.note(note_id)
        if not note.audio_path:
            raise VidqaError(f"Note {note_id} has no recording.")
        path = self.store.abspath(note.audio_path)
        if not path.exists():
            raise VidqaError(f"The recording of note {note_id} is missing ({path}).")
        return path.read_bytes(), audio_mime_of(path)

    # --- writing -------------------------------------------------------------------------------------------------
    def stamp(self, t: Any, *, frame: Any = None, kind: str = "voice") -> Note:
        """Save a stamp at media time ``t`` at once (``recording`` for voice, ``typed`` for typed notes)."""
        t_adj, frame_index = rules.stamp_time(t, frame=frame, lookback=self.lookback, fps=self.video.fps or 0.0)
        if kind not in ("voice", "typed"):
            raise VidqaError(f"Unknown note kind {kind!r}: use 'voice' or 'typed'.")
        note = self.store.add_note(self.video.id, t_adj, frame_index=frame_index, kind=kind)
        self._changed()
        return note

    def add_typed(self, t: Any, text: str, *, frame: Any = None, tags: list[str] | None = None) -> Note:
        """A typed note at ``t`` in one step."""
        t_adj, frame_index = rules.stamp_time(t, frame=frame, lookback=self.lookback, fps=self.video.fps or 0.0)
        note = self.store.add_note(self.video.id, t_adj, frame_index=frame_index, kind="typed", text=text,
                                   tags=tags or ())
        self._changed()
        return note

    def save_audio(self, note_id: int, data: bytes, mime: str = "audio/webm", *, end: Any = None) -> Note:
        """Keep a stamp's recording (``notes/<video>/<note>.<ext>``, written atomically) and queue its transcription."""
        note = self.note(note_id)
        folder = self.store.notes_dir / self.video.id
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / f"{note.id}.{audio_ext(mime)}"
        tmp = folder / f".{note.id}.{os.getpid()}.{threading.get_ident()}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, dest)
        rel = self.store.relpath(dest)
        self.store.add_media_file(self.video.id, MediaFile("note_audio", rel, hashlib.sha256(data).hexdigest(),
                                                           len(data), mime.split(";")[0]))
        return self._apply(rules.audio_arrived(note, audio_path=rel, mime=mime, end=end, lookback=self.lookback))

    def mic_unavailable(self, note_id: int) -> Note:
        """The microphone failed after the stamp: the note becomes a typed one (its row no longer says recording)."""
        return self._apply(rules.mic_unavailable(self.note(note_id)))

    def type_text(self, note_id: int, text: str, tags: list[str] | None = None) -> Note | None:
        """The text of a stamp typed instead of spoken; an empty one drops the stamp (returns ``None``)."""
        update = rules.typed_text(self.note(note_id), text, tags)
        note = self._apply(update)
        return None if update.delete else note

    def edit(self, note_id: int, *, text: str | None = None, tags: list[str] | None = None, **times: Any) -> Note:
        """Correct a note: ``text``, ``tags``, and ``t=`` (start) / ``end=`` (``None`` clears it) in seconds."""
        unknown = set(times) - {"t", "end"}
        if unknown:
            raise VidqaError(f"Unknown note fields {sorted(unknown)}: use text, tags, t, end.")
        update = rules.edit_note(self.note(note_id), text=text, tags=tags, fps=self.video.fps or 0.0,
                                 duration=self.video.duration or None, **times)
        return self._apply(update)

    def delete(self, note_id: int) -> Note:
        """Soft-delete a note (restorable)."""
        note = self.store.delete_note(self.note(note_id).id)
        self._changed()
        return note

    def restore(self, note_id: int) -> Note:
        """Undo :meth:`delete`."""
        note = self.store.restore_note(self.note(note_id).id)
        self._changed()
        return note

    def cancel(self, note_id: int) -> bool:
        """The user dismissed a stamp: dropped when it holds nothing; returns whether it was."""
        update = rules.abandon(self.note(note_id))
        self._apply(update)
        return update.delete

    def retry(self, note_id: int, *, backend: str | None = None) -> Note:
        """Transcribe a note's recording again (optionally with another backend)."""
        note = self.note(note_id)
        if backend:
            self.backend = backend
        exists = bool(note.audio_path) and self.store.abspath(note.audio_path).exists()
        return self._apply(rules.retry(note, audio_exists=exists))

    def recover(self, *, stale_after: float = rules.STALE_RECORDING_S, background: bool = True) -> None:
        """Pick up what a killed kernel or a closed page left behind (:func:`~vidqa.annotate.notes.recovery_plan`).

        ``background`` runs it on the executor (the caller does not wait for the database).
        """

        def job() -> None:
            notes = self.store.notes(self.video.id)
            plan = rules.recovery_plan(notes, lambda rel: self.store.abspath(rel).exists(), stale_after=stale_after)
            for update in plan:
                self._apply(update)
            if plan:
                self._changed()

        if background:
            self._submit(job, "Checking notes left from a previous session…")
        else:
            job()

    # --- transcription -------------------------------------------------------------------------------------------
    def settings(self):
        """The speech-to-text settings notes use now."""
        return rules.note_settings(self.backend, self.model)

    def queue_transcription(self, note_id: int) -> None:
        """Transcribe a note on the executor (the note's status says where it is)."""
        settings = self.settings()
        t = self.note(note_id).t
        self._submit(lambda: self._transcribe(note_id, settings), f"Transcribing the note at {_short_time(t)}")

    def warm_up(self) -> None:
        """Load the local speech model on the executor now, so the first note does not wait for it (said once)."""
        try:
            settings = self.settings()
            if settings.resolved_backend() != "local":
                return
        except Exception:  # noqa: BLE001 - a bad backend name is reported when a note is transcribed
            return
        key = (settings.resolved_model(), settings.compute_type)
        with _warm_lock:
            if key in _warmed:
                return
            _warmed.add(key)

        def job() -> None:
            from vidqa.analyze.transcribe import local_model

            t0 = time.monotonic()
            try:
                local_model(settings.model, compute_type=settings.compute_type, cpu_threads=settings.cpu_threads)
            except Exception:  # noqa: BLE001
                log.warning("could not preload the speech model", exc_info=True)
                with _warm_lock:
                    _warmed.discard(key)
            else:
                log.info("speech model %s loaded in %.1f s", key[0], time.monotonic() - t0)

        self._submit(job, "Loading the speech model (once per kernel)…")

    def _transcribe(self, note_id: int, settings: Any) -> None:
        store = self.store
        try:
            note = store.note(note_id, include_deleted=True)
            start = rules.start_transcription(note)
            self._write(start)
            if not start.transcribe:
                return
            self._changed()
            try:
                result = rules.transcribe_clip(store.abspath(note.audio_path), settings)
            except Exception as err:  # noqa: BLE001 - shown on the note; audio and stamp stay
                self._write(rules.transcription_failed(store.note(note_id, include_deleted=True), err))
                return
            self._write(rules.merge_transcript(store.note(note_id, include_deleted=True), result.text,
                                               backend=result.backend))
        except Exception:  # noqa: BLE001 - e.g. the database went away: log, keep the worker alive
            log.exception("transcribing note %s failed", note_id)
        finally:
            self._changed()

    # --- jobs ----------------------------------------------------------------------------------------------------
    @property
    def jobs(self) -> int:
        """Jobs of this video submitted and not finished."""
        with self._cv:
            return self._jobs

    def wait_idle(self, timeout: float | None = 60.0, *, progress: bool = False) -> bool:
        """Block until this video's jobs are finished; ``False`` on timeout. ``progress`` shows a tqdm bar."""
        deadline = None if timeout is None else time.monotonic() + timeout
        bar = None
        if progress and self.jobs:
            from tqdm.auto import tqdm

            bar = tqdm(total=self._submitted, initial=self._done, desc="note jobs", unit="job")
        try:
            with self._cv:
                while self._jobs > 0:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self._cv.wait(remaining if bar is None else min(remaining or 0.5, 0.5))
                    if bar is not None:
                        bar.total = self._submitted
                        bar.n = self._done
                        bar.refresh()
            return True
        finally:
            if bar is not None:
                bar.close()

    def _submit(self, job: Callable[[], None], label: str) -> None:
        with self._cv:
            self._jobs += 1
            self._submitted += 1
        self._busy()

        def run() -> None:
            with self._cv:
                self._current = label
            self._busy()
            try:
                job()
            finally:
                with self._cv:
                    self._jobs -= 1
                    self._done += 1
                    self._current = ""
                    self._cv.notify_all()
                self._busy()

        self.executor.submit(run)

    def busy_text(self) -> str:
        """One short line: what the worker does for this video (``""`` when idle)."""
        with self._cv:
            jobs, current = self._jobs, self._current
        if not jobs:
            return ""
        waiting = jobs - (1 if current else 0)
        head = current or "Waiting for the note worker"
        return f"{head} ({waiting} more waiting)…" if waiting > 0 else (head if head.endswith("…") else head + "…")

    def _busy(self) -> None:
        if self.on_busy is not None:
            try:
                self.on_busy(self.busy_text())
            except Exception:  # noqa: BLE001
                log.warning("on_busy callback failed", exc_info=True)

    # --- applying decisions --------------------------------------------------------------------------------------
    def _write(self, update: NoteUpdate) -> Note | None:
        if update.delete:
            return self.store.delete_note(update.note_id)
        if update.fields:
            return self.store.update_note(update.note_id, **update.fields)
        return None

    def _apply(self, update: NoteUpdate) -> Note:
        note = self._write(update)
        if update.fields or update.delete:
            self._changed()
        if update.transcribe and not update.delete:
            self.queue_transcription(update.note_id)
        return note if note is not None else self.store.note(update.note_id, include_deleted=True)

    def _changed(self) -> None:
        if self.on_change is not None:
            try:
                self.on_change()
            except Exception:  # noqa: BLE001
                log.warning("on_change callback failed", exc_info=True)


def _short_time(t: float) -> str:
    m, s = divmod(max(0.0, float(t)), 60)
    h, m = divmod(int(m), 60)
    return f"{h}:{m:02d}:{s:04.1f}" if h else f"{m}:{s:04.1f}"

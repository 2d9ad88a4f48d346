"""The annotation player: a video in a Jupyter widget where SPACE stamps the media time and records a voice note.

The stamp is saved in SQLite the moment the key goes down (status ``recording``); the recording follows as one
binary message, is written next to the database (``notes/<video_id>/<note_id>.webm``) and transcribed in a
background worker (one thread, one queue, a warm model) while you keep watching. Notes survive kernel restarts:
reopening the same video shows them again.

Example (in JupyterLab or Voilà)::

    from vidqa import VideoPlayer
    player = VideoPlayer("data/samples/sample.mp4", store="data/vidqa.db", lookback=0.5)
    player                      # SPACE: stamp + record, SPACE again: stop; K play/pause; J/L -5/+5 s ...
    player.notes                # list[vidqa.records.Note]
    player.export("srt")        # -> path of the written file
    player.seek(12.0)

Keys are configurable: ``VideoPlayer(..., keymap={"record": "r", "play_pause": " "})``.

The video is served by the Jupyter server itself (``/files/...`` in JupyterLab, ``/voila/files/...`` in Voilà; see
:mod:`vidqa.widgets.serving`), never through the widget's state.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import queue
import re
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from vidqa.config import package_root, repo_root
from vidqa.errors import NotFoundError, VidqaError
from vidqa.records import MediaFile, Note, Video
from vidqa.store import Store, open_store

__all__ = ["DEFAULT_KEYMAP", "VideoPlayer", "widget_file"]

log = logging.getLogger(__name__)

DEFAULT_KEYMAP: dict[str, str] = {
    "record": " ",
    "play_pause": "k",
    "back": "j",
    "forward": "l",
    "frame_back": ",",
    "frame_forward": ".",
    "slower": "[",
    "faster": "]",
}
"""Action -> ``KeyboardEvent.key`` (letters match either case; ``" "`` is SPACE)."""

SEEK_STEP_S = 5.0

_MIME_EXT = {
    "audio/webm": "webm",
    "video/webm": "webm",
    "audio/ogg": "ogg",
    "audio/mp4": "mp4",
    "video/mp4": "mp4",
    "audio/aac": "mp4",
    "audio/x-m4a": "mp4",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/mpeg": "mp3",
}


def widget_file(name: str) -> Path:
    """The front-end file ``name`` (``player.js``/``player.css``): ``vidqa/_widgets/`` in a wheel, else the
    checkout's top-level ``widgets/`` (editable install)."""
    candidates = [package_root() / "_widgets" / name]
    root = repo_root()
    if root is not None:
        candidates.append(root / "widgets" / name)
    candidates.append(package_root().parent / "widgets" / name)
    for c in candidates:
        if c.is_file():
            return c
    raise VidqaError(f"The player's front-end file {name} is missing (looked in {', '.join(map(str, candidates))}); "
                     "reinstall vidqa.")


def audio_ext(mime: str | None) -> str:
    """File extension for a recording's MIME type (``audio/webm;codecs=opus`` -> ``webm``)."""
    base = (mime or "").split(";")[0].strip().lower()
    return _MIME_EXT.get(base, "audio")


# ---------------------------------------------------------------------------------------------------------------
# the transcription worker: one thread, one queue, shared by every player in the process
# ---------------------------------------------------------------------------------------------------------------
class _Worker:
    def __init__(self) -> None:
        self.q: queue.Queue[tuple[Callable[[], None], VideoPlayer | None]] = queue.Queue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def submit(self, job: Callable[[], None], player: VideoPlayer | None = None) -> None:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="vidqa-notes-worker", daemon=True)
                self.thread.start()
        if player is not None:
            player._job_started()
        self.q.put((job, player))

    def _run(self) -> None:
        while True:
            job, player = self.q.get()
            try:
                job()
            except Exception:  # a job reports its own errors; never let the worker die
                log.exception("vidqa notes worker job failed")
            finally:
                if player is not None:
                    player._job_finished()
                self.q.task_done()


_WORKER = _Worker()

STALE_RECORDING_S = 15 * 60.0
"""A voice note still ``recording`` after this long lost its audio (the page or the kernel went away)."""


def _age(stamp: str | None, now: float) -> float:
    """Seconds since an ISO-8601 time stored by the store (infinite when unknown)."""
    from datetime import datetime

    try:
        return now - datetime.fromisoformat(stamp).timestamp() if stamp else math.inf
    except ValueError:
        return math.inf
_thread_stores: threading.local = threading.local()


def _worker_store(path: Path) -> Store:
    """The worker thread's own connection to a database (SQLite connections are not shared across threads)."""
    stores: dict[str, Store] = getattr(_thread_stores, "stores", None) or {}
    _thread_stores.stores = stores
    key = str(Path(path).resolve())
    if key not in stores:
        stores[key] = Store(key)
    return stores[key]


def _note_dict(n: Note) -> dict[str, Any]:
    return {
        "id": n.id, "t": n.t, "end": n.end, "frame": n.frame_index, "text": n.text, "status": n.status,
        "error": n.error, "tags": list(n.tags), "kind": n.kind, "has_audio": bool(n.audio_path),
    }


# ---------------------------------------------------------------------------------------------------------------
class VideoPlayer(anywidget.AnyWidget):
    """A video player that stamps voice or typed notes at the media time (JupyterLab, Notebook 7, Voilà).

    Parameters
    ----------
    source:
        A stored video's id (or sha256, or a source it was ingested from), a local path, a URL or a Google Drive
        link; new sources are ingested first (:func:`vidqa.pipeline.ingest.ingest`).
    store:
        A :class:`~vidqa.store.Store` or a database path (default ``$VIDQA_DB`` or ``./data/vidqa.db``).
    lookback:
        Seconds subtracted from each stamp (reaction time); the result is clamped at 0.
    hold_to_talk:
        Record while SPACE is held (release stops) instead of press-to-start / press-to-stop.
    backend, model:
        Speech-to-text for voice notes (:class:`vidqa.analyze.transcribe.TranscribeSettings`): ``auto`` uses Groq when
        ``GROQ_API_KEY`` is set, else the local tiny.en.
    keymap:
        Overrides of :data:`DEFAULT_KEYMAP` (action -> key).

    Example::

        player = VideoPlayer("data/samples/sample.mp4", store="data/vidqa.db")
        player
    """

    _esm = widget_file("player.js")
    _css = widget_file("player.css")

    # --- synced state (no media bytes here: the browser streams the file from the server) -----------------------
    video_id = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    duration = traitlets.Float(0.0).tag(sync=True)
    fps = traitlets.Float(0.0).tag(sync=True)
    video_urls = traitlets.List(traitlets.Unicode()).tag(sync=True)
    mime = traitlets.Unicode("video/mp4").tag(sync=True)
    notes_state = traitlets.List().tag(sync=True)
    keymap = traitlets.Dict().tag(sync=True)
    lookback = traitlets.Float(0.0).tag(sync=True)
    hold_to_talk = traitlets.Bool(False).tag(sync=True)
    mic_state = traitlets.Unicode("idle").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    summary = traitlets.Unicode("").tag(sync=True)
    busy = traitlets.Unicode("").tag(sync=True)
    export_formats = traitlets.List(traitlets.Unicode()).tag(sync=True)

    def __init__(
        self,
        source: str | os.PathLike[str],
        *,
        store: Store | str | os.PathLike[str] | None = None,
        lookback: float = 0.0,
        hold_to_talk: bool = False,
        backend: str = "auto",
        model: str | None = None,
        keymap: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        self._store = store if isinstance(store, Store) else open_store(store)
        self.backend = backend
        self.model = model
        self.current_time: float = 0.0
        """Media time last reported by the front-end (seconds)."""
        self._client_ids: dict[str, int] = {}
        self._jobs = 0
        self._jobs_cv = threading.Condition()
        self._refresh_lock = threading.Lock()
        self._page: dict[str, Any] = {}
        self._served = None
        video = self._resolve(source)
        self._video = video
        from vidqa.annotate.exports import EXPORT_FORMATS

        km = dict(DEFAULT_KEYMAP)
        for action, key in (keymap or {}).items():
            if action not in DEFAULT_KEYMAP:
                raise VidqaError(f"Unknown keymap action {action!r}: use {', '.join(DEFAULT_KEYMAP)}.")
            km[action] = str(key)
        super().__init__(
            video_id=video.id, title=video.title, duration=float(video.duration or 0.0), fps=float(video.fps or 0.0),
            mime=_video_mime(video.play_path), keymap=km, lookback=float(lookback), hold_to_talk=bool(hold_to_talk),
            export_formats=list(EXPORT_FORMATS), **kwargs,
        )
        self._handlers: dict[str, Callable[[dict[str, Any], list[bytes]], Any]] = {
            "hello": self._on_hello,
            "stamp": self._on_stamp,
            "audio": self._on_audio,
            "retry": self._on_retry,
            "typed": self._on_typed,
            "edit": self._on_edit,
            "delete": self._on_delete,
            "undo": self._on_undo,
            "cancel": self._on_cancel,
            "export": self._on_export,
            "summarize": self._on_summarize,
            "time": self._on_time,
            "mic": self._on_mic,
        }
        self.on_msg(self._dispatch)
        self._warm_up()
        self._recover_interrupted()
        self._refresh_notes()
        # The video URL is worked out when a front-end says "hello" (it knows the page: Lab or Voilà, base URL).

    # --- public API ----------------------------------------------------------------------------------------------
    @property
    def store(self) -> Store:
        return self._store

    @property
    def video(self) -> Video:
        return self._video

    @property
    def notes(self) -> list[Note]:
        """The video's notes (not deleted), in time order, read from the database."""
        return self._store.notes(self._video.id)

    def seek(self, t: float) -> None:
        """Move the playhead to ``t`` seconds in every open view."""
        self.send({"type": "seek", "t": max(0.0, float(t))})

    def export(self, fmt: str, path: str | os.PathLike[str] | None = None) -> Path:
        """Write the notes as ``fmt`` (``srt``, ``vtt``, ``csv``, ``json``, ``eaf``); returns the file's path.

        Default path: ``<data folder>/reports/<title>-<video id>.notes.<fmt>``.
        """
        path, _text = self._export(fmt, path)
        return path

    def summarize(self, *, model: str | None = None, base_url: str | None = None) -> dict[str, Any]:
        """A Groq summary of the notes (needs ``GROQ_API_KEY``); also shown in the widget."""
        from vidqa.providers.groq import has_groq_key

        if not has_groq_key():
            from vidqa.errors import MissingKeyError

            raise MissingKeyError(
                "Summaries use Groq: set GROQ_API_KEY in the environment that runs Jupyter, then try again.")
        from vidqa.annotate.summarize import summarize_video_notes

        result = summarize_video_notes(self._store, self._video.id, model=model, base_url=base_url)
        self.summary = str(result.get("text", ""))
        self.status = f"Summary by {result.get('model', 'Groq')}."
        return result

    def wait_idle(self, timeout: float | None = 60.0) -> bool:
        """Block until this player's transcriptions are finished; ``False`` on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._jobs_cv:
            while self._jobs > 0:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._jobs_cv.wait(remaining)
        return True

    def handle_message(self, content: dict[str, Any], buffers: list[Any] | None = None) -> Any:
        """Process one front-end message (what the browser sends; tests and scripts may call it directly).

        Returns the handler's result (e.g. the note for ``stamp``); errors are shown in the widget's error bar and
        returned as ``None``.
        """
        return self._dispatch(self, content, buffers or [])

    # --- dispatch ------------------------------------------------------------------------------------------------
    def _dispatch(self, _widget: Any, content: dict[str, Any], buffers: list[Any]) -> Any:
        kind = content.get("type") if isinstance(content, dict) else None
        handler = self._handlers.get(kind or "")
        if handler is None:
            self.error = f"The player got an unknown message {kind!r} (front-end and Python versions differ?)."
            return None
        try:
            return handler(content, list(buffers or []))
        except VidqaError as err:
            self.error = str(err)
        except Exception as err:  # noqa: BLE001 - never crash the kernel's comm handler
            log.error("player %s handler failed:\n%s", kind, traceback.format_exc())
            self.error = f"{kind} failed: {type(err).__name__}: {err}"
        return None

    # --- handlers ------------------------------------------------------------------------------------------------
    def _on_hello(self, msg: dict[str, Any], _b: list[Any]) -> None:
        page = {k: str(msg.get(k) or "") for k in ("base_url", "app_url", "pathname")}
        self._page = page
        self._serve(page)

    def _on_time(self, msg: dict[str, Any], _b: list[Any]) -> None:
        self.current_time = float(msg.get("t") or 0.0)

    def _on_mic(self, msg: dict[str, Any], _b: list[Any]) -> None:
        state = str(msg.get("state") or "")
        if state:
            self.mic_state = state
        if msg.get("message"):
            self.status = str(msg["message"])

    def _stamp_time(self, msg: dict[str, Any]) -> tuple[float, int | None]:
        try:
            t = float(msg.get("t"))
        except (TypeError, ValueError):
            t = float("nan")
        if not math.isfinite(t):
            raise VidqaError("The stamp has no valid media time (is the video loaded?).")
        self.current_time = t
        frame = msg.get("frame")
        lookback = float(self.lookback or 0.0)
        t_adj = max(0.0, t - lookback)
        frame_index: int | None = None
        if frame is not None and not lookback:
            frame_index = int(frame)
        elif self.fps > 0:
            frame_index = int(t_adj * self.fps + 1e-6)
        return t_adj, frame_index

    def _on_stamp(self, msg: dict[str, Any], _b: list[Any]) -> Note:
        t, frame = self._stamp_time(msg)
        note = self._store.add_note(self._video.id, t, frame_index=frame, kind="voice", status="recording")
        client_id = str(msg.get("client_id") or "")
        if client_id:
            self._client_ids[client_id] = note.id
        self.send({"type": "stamped", "client_id": client_id, "note_id": note.id, "t": t})
        self._refresh_notes()
        return note

    def _note_id(self, msg: dict[str, Any]) -> int:
        nid = msg.get("note_id")
        if nid is None and msg.get("client_id"):
            nid = self._client_ids.get(str(msg["client_id"]))
        if nid is None:
            raise VidqaError("That message names no note (its stamp never reached Python?).")
        note = self._store.note(int(nid), include_deleted=True)
        if note.video_id != self._video.id:
            raise NotFoundError(f"Note {nid} belongs to another video.")
        return note.id

    def _on_audio(self, msg: dict[str, Any], buffers: list[Any]) -> Note:
        note_id = self._note_id(msg)
        if not buffers:
            raise VidqaError("The recording arrived without its audio (no binary buffer).")
        data = bytes(buffers[0])
        mime = str(msg.get("mime") or "audio/webm")
        folder = self._store.notes_dir / self._video.id
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / f"{note_id}.{audio_ext(mime)}"
        tmp = folder / f".{note_id}.{os.getpid()}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, dest)
        rel = self._store.relpath(dest)
        self._store.add_media_file(self._video.id, MediaFile("note_audio", rel, hashlib.sha256(data).hexdigest(),
                                                             len(data), mime.split(";")[0]))
        fields: dict[str, Any] = {"audio_path": rel, "audio_mime": mime, "status": "pending", "error": None}
        note = self._store.note(note_id, include_deleted=True)
        end = msg.get("end")
        if end is not None:
            try:
                end_adj = max(0.0, float(end) - float(self.lookback or 0.0))
                if end_adj > note.t:
                    fields["end"] = end_adj
            except (TypeError, ValueError):
                pass
        note = self._store.update_note(note_id, **fields)
        self._refresh_notes()
        self._queue_transcription(note_id)
        return note

    def _on_retry(self, msg: dict[str, Any], _b: list[Any]) -> None:
        note_id = self._note_id(msg)
        note = self._store.note(note_id, include_deleted=True)
        if not note.audio_path or not self._store.abspath(note.audio_path).exists():
            raise VidqaError(f"Note {note_id} has no recording to transcribe; edit its text instead.")
        if msg.get("backend"):
            self.backend = str(msg["backend"])
        self._store.update_note(note_id, status="pending", error=None)
        self._refresh_notes()
        self._queue_transcription(note_id)

    def _on_typed(self, msg: dict[str, Any], _b: list[Any]) -> Note:
        text = str(msg.get("text") or "")
        tags = _clean_tags(msg.get("tags"))
        if msg.get("note_id") is not None or msg.get("client_id") in self._client_ids:
            # A voice stamp whose recording could not start (mic refused): it becomes a typed note.
            note_id = self._note_id(msg)
            note = self._store.update_note(note_id, kind="typed", text=text, status="typed", error=None,
                                           **({"tags": tags} if tags is not None else {}))
        else:
            t, frame = self._stamp_time(msg)
            note = self._store.add_note(self._video.id, t, frame_index=frame, kind="typed", text=text,
                                        tags=tags or ())
        self._refresh_notes()
        return note

    def _on_edit(self, msg: dict[str, Any], _b: list[Any]) -> Note:
        note_id = self._note_id(msg)
        fields: dict[str, Any] = {}
        if "text" in msg and msg["text"] is not None:
            fields["text"] = str(msg["text"])
            current = self._store.note(note_id, include_deleted=True)
            if current.status == "error" and fields["text"].strip():
                fields.update(status="done", error=None)  # the user typed what the recognizer missed
        tags = _clean_tags(msg.get("tags"))
        if tags is not None:
            fields["tags"] = tags
        if not fields:
            return self._store.note(note_id)
        note = self._store.update_note(note_id, **fields)
        self._refresh_notes()
        return note

    def _on_delete(self, msg: dict[str, Any], _b: list[Any]) -> Note:
        note = self._store.delete_note(self._note_id(msg))
        self._refresh_notes()
        self.status = f"Deleted the note at {_hms(note.t)}."
        return note

    def _on_undo(self, msg: dict[str, Any], _b: list[Any]) -> Note:
        note = self._store.restore_note(self._note_id(msg))
        self._refresh_notes()
        self.status = f"Restored the note at {_hms(note.t)}."
        return note

    def _on_cancel(self, msg: dict[str, Any], _b: list[Any]) -> None:
        """A stamp whose note was abandoned (mic failed and the typed field was dismissed)."""
        note_id = self._note_id(msg)
        note = self._store.note(note_id, include_deleted=True)
        if note.status == "recording" and not note.text:
            self._store.delete_note(note_id)
            self._refresh_notes()

    def _on_export(self, msg: dict[str, Any], _b: list[Any]) -> Path:
        fmt = str(msg.get("fmt") or "")
        path, text = self._export(fmt, None)
        mime = {"srt": "application/x-subrip", "vtt": "text/vtt", "csv": "text/csv", "json": "application/json",
                "eaf": "application/xml"}.get(fmt.lower(), "text/plain")
        self.send({"type": "download", "filename": path.name, "mime": mime, "text": text})
        return path

    def _on_summarize(self, msg: dict[str, Any], _b: list[Any]) -> None:
        from vidqa.providers.groq import has_groq_key

        if not has_groq_key():
            self.summary = ""
            self.status = ("Summaries use Groq: set GROQ_API_KEY in the environment that runs Jupyter "
                           "(then restart the kernel) and press Summarise again.")
            return
        self.busy = "Summarising the notes with Groq…"
        db = self._store.path

        def job() -> None:
            from vidqa.annotate.summarize import summarize_video_notes

            store = Store(db)
            try:
                result = summarize_video_notes(store, self._video.id)
                self.summary = str(result.get("text", ""))
                self.status = f"Summary by {result.get('model', 'Groq')}."
            except VidqaError as err:
                self.error = str(err)
            except Exception as err:  # noqa: BLE001
                self.error = f"Summary failed: {type(err).__name__}: {err}"
            finally:
                store.close()
                self.busy = ""

        threading.Thread(target=job, name="vidqa-summary", daemon=True).start()

    # --- internals -----------------------------------------------------------------------------------------------
    def _resolve(self, source: Any) -> Video:
        key = os.fspath(source) if isinstance(source, os.PathLike) else str(source)
        found = self._store.find_video(key)
        if found is None and Path(key).expanduser().exists():
            found = self._store.find_video(str(Path(key).expanduser().resolve()))
        if found is not None:
            return found
        from vidqa.pipeline.ingest import ingest

        return ingest(key, self._store)

    def _serve(self, page: dict[str, Any]) -> None:
        from vidqa.widgets.serving import serve_media

        media = self._store.abspath(self._video.play_path or self._video.path)
        if not media.exists():
            self.error = f"The video file {media} is missing from the data folder; ingest the source again."
            return
        served = serve_media(media, page=page)
        self._served = served
        if served.urls != list(self.video_urls):
            self.video_urls = served.urls
        if served.message:
            self.status = served.message
        elif not served.urls:
            self.error = f"Cannot work out a URL for {media} on this Jupyter server."

    def _refresh_notes(self, store: Store | None = None) -> None:
        with self._refresh_lock:
            notes = (store or self._store).notes(self._video.id)
            self.notes_state = [_note_dict(n) for n in notes]

    def _export(self, fmt: str, path: str | os.PathLike[str] | None) -> tuple[Path, str]:
        from vidqa.annotate.exports import EXPORT_FORMATS, export_notes

        key = (fmt or "").lower().lstrip(".")
        if key not in EXPORT_FORMATS:
            raise VidqaError(f"Unknown export format {fmt!r}: choose one of {', '.join(EXPORT_FORMATS)}.")
        if path is None:
            slug = re.sub(r"[^A-Za-z0-9._-]+", "-", self._video.title or "video").strip("-")[:60] or "video"
            path = self._store.root / "reports" / f"{slug}-{self._video.id}.notes.{key}"
        path = Path(path).expanduser().resolve()
        notes = self._store.notes(self._video.id)
        text = export_notes(notes, key, path, video=self._video,
                            media_path=self._store.abspath(self._video.play_path or self._video.path))
        self.status = f"Exported {len(notes)} note(s) as {key.upper()} to {path}"
        return path, text

    def _settings(self):
        from vidqa.analyze.transcribe import TranscribeSettings

        # Notes need text, not word timings: skipping the word alignment pass cuts ~25 % off the wait.
        return TranscribeSettings(backend=self.backend, model=self.model, word_timestamps=False, snap_words=False)

    def _warm_up(self) -> None:
        """Load the local speech model in the worker now, so the first note does not wait for it."""
        try:
            settings = self._settings()
            if settings.resolved_backend() != "local":
                return
        except Exception:  # noqa: BLE001 - a bad backend name is reported when a note is transcribed
            return

        def job() -> None:
            from vidqa.analyze.transcribe import local_model

            try:
                local_model(settings.model, compute_type=settings.compute_type, cpu_threads=settings.cpu_threads)
            except Exception:
                log.warning("could not preload the speech model", exc_info=True)

        _WORKER.submit(job, None)

    def _recover_interrupted(self, *, stale_after: float = STALE_RECORDING_S) -> None:
        """Pick up notes a killed kernel or a closed page left behind.

        A recording whose audio arrived but was never transcribed (``pending``/``transcribing``) is queued again. A
        stamp whose recording never arrived (``recording`` for longer than ``stale_after`` seconds) becomes an
        ``error`` note that keeps its stamp: the user can type its text or delete it.
        """
        now = time.time()
        for note in self._store.notes(self._video.id):
            if note.status in ("pending", "transcribing") and note.audio_path:
                if self._store.abspath(note.audio_path).exists():
                    self._store.update_note(note.id, status="pending")
                    self._queue_transcription(note.id)
                else:
                    self._store.update_note(note.id, status="error",
                                            error="The recording's file is missing: type the note's text.")
            elif note.status == "recording" and not note.audio_path and _age(note.updated_at, now) > stale_after:
                self._store.update_note(
                    note.id, status="error",
                    error="The recording was interrupted (kernel restarted or page closed) before its audio "
                          "arrived; the stamp is kept: type the note's text or delete it.")

    def _queue_transcription(self, note_id: int) -> None:
        settings = self._settings()
        db = self._store.path

        def job() -> None:
            self._transcribe_note(_worker_store(db), note_id, settings)

        _WORKER.submit(job, self)

    def _transcribe_note(self, store: Store, note_id: int, settings: Any) -> None:
        from vidqa.analyze.transcribe import transcribe, transcript_text

        try:
            note = store.note(note_id, include_deleted=True)
            if not note.audio_path:
                return
            if note.text.strip():  # the user typed the note's text while it waited: theirs wins
                store.update_note(note_id, status="done", error=None)
                return
            store.update_note(note_id, status="transcribing", error=None)
            self._refresh_notes(store)
            path = store.abspath(note.audio_path)
            try:
                backend = settings.resolved_backend()
                segments = transcribe(path, settings, progress=False)
                text = transcript_text(segments).strip()
            except VidqaError as err:
                store.update_note(note_id, status="error", error=str(err))
                return
            except Exception as err:  # noqa: BLE001 - shown on the note; audio and stamp stay
                store.update_note(note_id, status="error", error=f"{type(err).__name__}: {err}")
                return
            if not text:
                store.update_note(note_id, status="error", backend=backend,
                                  error="No speech was recognised in the recording: retry, or click the note "
                                        "and type its text.")
                return
            label = f"{backend}:{settings.resolved_model()}"
            if store.note(note_id, include_deleted=True).text.strip():
                # typed while transcribing: keep the user's text, never overwrite it with the machine's
                store.update_note(note_id, status="done", error=None, backend=label)
                return
            store.update_note(note_id, status="done", text=text, error=None, backend=label)
        except Exception:  # noqa: BLE001 - e.g. the database went away: log, keep the worker alive
            log.error("transcribing note %s failed:\n%s", note_id, traceback.format_exc())
        finally:
            try:
                self._refresh_notes(store)
            except Exception:
                log.warning("could not refresh the notes list", exc_info=True)

    def _job_started(self) -> None:
        with self._jobs_cv:
            self._jobs += 1
        self.busy = "Transcribing…"

    def _job_finished(self) -> None:
        with self._jobs_cv:
            self._jobs -= 1
            idle = self._jobs == 0
            self._jobs_cv.notify_all()
        if idle:
            self.busy = ""

    @traitlets.validate("keymap")
    def _validate_keymap(self, proposal: dict[str, Any]) -> dict[str, str]:
        value = dict(proposal["value"])
        unknown = set(value) - set(DEFAULT_KEYMAP)
        if unknown:
            raise traitlets.TraitError(f"Unknown keymap action(s) {sorted(unknown)}: use {', '.join(DEFAULT_KEYMAP)}.")
        return {**DEFAULT_KEYMAP, **{k: str(v) for k, v in value.items()}}


def _clean_tags(tags: Any) -> list[str] | None:
    if tags is None:
        return None
    if isinstance(tags, str):
        tags = re.split(r"[,\s]+", tags)
    return [str(t).strip().lstrip("#") for t in tags if str(t).strip().lstrip("#")]


def _video_mime(path: str | None) -> str:
    ext = Path(path or "").suffix.lower()
    return {".webm": "video/webm", ".ogv": "video/ogg", ".mov": "video/mp4", ".m4v": "video/mp4"}.get(ext, "video/mp4")


def _hms(t: float) -> str:
    ms = round(max(0.0, t) * 1000)
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"

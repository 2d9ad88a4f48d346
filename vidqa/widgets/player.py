"""The annotation player: a video in a Jupyter widget where SPACE stamps the media time and records a voice note.

The stamp is saved in SQLite the moment the key goes down (status ``recording``); the recording follows as one
binary message, is written next to the database (``notes/<video_id>/<note_id>.webm``) and transcribed in the
background while you keep watching. Notes survive kernel restarts: reopening the same video shows them again.

This module is only the face: every rule of a note's life is in :mod:`vidqa.annotate.notes` and every write goes
through :class:`vidqa.pipeline.notes.VideoNotes`. The widget class holds the synced state and the public API; what it
does with each front-end message (one handler per message type) is in :mod:`vidqa.widgets.player_messages`.

Example (in JupyterLab or Voilà)::

    from vidqa import VideoPlayer
    player = VideoPlayer("data/samples/sample.mp4", store="data/vidqa.db", lookback=0.5)
    player                      # SPACE: stamp + record, SPACE again: stop; K play/pause; J/L -5/+5 s ...
    player.notes                # list[vidqa.records.Note]
    player.export("srt")        # -> path of the written file
    player.seek(12.0)

    VideoPlayer(store="data/vidqa.db", picker=True)   # an app: pick a stored video (and a database)

Keys are configurable: ``VideoPlayer(..., keymap={"record": "r", "play_pause": " "})``. The time overlay sits in
a corner of the picture or outside it (``overlay="outside"``; the O key or the overlay's ⇲ button moves it).

The video is served by the Jupyter server itself (``/files/...`` in JupyterLab, ``/voila/files/...`` in Voilà; see
:mod:`vidqa.widgets.serving`), never through the widget's state.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from vidqa.annotate.notes import Executor
from vidqa.errors import VidqaError
from vidqa.pipeline.notes import VideoNotes, audio_ext, find_or_ingest
from vidqa.records import Note, Video
from vidqa.store import Store, open_store
from vidqa.widgets.assets import widget_file, widget_module
from vidqa.widgets.player_messages import dispatch, note_dict

__all__ = ["DEFAULT_KEYMAP", "OVERLAY_POSITIONS", "VideoPlayer", "widget_file", "audio_ext"]

DEFAULT_KEYMAP: dict[str, str] = {
    "record": " ",
    "play_pause": "k",
    "back": "j",
    "forward": "l",
    "frame_back": ",",
    "frame_forward": ".",
    "slower": "[",
    "faster": "]",
    "overlay": "o",
}
"""Action -> ``KeyboardEvent.key`` (letters match either case; ``" "`` is SPACE)."""

OVERLAY_POSITIONS = ("top-left", "top-right", "bottom-left", "bottom-right", "outside")
"""Where the time overlay sits: a corner of the picture, or ``outside`` (a strip above it, covering nothing)."""

SEEK_STEP_S = 5.0


# ---------------------------------------------------------------------------------------------------------------
class VideoPlayer(anywidget.AnyWidget):
    """A video player that stamps voice or typed notes at the media time (JupyterLab, Notebook 7, Voilà).

    Parameters
    ----------
    source:
        A stored video's id (or sha256, or a source it was ingested from), a local path, a URL or a Google Drive
        link; new sources are ingested first (:func:`vidqa.pipeline.ingest.ingest`). ``None``: the most recently
        stored video of ``store`` (which must exist then).
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
    overlay:
        Where the time overlay sits (:data:`OVERLAY_POSITIONS`).
    picker:
        Show a video picker (the store's videos) and a database picker (``databases`` plus ``*.db`` files found
        next to the store and in ``./data``, ``../data``): the Voilà app.
    databases:
        More database paths to offer in the picker.
    executor:
        Runs transcriptions (default: one worker thread shared by every player; ``SyncExecutor()`` in tests).
    autofocus:
        Take the keyboard focus when first shown (the keys work at once after "Run All").

    Example::

        player = VideoPlayer("data/samples/sample.mp4", store="data/vidqa.db")
        player
    """

    _esm = widget_module("player.js", deps=["dom.js"])
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
    """One short line; the long story is in :attr:`status_detail` (shown on demand)."""
    status_detail = traitlets.Unicode("").tag(sync=True)
    summary = traitlets.Unicode("").tag(sync=True)
    busy = traitlets.Unicode("").tag(sync=True)
    export_formats = traitlets.List(traitlets.Unicode()).tag(sync=True)
    overlay = traitlets.Unicode("top-left").tag(sync=True)
    autofocus = traitlets.Bool(True).tag(sync=True)
    picker = traitlets.Bool(False).tag(sync=True)
    videos = traitlets.List().tag(sync=True)
    """``[{"id", "title", "duration"}]``: the store's videos (for the picker)."""
    db_path = traitlets.Unicode("").tag(sync=True)
    databases = traitlets.List().tag(sync=True)
    """``[{"path", "label"}]``: databases the picker offers."""

    def __init__(
        self,
        source: str | os.PathLike[str] | None = None,
        *,
        store: Store | str | os.PathLike[str] | None = None,
        lookback: float = 0.0,
        hold_to_talk: bool = False,
        backend: str = "auto",
        model: str | None = None,
        keymap: dict[str, str] | None = None,
        overlay: str = "top-left",
        picker: bool = False,
        databases: list[str | os.PathLike[str]] | None = None,
        executor: Executor | None = None,
        autofocus: bool = True,
        **kwargs: Any,
    ) -> None:
        if source is None or str(source) == "":
            # Nothing to ingest: the database must exist already (never create an empty one by mistake).
            self._store = store if isinstance(store, Store) else open_store(store, create=False)
        else:
            self._store = store if isinstance(store, Store) else open_store(store)
        self._owns_store = not isinstance(store, Store)
        self.backend = backend
        self.model = model
        self.current_time: float = 0.0
        """Media time last reported by the front-end (seconds)."""
        self._executor = executor
        self._client_ids: dict[str, int] = {}
        self._refresh_lock = threading.Lock()
        self._page: dict[str, Any] = {}
        self._served = None
        self._extra_dbs = [Path(d) for d in (databases or [])]
        video = self._pick_video(self._store, source)
        from vidqa.annotate.exports import EXPORT_FORMATS

        km = dict(DEFAULT_KEYMAP)
        for action, key in (keymap or {}).items():
            if action not in DEFAULT_KEYMAP:
                raise VidqaError(f"Unknown keymap action {action!r}: use {', '.join(DEFAULT_KEYMAP)}.")
            km[action] = str(key)
        if overlay not in OVERLAY_POSITIONS:
            raise VidqaError(f"Unknown overlay position {overlay!r}: use {', '.join(OVERLAY_POSITIONS)}.")
        super().__init__(
            keymap=km, lookback=float(lookback), hold_to_talk=bool(hold_to_talk), export_formats=list(EXPORT_FORMATS),
            overlay=overlay, picker=bool(picker), autofocus=bool(autofocus), **kwargs,
        )
        self.on_msg(self._dispatch)
        self._notes: VideoNotes = self._attach(video)
        self._notes.warm_up()
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
        return self._notes.notes()

    @property
    def note_writer(self) -> VideoNotes:
        """The :class:`~vidqa.pipeline.notes.VideoNotes` this player writes through."""
        return self._notes

    def seek(self, t: float) -> None:
        """Move the playhead to ``t`` seconds in every open view."""
        self.send({"type": "seek", "t": max(0.0, float(t))})

    def open_video(self, source: str | os.PathLike[str] | None = None, *,
                   store: str | os.PathLike[str] | None = None) -> Video:
        """Show another video (and/or database) in this player; ``store`` must name an existing database."""
        switched = store is not None and self._switch_store(Path(store))
        video = self._pick_video(self._store, source) if source is not None or switched else self._video
        if video.id != self._video.id or switched:
            self._notes = self._attach(video)
        return video

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
        from vidqa.pipeline.summaries import summarize_video_notes

        result = summarize_video_notes(self._store, self._video.id, model=model, base_url=base_url)
        self.summary = str(result.get("text", ""))
        self._say(f"Summary by {result.get('model', 'Groq')}.")
        return result

    def wait_idle(self, timeout: float | None = 60.0, *, progress: bool = False) -> bool:
        """Block until this player's transcriptions are finished; ``False`` on timeout (``progress``: a tqdm bar)."""
        return self._notes.wait_idle(timeout, progress=progress)

    def handle_message(self, content: dict[str, Any], buffers: list[Any] | None = None) -> Any:
        """Process one front-end message (what the browser sends; tests and scripts may call it directly).

        Returns the handler's result (e.g. the note for ``stamp``); errors are shown in the widget's error bar and
        returned as ``None``.
        """
        return dispatch(self, content, buffers or [])

    def _dispatch(self, _widget: Any, content: dict[str, Any], buffers: list[Any]) -> Any:
        """The ``on_msg`` callback: :func:`vidqa.widgets.player_messages.dispatch`."""
        return dispatch(self, content, buffers)

    # --- internals -----------------------------------------------------------------------------------------------
    def _say(self, short: str, detail: str = "") -> None:
        """The status line (short) and its details (shown on demand)."""
        self.status_detail = detail
        self.status = short

    @staticmethod
    def _pick_video(store: Store, source: Any) -> Video:
        if source is None or str(source) == "":
            videos = store.videos()
            if not videos:
                raise VidqaError(f"No videos in {store.path} yet: pass a source to VideoPlayer (or run "
                                 f"`vidqa ingest SOURCE --db {store.path}`).")
            return videos[-1]
        return find_or_ingest(store, source)

    def _attach(self, video: Video) -> VideoNotes:
        """Show ``video``: its notes, its file, the picker lists; crash recovery runs on the note worker."""
        self._video = video
        self._client_ids = {}
        def on_change() -> None:
            if self._notes is notes:  # a job of a video no longer shown changes nothing on screen
                self._refresh_notes()

        def on_busy(text: str) -> None:
            if self._notes is notes:
                self.busy = text

        notes = VideoNotes(self._store, video, executor=self._executor, backend=self.backend, model=self.model,
                           lookback=self.lookback, on_change=on_change, on_busy=on_busy)
        self._notes = notes
        with self.hold_sync():
            self.video_id = video.id
            self.title = video.title or video.id
            self.duration = float(video.duration or 0.0)
            self.fps = float(video.fps or 0.0)
            self.mime = _video_mime(video.play_path)
            self.db_path = str(self._store.path.resolve())
            self.summary = ""
            if self.picker:
                self.videos = [{"id": v.id, "title": v.title or v.id, "duration": float(v.duration or 0.0)}
                               for v in self._store.videos()]
                self.databases = self._database_choices()
        self._refresh_notes()
        if self._page:
            self._serve(self._page)
        notes.recover()
        return notes

    def _database_choices(self) -> list[dict[str, str]]:
        current = self._store.path.resolve()
        found: list[Path] = [current, *self._extra_dbs]
        cwd = Path.cwd()
        for folder in (current.parent, cwd / "data", cwd.parent / "data", cwd):
            if folder.is_dir():
                found += sorted(folder.glob("*.db"))
        out, seen = [], set()
        for p in found:
            try:
                rp = p.resolve()
            except OSError:
                continue
            if rp in seen or not rp.is_file():
                continue
            seen.add(rp)
            try:
                label = os.path.relpath(rp, cwd)
            except ValueError:
                label = str(rp)
            out.append({"path": str(rp), "label": label if len(label) < len(str(rp)) else str(rp)})
        return out

    def _switch_store(self, path: Path) -> bool:
        """Use the database at ``path`` (it must exist and hold videos); ``False`` when it is the current one."""
        if path.expanduser().resolve() == self._store.path.resolve():
            return False
        new = open_store(path.expanduser(), create=False)  # never an empty database by mistake
        if not new.videos():
            new.close()
            raise VidqaError(f"{path} holds no videos yet: ingest one first (`vidqa ingest SOURCE --db {path}`).")
        old, owned = self._store, self._owns_store
        self._store, self._owns_store = new, True
        self._extra_dbs.append(old.path.resolve())
        if owned:
            self._notes.wait_idle(30)
            old.close()
        return True

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
            self._say(served.short or served.message, served.message)
        elif not served.urls:
            self.error = f"Cannot work out a URL for {media} on this Jupyter server."

    def _refresh_notes(self) -> None:
        with self._refresh_lock:
            notes = self._store.notes(self._video.id)
            self.notes_state = [note_dict(n) for n in notes]

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
        self._say(f"Exported {len(notes)} note(s) as {key.upper()}: {path.name}", f"Written to {path}")
        return path, text

    @traitlets.observe("lookback")
    def _lookback_changed(self, change: dict[str, Any]) -> None:
        notes = getattr(self, "_notes", None)
        if notes is not None:
            notes.lookback = float(change["new"] or 0.0)

    @traitlets.validate("keymap")
    def _validate_keymap(self, proposal: dict[str, Any]) -> dict[str, str]:
        value = dict(proposal["value"])
        unknown = set(value) - set(DEFAULT_KEYMAP)
        if unknown:
            raise traitlets.TraitError(f"Unknown keymap action(s) {sorted(unknown)}: use {', '.join(DEFAULT_KEYMAP)}.")
        return {**DEFAULT_KEYMAP, **{k: str(v) for k, v in value.items()}}

    @traitlets.validate("overlay")
    def _validate_overlay(self, proposal: dict[str, Any]) -> str:
        value = str(proposal["value"])
        if value not in OVERLAY_POSITIONS:
            raise traitlets.TraitError(f"Unknown overlay position {value!r}: use {', '.join(OVERLAY_POSITIONS)}.")
        return value


def _video_mime(path: str | None) -> str:
    ext = Path(path or "").suffix.lower()
    return {".webm": "video/webm", ".ogv": "video/ogg", ".mov": "video/mp4", ".m4v": "video/mp4"}.get(ext, "video/mp4")


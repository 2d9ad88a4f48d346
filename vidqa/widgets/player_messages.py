"""What the annotation player does with each front-end message: one handler per message ``type`` and the dispatch.

The browser (``player.js``) sends ``{"type": ..., ...}`` messages (plus one binary buffer for ``audio``);
:func:`dispatch` looks the type up in :data:`HANDLERS` and runs the handler with the player, the message and its
buffers. A :class:`~vidqa.errors.VidqaError` is shown in the player's error bar; any other failure is logged and shown
too: a handler never raises into the kernel's comm handler. Every note write goes through the player's
:class:`~vidqa.pipeline.notes.VideoNotes`.

Example::

    from vidqa.widgets.player_messages import HANDLERS, dispatch
    note = dispatch(player, {"type": "stamp", "t": 3.2, "kind": "typed"}, [])
    dispatch(player, {"type": "typed", "note_id": note.id, "text": "ball enters"}, [])
    sorted(HANDLERS)   # ['audio', 'cancel', 'clip', 'delete', 'edit', 'export', 'hello', ...]
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidqa.annotate.notes import clean_tags
from vidqa.errors import VidqaError
from vidqa.records import Note, Video

if TYPE_CHECKING:
    from vidqa.widgets.player import VideoPlayer

__all__ = ["EXPORT_MIMES", "HANDLERS", "Handler", "dispatch", "note_dict", "note_id_of"]

log = logging.getLogger("vidqa.widgets.player")  # the logger player failures have always gone to

Handler = Callable[["VideoPlayer", dict[str, Any], list[Any]], Any]
"""``handler(player, message, buffers) -> result`` (the result is what :meth:`VideoPlayer.handle_message` returns)."""

EXPORT_MIMES = {"srt": "application/x-subrip", "vtt": "text/vtt", "csv": "text/csv", "json": "application/json",
                "eaf": "application/xml"}
"""MIME type of each export format, for the browser's download."""


def dispatch(player: VideoPlayer, content: dict[str, Any], buffers: list[Any]) -> Any:
    """Run the handler of ``content["type"]``; errors go to ``player.error`` and give ``None``.

    Example::

        dispatch(player, {"type": "time", "t": 12.5}, [])   # player.current_time == 12.5
    """
    kind = content.get("type") if isinstance(content, dict) else None
    handler = HANDLERS.get(kind or "")
    if handler is None:
        player.error = f"The player got an unknown message {kind!r} (front-end and Python versions differ?)."
        return None
    try:
        return handler(player, content, list(buffers or []))
    except VidqaError as err:
        player.error = str(err)
    except Exception as err:  # noqa: BLE001 - never crash the kernel's comm handler
        log.error("player %s handler failed:\n%s", kind, traceback.format_exc())
        player.error = f"{kind} failed: {type(err).__name__}: {err}"
    return None


def note_dict(n: Note) -> dict[str, Any]:
    """A note as the front-end's ``notes_state`` holds it."""
    return {
        "id": n.id, "t": n.t, "end": n.end, "frame": n.frame_index, "text": n.text, "status": n.status,
        "error": n.error, "tags": list(n.tags), "kind": n.kind, "has_audio": bool(n.audio_path),
    }


def note_id_of(player: VideoPlayer, msg: dict[str, Any]) -> int:
    """The id of the note a message names (``note_id``, or the ``client_id`` of a stamp); it must exist."""
    nid = msg.get("note_id")
    if nid is None and msg.get("client_id"):
        nid = player._client_ids.get(str(msg["client_id"]))
    if nid is None:
        raise VidqaError("That message names no note (its stamp never reached Python?).")
    return player._notes.note(int(nid)).id


def _names_a_stamp(player: VideoPlayer, msg: dict[str, Any]) -> bool:
    return msg.get("note_id") is not None or msg.get("client_id") in player._client_ids


# --- handlers ----------------------------------------------------------------------------------------------------
def on_hello(player: VideoPlayer, msg: dict[str, Any], _b: list[Any]) -> None:
    """A front-end opened: it says which page it is on (Lab or Voilà, base URL), so the video can be served."""
    page = {k: str(msg.get(k) or "") for k in ("base_url", "app_url", "pathname")}
    player._page = page
    player._serve(page)


def on_time(player: VideoPlayer, msg: dict[str, Any], _b: list[Any]) -> None:
    player.current_time = float(msg.get("t") or 0.0)


def on_mic(player: VideoPlayer, msg: dict[str, Any], _b: list[Any]) -> None:
    state = str(msg.get("state") or "")
    if state:
        player.mic_state = state
    if msg.get("message"):
        player._say(str(msg.get("short") or "No microphone: notes are typed."), str(msg["message"]))
    if state == "unavailable" and _names_a_stamp(player, msg):
        player._notes.mic_unavailable(note_id_of(player, msg))


def on_stamp(player: VideoPlayer, msg: dict[str, Any], _b: list[Any]) -> Note:
    kind = str(msg.get("kind") or "voice")
    note = player._notes.stamp(msg.get("t"), frame=msg.get("frame"), kind=kind)
    player.current_time = float(msg.get("t"))
    client_id = str(msg.get("client_id") or "")
    if client_id:
        player._client_ids[client_id] = note.id
    player.send({"type": "stamped", "client_id": client_id, "note_id": note.id, "t": note.t})
    return note


def on_audio(player: VideoPlayer, msg: dict[str, Any], buffers: list[Any]) -> Note:
    note_id = note_id_of(player, msg)
    if not buffers:
        raise VidqaError("The recording arrived without its audio (no binary buffer).")
    return player._notes.save_audio(note_id, bytes(buffers[0]), str(msg.get("mime") or "audio/webm"),
                                    end=msg.get("end"))


def on_retry(player: VideoPlayer, msg: dict[str, Any], _b: list[Any]) -> Note:
    backend = str(msg["backend"]) if msg.get("backend") else None
    if backend:
        player.backend = backend
    return player._notes.retry(note_id_of(player, msg), backend=backend)


def on_typed(player: VideoPlayer, msg: dict[str, Any], _b: list[Any]) -> Note | None:
    text = str(msg.get("text") or "")
    tags = clean_tags(msg.get("tags"))
    if _names_a_stamp(player, msg):
        # a stamp saved at the key press (typed note, or a voice stamp whose microphone failed)
        return player._notes.type_text(note_id_of(player, msg), text, tags)
    return player._notes.add_typed(msg.get("t"), text, frame=msg.get("frame"), tags=tags)


def on_edit(player: VideoPlayer, msg: dict[str, Any], _b: list[Any]) -> Note:
    times = {k: msg[k] for k in ("t", "end") if k in msg}
    text = str(msg["text"]) if msg.get("text") is not None else None
    return player._notes.edit(note_id_of(player, msg), text=text, tags=clean_tags(msg.get("tags")), **times)


def on_delete(player: VideoPlayer, msg: dict[str, Any], _b: list[Any]) -> Note:
    note = player._notes.delete(note_id_of(player, msg))
    player._say(f"Deleted the note at {_hms(note.t)}.")
    return note


def on_undo(player: VideoPlayer, msg: dict[str, Any], _b: list[Any]) -> Note:
    note = player._notes.restore(note_id_of(player, msg))
    player._say(f"Restored the note at {_hms(note.t)}.")
    return note


def on_cancel(player: VideoPlayer, msg: dict[str, Any], _b: list[Any]) -> bool:
    """A stamp whose note was abandoned (the text field was dismissed)."""
    return player._notes.cancel(note_id_of(player, msg))


def on_clip(player: VideoPlayer, msg: dict[str, Any], _b: list[Any]) -> int:
    """Send a note's recording to the front-end to play it back."""
    note_id = note_id_of(player, msg)
    data, mime = player._notes.audio(note_id)
    player.send({"type": "clip", "note_id": note_id, "mime": mime}, [data])
    return len(data)


def on_open(player: VideoPlayer, msg: dict[str, Any], _b: list[Any]) -> Video:
    db = msg.get("db")
    video = player.open_video(msg.get("video"), store=db if db else None)
    player._say(f"Showing {video.title or video.id}.")
    return video


def on_export(player: VideoPlayer, msg: dict[str, Any], _b: list[Any]) -> Path:
    fmt = str(msg.get("fmt") or "")
    path, text = player._export(fmt, None)
    mime = EXPORT_MIMES.get(fmt.lower(), "text/plain")
    player.send({"type": "download", "filename": path.name, "mime": mime, "text": text})
    return path


def on_summarize(player: VideoPlayer, msg: dict[str, Any], _b: list[Any]) -> None:
    """A Groq summary of the notes, made on a background thread (the widget shows it when done)."""
    from vidqa.providers.groq import has_groq_key

    if not has_groq_key():
        player.summary = ""
        player._say("Summaries need GROQ_API_KEY.",
                    "Summaries use Groq: set GROQ_API_KEY in the environment that runs Jupyter "
                    "(then restart the kernel) and press Summarise again.")
        return
    player.busy = "Summarising the notes with Groq…"
    store, video_id = player._store, player._video.id

    def job() -> None:
        from vidqa.pipeline.summaries import summarize_video_notes

        try:
            result = summarize_video_notes(store, video_id)
            player.summary = str(result.get("text", ""))
            player._say(f"Summary by {result.get('model', 'Groq')}.")
        except VidqaError as err:
            player.error = str(err)
        except Exception as err:  # noqa: BLE001
            player.error = f"Summary failed: {type(err).__name__}: {err}"
        finally:
            store.release_thread()
            player.busy = player._notes.busy_text()

    threading.Thread(target=job, name="vidqa-summary", daemon=True).start()


HANDLERS: dict[str, Handler] = {
    "hello": on_hello,
    "stamp": on_stamp,
    "audio": on_audio,
    "retry": on_retry,
    "typed": on_typed,
    "edit": on_edit,
    "delete": on_delete,
    "undo": on_undo,
    "cancel": on_cancel,
    "export": on_export,
    "summarize": on_summarize,
    "time": on_time,
    "mic": on_mic,
    "clip": on_clip,
    "open": on_open,
}
"""Message ``type`` -> handler."""


def _hms(t: float) -> str:
    ms = round(max(0.0, t) * 1000)
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"

"""The review widget: go through draft questions, watch the evidence, edit, and accept / reject / skip by keyboard.

For each draft the video loops the question's window, the boxes the question refers to are drawn over the frames,
and the evidence is listed (the transcript words of the audio cue, the audio event with its time, the OCR line).
Prompt, gold answer, options, window and category are editable; the verdict is stored with the reviewer's name and
time (:func:`vidqa.pipeline.review.submit_review`), moving the question draft -> validated / rejected. Dropped
candidates are listed in the queue with their drop reason. Cue tiers (transcript, audio events, objects by label,
text lines, scene cuts, notes) run under the video with a playhead; clicking an item seeks. Everything users and
models wrote is shown as text, never HTML.

Round 2 is the blind second review of a seeded sample of validated items (default 10 %,
:func:`vidqa.pipeline.review.queue_second_review`); agreement is :func:`vidqa.pipeline.review.agreement`.

Example (JupyterLab, or the Voilà app ``notebooks/review.ipynb``)::

    from vidqa.widgets.review import ReviewWidget
    w = ReviewWidget("data/vidqa.db", reviewer="ana")
    w                       # A accept · R reject (reason, Enter) · S skip · E edit · Space play · N/P next/previous
    w.accept()              # the same verdicts from Python, on the current item
    ReviewWidget("data/vidqa.db", reviewer="ben", round=2)   # the second review

Keys (``KeyboardEvent.key``, configurable with ``keymap={"accept": "y"}``): see :data:`DEFAULT_KEYMAP`; digits
1-9 mark the right option of a multiple-choice question; in a form field Enter returns to the keys and Escape undoes
the edits.
"""

from __future__ import annotations

import logging
import os
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from vidqa.errors import NotFoundError, VidqaError
from vidqa.pipeline.review import agreement as review_agreement
from vidqa.pipeline.review import known_categories, queue_second_review, submit_review
from vidqa.records import Video
from vidqa.records.questions import Question
from vidqa.review.agreement import AgreementReport
from vidqa.review.evidence import evidence_view, question_view
from vidqa.review.sampling import DEFAULT_FRACTION
from vidqa.review.tiers import build_tiers
from vidqa.store import Store, open_store
from vidqa.widgets.assets import widget_file, widget_module

__all__ = ["DEFAULT_KEYMAP", "ReviewWidget"]

log = logging.getLogger(__name__)

DEFAULT_KEYMAP: dict[str, str] = {
    "accept": "a",
    "reject": "r",
    "skip": "s",
    "edit": "e",
    "play_pause": " ",
    "replay": "w",
    "loop": "o",
    "back": "j",
    "forward": "l",
    "set_start": "[",
    "set_end": "]",
    "next": "n",
    "prev": "p",
}
"""Action -> key: ``accept`` (with the form's edits, if any), ``reject`` (opens the reason field: Enter rejects),
``skip``, ``edit`` (focus the prompt; Tab walks the fields), ``play_pause``, ``replay`` (window start), ``loop``
(on/off), ``back``/``forward`` (1 s), ``set_start``/``set_end`` (window edge = playhead), ``next``/``prev``."""

TIER_PADDING_S = 5.0
"""The tiers show the window and at least this much around it."""

_VERBS = {"accept": "Accepted", "edit": "Accepted with edits", "reject": "Rejected", "skip": "Skipped"}


class ReviewWidget(anywidget.AnyWidget):
    """Review draft questions (round 1) or a blind sample of validated ones (round 2).

    Parameters
    ----------
    store:
        A :class:`~vidqa.store.Store` or a database path (must exist).
    reviewer:
        The reviewer's name, stored with each verdict; when empty the widget asks for it.
    video:
        Only this video's questions (an id, sha256 or a source it was ingested from); default all videos.
    round:
        1 (drafts; dropped candidates are listed too) or 2 (the second review).
    fraction, seed, statuses:
        The second-review sample (round 2): ``fraction`` of the questions with ``statuses`` drawn with ``seed``.
    show_dropped:
        List dropped candidates (with their reasons) after the drafts in round 1.
    keymap:
        Overrides of :data:`DEFAULT_KEYMAP`.
    tier_padding:
        Seconds of cues shown around the window in the tiers (at least the window's length).
    queue_window:
        How many queue rows the page lists at a time (around the current item).
    """

    _esm = widget_module("review.js", deps=["dom.js", "tiers.js"])
    _css = widget_file("review.css")

    reviewer = traitlets.Unicode("").tag(sync=True)
    round = traitlets.Int(1).tag(sync=True)
    keymap = traitlets.Dict().tag(sync=True)
    categories = traitlets.List(traitlets.Unicode()).tag(sync=True)
    queue_state = traitlets.List().tag(sync=True)
    counts = traitlets.Dict().tag(sync=True)
    current = traitlets.Dict().tag(sync=True)
    tiers = traitlets.List().tag(sync=True)
    tier_view = traitlets.Dict().tag(sync=True)
    video_urls = traitlets.List(traitlets.Unicode()).tag(sync=True)
    mime = traitlets.Unicode("video/mp4").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    queue_total = traitlets.Int(0).tag(sync=True)

    def __init__(
        self,
        store: Store | str | os.PathLike[str] | None = None,
        reviewer: str = "",
        *,
        video: str | None = None,
        round: int = 1,
        fraction: float = DEFAULT_FRACTION,
        seed: int = 0,
        statuses: Sequence[str] = ("validated",),
        show_dropped: bool = True,
        keymap: dict[str, str] | None = None,
        tier_padding: float = TIER_PADDING_S,
        queue_window: int = 300,
        **kwargs: Any,
    ) -> None:
        self._store = store if isinstance(store, Store) else open_store(store, create=False)
        if int(round) not in (1, 2):
            raise VidqaError(f"round must be 1 (first review) or 2 (second review), not {round!r}.")
        km = dict(DEFAULT_KEYMAP)
        for action, key in (keymap or {}).items():
            if action not in DEFAULT_KEYMAP:
                raise VidqaError(f"Unknown keymap action {action!r}: use {', '.join(DEFAULT_KEYMAP)}.")
            km[action] = str(key)
        self._video_id: str | None = None
        if video is not None:
            found = self._store.find_video(str(video))
            if found is None:
                raise NotFoundError(f"No stored video {video!r}: ingest it first (`vidqa ingest SOURCE`).")
            self._video_id = found.id
        self.fraction = float(fraction)
        self.seed = int(seed)
        self.statuses = tuple(statuses)
        self.show_dropped = bool(show_dropped)
        self.tier_padding = float(tier_padding)
        self.queue_window = max(10, int(queue_window))
        self._questions: dict[int, Question] = {}
        self._order: list[int] = []
        self._session: dict[int, str] = {}
        self._pending: set[int] = set()
        self._page: dict[str, Any] | None = None
        self._served: dict[str, list[str]] = {}
        self._videos: dict[str, Video] = {}
        self._transcripts: dict[str, list[Any]] = {}
        self._current_id: int | None = None
        super().__init__(reviewer=str(reviewer or "").strip(), round=int(round), keymap=km,
                         categories=known_categories(self._store), **kwargs)
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "hello": self._on_hello,
            "select": self._on_select,
            "verdict": self._on_verdict,
            "reviewer": self._on_reviewer,
        }
        self.on_msg(self._dispatch)
        self.refresh()
        first = self._next_pending(None)
        if first is None and self._order:
            first = self._order[0]
        if first is not None:
            self.select(first)

    # --- public API ----------------------------------------------------------------------------------------------
    @property
    def store(self) -> Store:
        return self._store

    @property
    def queue(self) -> list[int]:
        """Ids still waiting for this reviewer's verdict, in queue order."""
        return [i for i in self._order if i in self._pending]

    @property
    def current_question(self) -> Question | None:
        """The question on screen (read from the database)."""
        return self._store.question(self._current_id) if self._current_id is not None else None

    def select(self, qid: int) -> None:
        """Show question ``qid``."""
        self._show(int(qid))

    def accept(self, changes: dict[str, Any] | None = None) -> None:
        """Accept the current question (with ``changes``: an edit), as the Accept key does."""
        self._verdict(self._require_current(), "accept", None, changes)

    def reject(self, reason: str) -> None:
        """Reject the current question for ``reason``."""
        self._verdict(self._require_current(), "reject", reason, None)

    def skip(self) -> None:
        """Skip the current question (recorded; its status does not change)."""
        self._verdict(self._require_current(), "skip", None, None)

    def refresh(self) -> None:
        """Re-read the queue from the database."""
        self._build_queue()

    def agreement(self) -> AgreementReport:
        """Cohen's kappa between first and second reviews so far (:func:`vidqa.pipeline.review.agreement`), for
        this widget's video (or all videos)."""
        return review_agreement(self._store, video_id=self._video_id)

    def handle_message(self, content: dict[str, Any]) -> Any:
        """Process one front-end message (tests and scripts may call it); errors go to the widget's error bar."""
        return self._dispatch(self, content, [])

    # --- dispatch ------------------------------------------------------------------------------------------------
    def _dispatch(self, _widget: Any, content: dict[str, Any], _buffers: list[Any]) -> Any:
        kind = content.get("type") if isinstance(content, dict) else None
        handler = self._handlers.get(kind or "")
        if handler is None:
            self.error = f"The review widget got an unknown message {kind!r} (front-end and Python versions differ?)."
            return None
        try:
            return handler(content)
        except VidqaError as err:
            self.error = str(err)
        except Exception as err:  # noqa: BLE001 - never crash the kernel's comm handler
            log.error("review %s handler failed:\n%s", kind, traceback.format_exc())
            self.error = f"{kind} failed: {type(err).__name__}: {err}"
        return None

    def _on_hello(self, msg: dict[str, Any]) -> None:
        self._page = {k: str(msg.get(k) or "") for k in ("base_url", "app_url", "pathname")}
        self._served.clear()
        if self._current_id is not None:
            self._show(self._current_id, serve_only=True)

    def _on_select(self, msg: dict[str, Any]) -> None:
        self._show(int(msg["id"]))

    def _on_reviewer(self, msg: dict[str, Any]) -> None:
        name = str(msg.get("name") or "").strip()
        if not name:
            raise VidqaError("Type your name (it is stored with each verdict), then press Enter.")
        self.reviewer = name
        self.error = ""
        self.status = f"Reviewing as {name}."
        if self.round == 2:
            self.refresh()
            if self._current_id is not None:
                self._show(self._current_id)

    def _on_verdict(self, msg: dict[str, Any]) -> None:
        changes = msg.get("changes") or None
        self._verdict(int(msg["id"]), str(msg.get("verdict") or ""), msg.get("reason"), changes)

    # --- internals -----------------------------------------------------------------------------------------------
    def _require_current(self) -> int:
        if self._current_id is None:
            raise VidqaError("No question is selected.")
        return self._current_id

    def _verdict(self, qid: int, verdict: str, reason: str | None, changes: dict[str, Any] | None) -> None:
        if self.round == 2 and qid not in self._pending and qid not in self._session:
            raise VidqaError(f"Question {qid} is not in your second-review sample.")
        review = submit_review(self._store, qid, self.reviewer, verdict, reason=reason, changes=changes,
                               round=self.round)
        self._session[qid] = review.verdict
        self.error = ""
        what = _VERBS.get(review.verdict, review.verdict)
        detail = ""
        if review.verdict == "edit":
            detail = f" (changed {', '.join(sorted(review.changes))})"
        elif review.verdict == "reject" and review.reason:
            detail = f": {review.reason}"
        self._build_queue()
        nxt = self._next_pending(qid)
        self.status = f"{what} #{qid}{detail} as {review.reviewer}." + ("" if nxt is not None else
                                                                         " Nothing left in the queue.")
        self._show(nxt if nxt is not None else qid)

    def _next_pending(self, after: int | None) -> int | None:
        order = self._order
        if not order:
            return None
        start = order.index(after) + 1 if after in order else 0
        for i in order[start:] + order[:start]:
            if i in self._pending and i != after:
                return i
        return None

    def _build_queue(self) -> None:
        store, vid = self._store, self._video_id
        questions = {q.id: q for q in store.questions(vid)}
        if self.round == 1:
            pending = [q.id for q in questions.values() if q.status == "draft"]
            listed = pending + ([q.id for q in questions.values() if q.status == "dropped"] if self.show_dropped
                                else [])
            counts: dict[str, int] = {}
            for q in questions.values():
                counts[q.status] = counts.get(q.status, 0) + 1
            counts = {k: counts.get(k, 0) for k in ("draft", "validated", "rejected", "dropped")}
        else:
            waiting = queue_second_review(store, self.fraction, self.seed, reviewer=self.reviewer or None,
                                          video_id=vid, statuses=self.statuses)
            pending = [q.id for q in waiting if q.id not in self._session]
            listed = list(pending)
            counts = {"waiting": len(pending), "second-reviewed here": len(self._session)}
        self._pending = set(pending)
        listed_set = set(listed)
        keep = [i for i in self._order if i in questions and (i in self._session or i in listed_set)]
        kept = set(keep)
        self._order = keep + [i for i in listed if i not in kept]
        self._questions = questions
        self.counts = counts
        self._sync_queue()

    def _sync_queue(self) -> None:
        """Send the queue rows around the current item (at most ``queue_window``: a long queue stays light)."""
        order = self._order
        at = order.index(self._current_id) if self._current_id in order else 0
        lo = max(0, min(at - self.queue_window // 5, len(order) - self.queue_window))
        rows = order[lo: lo + self.queue_window]
        self.queue_state = [_queue_row(self._questions[i], self._session.get(i), blind=self.round == 2) for i in rows
                            if i in self._questions]
        self.queue_total = len(order)

    def _video(self, video_id: str) -> Video:
        if video_id not in self._videos:
            self._videos[video_id] = self._store.video(video_id)
        return self._videos[video_id]

    def _urls(self, video: Video) -> list[str]:
        if self._page is None:
            return []
        if video.id not in self._served:
            from vidqa.widgets.serving import serve_media

            media = self._store.abspath(video.play_path or video.path)
            if not media.exists():
                raise VidqaError(f"The video file {media} is missing from the data folder; ingest the source again.")
            served = serve_media(media, page=self._page)
            if served.message:
                self.status = served.message
            if not served.urls:
                raise VidqaError(f"Cannot work out a URL for {media} on this Jupyter server.")
            self._served[video.id] = served.urls
        return self._served[video.id]

    def _show(self, qid: int, *, serve_only: bool = False) -> None:
        q = self._store.question(qid)
        video = self._video(q.video_id)
        if serve_only:
            self.mime = _video_mime(video.play_path)
            self.video_urls = self._urls(video)
            return
        duration = float(video.duration or 0.0) or max(q.t_end, q.visual_cue.end, q.audio_cue.end)
        pad = max(self.tier_padding, q.t_end - q.t_start)
        v0 = max(0.0, min(q.t_start, q.audio_cue.start, q.visual_cue.start) - pad)
        v1 = min(duration, max(q.t_end, q.audio_cue.end, q.visual_cue.end) + pad)
        if q.video_id not in self._transcripts:
            self._transcripts[q.video_id] = self._store.transcript(q.video_id)
        transcript = self._transcripts[q.video_id]
        audio = self._store.audio_events(q.video_id, start=v0, end=v1)
        visual = self._store.visual_events(q.video_id, start=v0, end=v1)
        notes = self._store.notes(q.video_id)
        drops = self._store.question_drops(qid) if hasattr(self._store, "question_drops") else []
        editable, why_not = True, ""
        if self.round == 2 and qid not in self._pending and qid not in self._session:
            editable, why_not = False, "This item is not in your second-review sample."
        with self.hold_sync():
            self.mime = _video_mime(video.play_path)
            self.video_urls = self._urls(video)
            self.tier_view = {"start": round(v0, 3), "end": round(v1, 3)}
            self.tiers = build_tiers(transcript=transcript, audio_events=audio, visual_events=visual, notes=notes,
                                     start=v0, end=v1)
            view = question_view(q)
            if self.round == 2:  # blind: the first verdict is not shown
                view["status"] = "second review"
            self.current = {
                "question": view,
                "evidence": evidence_view(q, transcript=transcript, audio_events=audio, visual_events=visual,
                                          notes=notes),
                "video": {"id": video.id, "title": video.title, "duration": duration, "fps": video.fps},
                "drops": [{"check": d.get("check"), "reason": d.get("reason")} for d in drops],
                "editable": editable,
                "why_not": why_not,
                "verdict": self._session.get(qid),
            }
        previous, self._current_id = self._current_id, qid
        if previous != qid and self.queue_total > self.queue_window:
            self._sync_queue()

    @traitlets.validate("keymap")
    def _validate_keymap(self, proposal: dict[str, Any]) -> dict[str, str]:
        value = dict(proposal["value"])
        unknown = set(value) - set(DEFAULT_KEYMAP)
        if unknown:
            raise traitlets.TraitError(f"Unknown keymap action(s) {sorted(unknown)}: use {', '.join(DEFAULT_KEYMAP)}.")
        return {**DEFAULT_KEYMAP, **{k: str(v) for k, v in value.items()}}


def _queue_row(q: Question, verdict: str | None, *, blind: bool = False) -> dict[str, Any]:
    status = ("done" if verdict else "waiting") if blind else q.status
    return {"id": q.id, "video_id": q.video_id, "status": status, "category": q.category, "question": q.question,
            "t_start": round(q.t_start, 3), "t_end": round(q.t_end, 3), "drop_reason": q.drop_reason,
            "verdict": verdict}


def _video_mime(path: str | None) -> str:
    ext = Path(path or "").suffix.lower()
    return {".webm": "video/webm", ".ogv": "video/ogg", ".mov": "video/mp4", ".m4v": "video/mp4"}.get(ext, "video/mp4")

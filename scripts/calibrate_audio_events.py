"""Calibrate the audio-event thresholds on real sounds mixed into backgrounds at known times.

Sources (fetched with ``apt-get download PKG && dpkg-deb -x`` into a cache, see ``tests/debs.py``):

- ``tuxfootball``: referee whistles (short, long, twice, end), crowd cheer / boo / ooh, kick, title music;
- ``sound-theme-freedesktop``: alarm clock, phone ring, bells;
- ``asterisk-core-sounds-en-wav``: read English speech (8 kHz prompts);
- generated: a 3.2 kHz "pea whistle" (vibrato + trill), a steady 1 kHz beep, white noise.

Every foreground is mixed at a random known time into 20 s of three backgrounds (near-silence, continuous speech,
crowd) at two background levels. The detector runs on each clip; a target counts as found when an event of its kind
overlaps it (±0.5 s); every other event of a kind that neither the background nor the foreground explains is a
false positive. For each kind the threshold is swept and the one with the best F1 (ties: the higher threshold) is
reported; the chosen values are the defaults of :class:`vidqa.analyze.audio_events.AudioEventSettings`.

Writes ``benchmarks/calibration/audio_events.csv`` (sweep rows + per-target rows with the defaults) and
``benchmarks/calibration/audio_events.html`` (Plotly). Prints the tables.

Run::

    python scripts/calibrate_audio_events.py            # ~2-4 min on 2 cores
    python scripts/calibrate_audio_events.py --quick    # fewer clips
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # tests/debs.py: fetch_deb

from debs import fetch_deb

from vidqa.media.audio import SAMPLE_RATE, load_audio
from vidqa.analyze.audio_events import AudioEventSettings, YamnetModel, detect_audio_events

SR = SAMPLE_RATE
KINDS = ("whistle", "buzzer", "bell", "crowd", "music", "speech", "silence")
SWEEP = (0.1, 0.15, 0.25, 0.4, 0.6, 0.75, 0.85)  # between YAMNet's quantised probability steps


# --- sounds -----------------------------------------------------------------------------------------------------
def whistle_tone(freq: float = 3200.0, seconds: float = 0.6, *, seed: int = 0) -> np.ndarray:
    """A blown "pea whistle": tone with 6 Hz vibrato, 35 Hz trill (amplitude) and a little breath noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    inst = freq + 40 * np.sin(2 * np.pi * 6 * t) + 15 * np.sin(2 * np.pi * 35 * t)
    phase = 2 * np.pi * np.cumsum(inst) / SR
    am = 0.75 + 0.25 * np.sin(2 * np.pi * 35 * t)
    y = am * np.sin(phase) + 0.02 * rng.standard_normal(len(t))
    ramp = np.minimum(1, np.minimum(t, t[-1] - t) / 0.01)
    return (0.3 * y * ramp).astype(np.float32)


def sine(freq: float, seconds: float, amp: float = 0.2) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    ramp = np.minimum(1, np.minimum(t, t[-1] - t) / 0.005)
    return (amp * np.sin(2 * np.pi * freq * t) * ramp).astype(np.float32)


def onset_of(y: np.ndarray, rel_db: float = 25.0) -> tuple[float, float]:
    """First and last 10 ms frame within ``rel_db`` of the sound's loudest frame (s)."""
    n = len(y) // 160
    rms = np.sqrt(np.mean(y[: n * 160].reshape(n, 160) ** 2, axis=1) + 1e-12)
    db = 20 * np.log10(rms)
    on = np.where(db > db.max() - rel_db)[0]
    return on[0] * 0.01, (on[-1] + 1) * 0.01


def rms_db(y: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(y.astype(np.float64) ** 2)) + 1e-12))


@dataclass
class Sound:
    name: str
    samples: np.ndarray
    kind: str | None
    """Expected kind (``None``: a negative, nothing but the background should be reported)."""
    also: tuple[str, ...] = ()
    """Other kinds that are acceptable over this sound (not counted as false positives)."""


def load_sounds(cache: Path) -> tuple[list[Sound], dict[str, np.ndarray]]:
    tux = fetch_deb("tuxfootball", cache) / "usr/share/games/tuxfootball/sound"
    fd = fetch_deb("sound-theme-freedesktop", cache) / "usr/share/sounds/freedesktop/stereo"
    ast = fetch_deb("asterisk-core-sounds-en-wav", cache) / "usr/share/asterisk/sounds/en_US_f_Allison"
    music = load_audio(tux / "titlemusic.ogg")
    fg = [
        Sound("refwhistlelong", load_audio(tux / "refwhistlelong.wav"), "whistle"),
        Sound("refwhistleshort", load_audio(tux / "refwhistleshort.wav"), "whistle"),
        Sound("refwhistletwice", load_audio(tux / "refwhistletwice.wav"), "whistle"),
        Sound("refwhistleend", load_audio(tux / "refwhistleend.wav"), "whistle"),
        Sound("synth_whistle_3k2", whistle_tone(3200, 0.6), "whistle"),
        Sound("synth_whistle_2k7_short", whistle_tone(2700, 0.3, seed=1), "whistle"),
        Sound("beep_1k", sine(1000, 0.5), "buzzer", also=("bell",)),
        Sound("alarm-clock-elapsed", load_audio(fd / "alarm-clock-elapsed.oga"), "buzzer", also=("bell",)),
        Sound("phone-incoming-call", load_audio(fd / "phone-incoming-call.oga"), "bell", also=("buzzer",)),
        Sound("complete", load_audio(fd / "complete.oga"), "bell", also=("buzzer",)),
        Sound("crowdcheer", load_audio(tux / "crowdcheer.wav"), "crowd", also=("speech",)),
        Sound("crowdboo", load_audio(tux / "crowdboo.wav"), "crowd", also=("speech",)),
        Sound("kick", load_audio(tux / "kick.wav"), None),
        Sound("titlemusic", music[SR * 5 : SR * 13], "music", also=("bell", "buzzer")),
        Sound("speech", np.concatenate([load_audio(ast / f) for f in ("all-circuits-busy-now.wav", "agent-pass.wav")]), "speech"),
        Sound("noise", (0.05 * np.random.default_rng(3).standard_normal(SR)).astype(np.float32), None),
        Sound("silent_gap", np.zeros(int(1.5 * SR), np.float32), "silence"),  # replaces the background
    ]
    prompts = sorted(ast.glob("*.wav"))
    rng = np.random.default_rng(7)
    speech_bg = []
    for p in rng.choice(prompts, 60, replace=False):
        speech_bg += [load_audio(p), np.zeros(int(rng.uniform(0.05, 0.3) * SR), np.float32)]
    crowd = [load_audio(tux / f) for f in ("crowdcheer.wav", "crowdboo.wav")]
    bgs = {
        "silence": np.zeros(SR, np.float32),
        "speech": np.concatenate(speech_bg),
        "crowd": np.concatenate(crowd * 3),
    }
    return fg, bgs


@dataclass
class Clip:
    id: str
    bg: str
    level: float
    sound: Sound
    samples: np.ndarray
    t_on: float
    t_off: float


BG_EXPLAINS = {"silence": {"silence"}, "speech": {"speech", "silence"}, "crowd": {"crowd", "speech"}}


def make_clips(fg: list[Sound], bgs: dict[str, np.ndarray], *, levels=(-30.0, -22.0), seconds=20.0, seed=0) -> list[Clip]:
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    clips = []
    for bg_name, bg in bgs.items():
        for level in levels if bg_name != "silence" else (-80.0,):
            for snd in fg:
                start = int(rng.integers(0, max(1, len(bg) - n))) if len(bg) > n else 0
                base = np.resize(bg[start:], n).astype(np.float32) if bg_name != "silence" else np.zeros(n, np.float32)
                if bg_name != "silence":
                    base *= 10 ** ((level - rms_db(base)) / 20)
                base += (10 ** (-80 / 20) * rng.standard_normal(n)).astype(np.float32)  # faint floor, not digital zero
                t = float(rng.uniform(4.0, 11.0))
                i = int(t * SR)
                y = snd.samples[: n - i]
                if snd.name == "silent_gap":
                    if bg_name == "silence":
                        continue
                    base[i : i + len(y)] = 0.0
                    on, off = 0.0, len(y) / SR
                else:
                    base[i : i + len(y)] += y
                    on, off = onset_of(y)
                clips.append(Clip(f"{bg_name}{int(level)}_{snd.name}", bg_name, level, snd, base, t + on, t + off))
    return clips


class CachedModel:
    """The real YamnetModel with its predictions memoised per clip (the sweep re-runs detection many times)."""

    def __init__(self, model: YamnetModel):
        self.model = model
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def __getattr__(self, name):
        return getattr(self.model, name)

    def predict(self, samples, *, progress=False):
        key = hashlib.sha1(np.ascontiguousarray(samples).tobytes()).hexdigest()
        if key not in self._cache:
            self._cache[key] = self.model.predict(samples, progress=progress)
        return self._cache[key]


def evaluate(clips: list[Clip], settings: AudioEventSettings, model) -> tuple[dict[str, dict], list[dict]]:
    """Per-kind tp/fn/fp/onset errors and one row per clip."""
    stats = {k: {"tp": 0, "fn": 0, "fp": 0, "onset": []} for k in KINDS}
    rows = []
    for clip in clips:
        events = detect_audio_events(clip.samples, settings=settings, progress=False, model=model)
        target = clip.sound.kind
        if target in BG_EXPLAINS[clip.bg] and target != "silence":
            target = None  # speech over speech, crowd over crowd: not a separable target
        hit = None
        if target:
            cands = [e for e in events if e.kind == target and e.end >= clip.t_on - 0.5 and e.start <= clip.t_off + 0.5]
            if target == "silence":
                cands = [e for e in cands if e.start >= clip.t_on - 0.5]
            if cands:
                hit = min(cands, key=lambda e: abs(e.start - clip.t_on))
                stats[target]["tp"] += 1
                stats[target]["onset"].append(hit.start - clip.t_on)
            else:
                stats[target]["fn"] += 1
        explained = set(BG_EXPLAINS[clip.bg])
        fps = []
        for e in events:
            if e is hit or e.kind in explained:
                continue
            near = e.end >= clip.t_on - 0.5 and e.start <= clip.t_off + 0.5
            if near and (e.kind == target or e.kind in clip.sound.also):
                continue
            if e.kind == "silence" and clip.bg == "silence":
                continue
            stats[e.kind]["fp"] += 1
            fps.append(f"{e.kind}@{e.start:.2f}")
        rows.append(
            {
                "clip": clip.id, "background": clip.bg, "bg_level_dbfs": clip.level, "sound": clip.sound.name,
                "target": target or "", "true_onset": round(clip.t_on, 3), "true_offset": round(clip.t_off, 3),
                "found": bool(hit) if target else "", "found_start": round(hit.start, 3) if hit else "",
                "found_end": round(hit.end, 3) if hit else "", "onset_error": round(hit.start - clip.t_on, 3) if hit else "",
                "confidence": hit.confidence if hit else "", "false_positives": " ".join(fps),
            }
        )
    return stats, rows


def prf(st: dict) -> tuple[float, float, float, float]:
    p = st["tp"] / (st["tp"] + st["fp"]) if st["tp"] + st["fp"] else 1.0
    r = st["tp"] / (st["tp"] + st["fn"]) if st["tp"] + st["fn"] else float("nan")
    f = 2 * p * r / (p + r) if p + r and not np.isnan(r) else float("nan")
    mae = float(np.mean(np.abs(st["onset"]))) if st["onset"] else float("nan")
    return p, r, f, mae


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, default=ROOT / "tests" / ".cache" / "debs")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "calibration")
    ap.add_argument("--quick", action="store_true", help="one background level, no sweep of the whistle DSP")
    args = ap.parse_args()

    fg, bgs = load_sounds(args.cache)
    clips = make_clips(fg, bgs, levels=(-26.0,) if args.quick else (-30.0, -22.0))
    model = CachedModel(YamnetModel.shared(1))
    print(f"{len(clips)} clips of 20 s")

    t0 = time.perf_counter()
    base = AudioEventSettings()
    sweep_rows = []
    best: dict[str, float] = {}
    for kind in KINDS[:-1]:
        results = []
        for thr in SWEEP:
            kinds = (kind, "whistle") if kind in ("buzzer", "bell") else (kind,)  # whistles suppress buzzers
            s = dataclasses.replace(base, thresholds={**base.thresholds, kind: thr}, kinds=kinds)
            stats, _ = evaluate(clips, s, model)
            p, r, f, mae = prf(stats[kind])
            results.append((thr, p, r, f, mae, stats[kind]))
            sweep_rows.append({"section": "sweep", "kind": kind, "param": "threshold", "value": thr, "precision": round(p, 3),
                               "recall": round(r, 3), "f1": round(f, 3), "onset_mae_s": round(mae, 3),
                               "tp": stats[kind]["tp"], "fp": stats[kind]["fp"], "fn": stats[kind]["fn"]})
        top = max(results, key=lambda z: (np.nan_to_num(z[3]), z[0]))
        best[kind] = top[0]
        print(f"sweep {kind:8s}: " + "  ".join(f"{z[0]:.2f}:P{z[1]:.2f}/R{z[2]:.2f}" for z in results) + f"  -> {top[0]}")
    if not args.quick:
        for frac in (0.2, 0.3, 0.45, 0.6):
            s = dataclasses.replace(base, whistle_strong_fraction=frac, kinds=("whistle",))
            stats, _ = evaluate(clips, s, model)
            p, r, f, mae = prf(stats["whistle"])
            sweep_rows.append({"section": "sweep", "kind": "whistle", "param": "whistle_strong_fraction", "value": frac,
                               "precision": round(p, 3), "recall": round(r, 3), "f1": round(f, 3),
                               "onset_mae_s": round(mae, 3), "tp": stats["whistle"]["tp"], "fp": stats["whistle"]["fp"],
                               "fn": stats["whistle"]["fn"]})
            print(f"sweep whistle_strong_fraction {frac}: P{p:.2f} R{r:.2f} onset MAE {mae:.3f}s")
        s = dataclasses.replace(base, whistle_dsp=False, kinds=("whistle",))
        stats, _ = evaluate(clips, s, model)
        p, r, f, mae = prf(stats["whistle"])
        sweep_rows.append({"section": "sweep", "kind": "whistle", "param": "whistle_dsp", "value": 0, "precision": round(p, 3),
                           "recall": round(r, 3), "f1": round(f, 3), "onset_mae_s": round(mae, 3),
                           "tp": stats["whistle"]["tp"], "fp": stats["whistle"]["fp"], "fn": stats["whistle"]["fn"]})
        print(f"whistle YAMNet only (no DSP): P{p:.2f} R{r:.2f} onset MAE {mae:.3f}s")

    stats, clip_rows = evaluate(clips, base, model)
    elapsed = time.perf_counter() - t0
    print(f"\nbest-F1 thresholds (sweep): {best}")
    print(f"current defaults: { {k: base.threshold(k) for k in KINDS[:-1]} }\n")
    print(f"{'kind':8s} {'prec':>5s} {'rec':>5s} {'F1':>5s} {'onset MAE':>9s} {'|err|<=0.25':>11s}  tp fp fn   (defaults)")
    summary = []
    for kind in KINDS:
        p, r, f, mae = prf(stats[kind])
        within = np.mean(np.abs(stats[kind]["onset"]) <= 0.25) if stats[kind]["onset"] else float("nan")
        print(f"{kind:8s} {p:5.2f} {r:5.2f} {f:5.2f} {mae:8.3f}s {within:11.2f}  {stats[kind]['tp']:2d} {stats[kind]['fp']:2d} {stats[kind]['fn']:2d}")
        summary.append({"section": "defaults", "kind": kind, "param": "threshold", "value": base.threshold(kind) if kind != "silence" else base.silence_db,
                        "precision": round(p, 3), "recall": round(r, 3), "f1": round(f, 3), "onset_mae_s": round(mae, 3),
                        "tp": stats[kind]["tp"], "fp": stats[kind]["fp"], "fn": stats[kind]["fn"]})
    misses = [r for r in clip_rows if r["found"] is False or r["false_positives"]]
    if misses:
        print("\nmisses / false positives with the defaults:")
        for r in misses:
            print(f"  {r['clip']:38s} found={r['found']!s:5s} fp={r['false_positives']}")
    print(f"\n{len(clips)} clips evaluated {1 + len(KINDS[:-1]) * len(SWEEP)}+ times in {elapsed:.1f} s")

    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / "audio_events.csv"
    fields = ["section", "kind", "param", "value", "precision", "recall", "f1", "onset_mae_s", "tp", "fp", "fn"]
    clip_fields = list(clip_rows[0].keys())
    tmp = csv_path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields + [f for f in clip_fields if f not in fields], extrasaction="ignore")
        w.writeheader()
        for r in sweep_rows + summary:
            w.writerow(r)
        for r in clip_rows:
            w.writerow({"section": "clip", "kind": r["target"], **r})
    os.replace(tmp, csv_path)
    write_figure(args.out / "audio_events.html", sweep_rows, summary, clip_rows, base)
    print(f"wrote {csv_path} and {args.out / 'audio_events.html'}")


def write_figure(path: Path, sweep_rows, summary, clip_rows, base: AudioEventSettings) -> None:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=3, subplot_titles=("F1 vs YAMNet threshold (per kind)",
                                                        "Onset error of found targets (defaults)",
                                                        "Precision / recall (defaults)"))
    for kind in KINDS[:-1]:
        rows = [r for r in sweep_rows if r["kind"] == kind and r["param"] == "threshold"]
        fig.add_trace(go.Scatter(x=[r["value"] for r in rows], y=[r["f1"] for r in rows], mode="lines+markers", name=kind,
                                 legendgroup=kind, hovertext=[f"P {r['precision']} R {r['recall']}" for r in rows]), 1, 1)
    found = [r for r in clip_rows if r["found"] is True]
    fig.add_trace(go.Box(x=[r["target"] for r in found], y=[r["onset_error"] for r in found], boxpoints="all",
                         hovertext=[r["clip"] for r in found], name="onset error (s)", showlegend=False), 1, 2)
    fig.add_trace(go.Bar(x=[r["kind"] for r in summary], y=[r["precision"] for r in summary], name="precision"), 1, 3)
    fig.add_trace(go.Bar(x=[r["kind"] for r in summary], y=[r["recall"] for r in summary], name="recall"), 1, 3)
    fig.update_yaxes(title_text="F1", row=1, col=1)
    fig.update_yaxes(title_text="detected start - true onset (s)", row=1, col=2)
    fig.update_layout(title="vidqa audio events: calibration on real Debian sounds mixed into silence / speech / crowd",
                      height=520, width=1500, barmode="group")
    tmp = path.with_suffix(".html.tmp")
    fig.write_html(str(tmp), include_plotlyjs="cdn")
    os.replace(tmp, path)


if __name__ == "__main__":
    main()

"""Audio-event bounds on the 10 ms signal envelopes: bound refinement, the crowd test and silence runs.

Helpers of :func:`vidqa.analyze.audio_events.detect_audio_events` (its module docstring, steps 3, 5 and 6, says
why they work as they do). :func:`envelopes` computes the RMS level (dBFS, 25 ms frames) and the onset strength on
a 10 ms hop; :func:`refine_bounds` turns the YAMNet patches of an event into start, end and peak times on that grid;
:func:`crowd_like` tells a crowd (a sustained roar) from one voice (pauses between syllables); :func:`silences`
finds runs of frames under ``silence_db``.

Example::

    from vidqa.analyze.audio_bounds import crowd_like, envelopes, silences
    from vidqa.analyze.audio_events import AudioEventSettings
    env = envelopes(samples)                                  # samples: np.float32 16 kHz mono
    quiet = silences(env, AudioEventSettings(), len(samples) / 16000)   # [(start, end, quietest, level_db), ...]
    crowd_like(env, 2.0, 6.5)                                 # True for a boo or a cheer, False for one talker
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vidqa.analyze.yamnet import ENV_HOP_S, HOP, PATCH_HOP_S, PATCH_LEN_S
from vidqa.media.audio import SAMPLE_RATE

__all__ = ["Envelopes", "SilenceSettings", "crowd_like", "envelopes", "refine_bounds", "silences"]


class SilenceSettings(Protocol):
    """The settings :func:`silences` reads (e.g. :class:`vidqa.analyze.audio_events.AudioEventSettings`)."""

    silence_db: float
    silence_min_duration: float


@dataclass
class Envelopes:
    rms_db: np.ndarray
    onset: np.ndarray
    n: int

    def idx(self, t: float) -> int:
        return int(min(max(round(t / ENV_HOP_S), 0), self.n - 1)) if self.n else 0


def envelopes(x: np.ndarray) -> Envelopes:
    import librosa

    if len(x) == 0:
        return Envelopes(np.zeros(0), np.zeros(0), 0)
    rms = librosa.feature.rms(y=x, frame_length=400, hop_length=HOP, center=True)[0]
    rms_db = 20.0 * np.log10(rms + 1e-10)
    onset = librosa.onset.onset_strength(y=x, sr=SAMPLE_RATE, hop_length=HOP, n_fft=512)
    n = min(len(rms_db), len(onset))
    return Envelopes(rms_db[:n], onset[:n], n)


def refine_bounds(env: Envelopes, p0: int, p1: int, n_p: int, duration: float) -> tuple[float, float, float]:
    """Start, end, peak (s) of an event YAMNet saw in patches ``p0..p1``, on the 10 ms envelopes.

    Patch ``p0`` heard the sound, so it starts before that patch ends (``p0 * 0.48 + 0.98``); earlier patches may
    have heard part of it without scoring it (a crowd swells for a second before YAMNet names it). The search
    therefore **anchors inside the sound** (the loudest 10 ms frame of the event's first patch) and walks back
    from there, up to 2 s before patch ``p0``, while the RMS level stays above ``floor + max(6 dB, 35 % of the
    rise)`` (dips of up to 50 ms bridged), where ``floor`` is the quiet
    level before; the end walks forward from the last patch's loudest frame the same way. (The old search window
    ended 0.2 s before patch ``p0`` ended, i.e. before the onset of a sound that patch ``p0`` only just heard, and
    fell back to patch start + 0.25 s.) When the sound does not stand out from what precedes it (music after
    speech), the strongest onset-strength peak between 0.5 s before patch ``p0`` and the anchor is used, and
    failing that the window's middle.
    """
    first_lo = p0 * PATCH_HOP_S
    first_hi = min(duration, p0 * PATCH_HOP_S + PATCH_LEN_S)
    last_lo = p1 * PATCH_HOP_S
    last_hi = min(duration, p1 * PATCH_HOP_S + PATCH_LEN_S)
    # how far the walk may go: a sound that swells slowly (a crowd) is heard well before YAMNet names it
    s_lo = max(0.0, first_lo - (2.0 if p0 > 0 else 0.0))
    e_hi = min(duration, last_hi + (2.0 if p1 < n_p - 1 else 0.0))
    mid_s = first_lo + (0.25 if p0 > 0 else 0.0)
    mid_e = last_hi - (0.25 if p1 < n_p - 1 else 0.0)
    if env.n < 5:
        return mid_s, min(mid_e, duration), (mid_s + mid_e) / 2
    db = env.rms_db
    ia, ib = env.idx(s_lo), env.idx(first_hi)
    ja, jb = env.idx(last_lo), env.idx(e_hi)
    body = db[env.idx(first_lo) : env.idx(last_hi) + 1]
    pk = float(body.max()) if len(body) else -100.0
    anchor_s = env.idx(first_lo) + int(np.argmax(db[env.idx(first_lo) : ib + 1])) if ib > env.idx(first_lo) else ia
    anchor_e = ja + int(np.argmax(db[ja : env.idx(last_hi) + 1])) if env.idx(last_hi) > ja else jb

    def floor_of(seg: np.ndarray) -> float:
        return float(np.percentile(seg, 10)) if len(seg) >= 5 else -100.0

    def walk(anchor: int, limit: int, step: int, floor: float) -> int | None:
        rise = pk - floor
        if rise < 6.0:
            return None
        thr = floor + max(6.0, 0.35 * rise)
        if db[anchor] < thr:
            return None
        i, last_in, gap = anchor, anchor, 0
        while 0 <= i + step < env.n and (i + step - limit) * step <= 0:
            i += step
            if db[i] >= thr:
                last_in, gap = i, 0
            else:
                gap += 1
                if gap > 5:  # bridge 50 ms (longer bridges walk into a speech or crowd bed before the sound)
                    break
        return last_in

    def onset_peak(lo: int, hi: int) -> int | None:
        win = env.onset[lo : hi + 1]
        if len(win) < 3 or win.max() <= 2.0 * (np.median(win) + 1e-9):
            return None
        return lo + int(win.argmax())

    floor_s = floor_of(db[max(0, ia - 50) : anchor_s + 1])
    si = walk(anchor_s, ia, -1, floor_s)
    if si is None:
        si = onset_peak(env.idx(max(0.0, first_lo - 0.5)), anchor_s)
    start = si * ENV_HOP_S if si is not None else mid_s
    floor_e = floor_of(db[anchor_e : min(env.n, jb + 50)])
    ei = walk(anchor_e, jb, 1, floor_e)
    end = (ei + 1) * ENV_HOP_S if ei is not None else mid_e
    if end <= start:
        start, end = min(start, mid_s), max(end, mid_e)
    a, b = env.idx(start), env.idx(end)
    peak = (a + int(np.argmax(db[a : b + 1]))) * ENV_HOP_S if b > a else start
    return start, min(end, duration), peak


def crowd_like(env: Envelopes, start: float, end: float) -> bool:
    """Whether a span YAMNet calls speech sounds like a crowd (boo, cheer) rather than one voice.

    One voice pauses between syllables and words: over a speech span the 10 ms RMS level spreads widely (90th to
    20th percentile ≥ ~16 dB on recorded prompts and espeak) and ≥ ~25 % of the frames lie 12 dB under the loud
    level. A crowd is a sustained roar: spread ≤ ~10 dB, ≤ ~12 % such frames (Tux Football's boo and cheer).
    """
    a, b = env.idx(start), env.idx(end)
    seg = env.rms_db[a : b + 1]
    if len(seg) < 50:  # < 0.5 s: too short to judge
        return False
    p90 = float(np.percentile(seg, 90))
    spread = p90 - float(np.percentile(seg, 20))
    gaps = float(np.mean(seg < p90 - 12.0))
    return spread < 12.5 and gaps < 0.16


def silences(env: Envelopes, s: SilenceSettings, duration: float) -> list[tuple[float, float, float, float]]:
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

"""Referee-whistle detection by signal processing: narrow, wobbling tonal peaks between 1.5 and 5 kHz.

YAMNet (:mod:`vidqa.analyze.yamnet`) scores real referee whistles mostly as *Buzzer / Alarm / Beep* and short ones
weakly, so :func:`vidqa.analyze.audio_events.detect_audio_events` adds this detector. A referee whistle is a narrow
tonal peak between 1.5 and 5 kHz (the tuxfootball whistle sits at 2.1 kHz) that carries most of the frame's energy
and whose frequency wobbles (the pea). :func:`tonal_segments` finds the candidates: frames (1024-point STFT, 10 ms
hop) whose strongest band peak (±2 bins) holds ≥ ``whistle_min_fraction`` of the frame energy above 100 Hz and
stands ``whistle_min_peak_db`` above the band's median, chained while the frequency stays continuous (< 120 Hz
steps, dips of up to 3 frames bridged); chains ≥ ``whistle_min_duration`` are candidates with their frequency,
mean tonal fraction and frame-to-frame frequency jitter. :func:`whistle_confidence` then combines a candidate with
YAMNet's scores over it: a whistle needs a jitter ≥ ``whistle_min_jitter_hz`` (a steady "ding" or sine is not one)
and either strength (fraction ≥ ``whistle_strong_fraction``) or YAMNet support (whistle/tonal-alarm classes ≥
``whistle_support``), unless YAMNet hears music or an animal more strongly than it supports a whistle
(``whistle_veto``); a YAMNet *Whistle* score at its threshold overrides these checks.

The parameters are the ``whistle_*`` fields (and ``silence_db``) of
:class:`vidqa.analyze.audio_events.AudioEventSettings`; any object with those attributes will do.

Example::

    from vidqa.analyze.audio_events import AudioEventSettings
    from vidqa.analyze.whistle import tonal_segments, whistle_confidence
    s = AudioEventSettings()
    for seg in tonal_segments(samples, s):                  # samples: np.float32 16 kHz mono
        conf = whistle_confidence(seg, s, support=0.3, whistle_cls=0.1, veto=0.0, whistle_threshold=0.6)
        print(round(seg.start, 2), round(seg.end, 2), round(seg.freq), conf)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vidqa.analyze.yamnet import ENV_HOP_S, HOP
from vidqa.media.audio import SAMPLE_RATE

__all__ = ["TonalSegment", "WhistleSettings", "tonal_segments", "whistle_confidence"]


class WhistleSettings(Protocol):
    """The settings the whistle detector reads (fields of :class:`vidqa.analyze.audio_events.AudioEventSettings`)."""

    silence_db: float
    whistle_band_hz: tuple[float, float]
    whistle_min_fraction: float
    whistle_min_peak_db: float
    whistle_min_duration: float
    whistle_min_jitter_hz: float
    whistle_strong_fraction: float
    whistle_support: float
    whistle_veto: float


@dataclass
class TonalSegment:
    """A DSP whistle candidate: times (s), loudest frame, median frequency (Hz), mean tonal fraction, jitter (Hz)."""

    start: float
    end: float
    peak: float
    freq: float
    fraction: float
    jitter: float


def tonal_segments(x: np.ndarray, s: WhistleSettings) -> list[TonalSegment]:
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

    segs: list[TonalSegment] = []
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
            TonalSegment(start, end, float(m[int(np.argmax(level[m]))] * ENV_HOP_S), float(np.median(f[m])),
                   float(np.mean(fraction[m])), float(np.std(df)) if len(df) > 1 else 0.0)
        )
    return segs



def whistle_confidence(
    seg: TonalSegment,
    s: WhistleSettings,
    *,
    support: float,
    whistle_cls: float,
    veto: float,
    whistle_threshold: float,
) -> float | None:
    """The confidence of candidate ``seg`` as a whistle, or ``None`` when it is not one.

    ``support``: YAMNet's whistle/tonal-alarm score over the candidate; ``whistle_cls``: its *Whistle/Whistling*
    score; ``veto``: its music or animal score; ``whistle_threshold``: the YAMNet whistle threshold (a
    ``whistle_cls`` at or above it overrides the DSP checks). Confidence: the larger of ``whistle_cls`` and a blend
    of ``support`` and tonal strength.

    Example::

        whistle_confidence(seg, AudioEventSettings(), support=0.32, whistle_cls=0.18, veto=0.0,
                           whistle_threshold=0.6)   # None, or e.g. 0.5 * 0.32 + 0.5 * min(1, fraction / 0.8)
    """
    is_whistle_cls = whistle_cls >= whistle_threshold
    if seg.jitter < s.whistle_min_jitter_hz and not is_whistle_cls:
        return None  # a steady electronic tone (ding, beep, sine)
    if veto >= s.whistle_veto and veto > support and not is_whistle_cls:
        return None  # music or an animal call
    if not (seg.fraction >= s.whistle_strong_fraction or support >= s.whistle_support or is_whistle_cls):
        return None
    return max(whistle_cls, 0.5 * support + 0.5 * min(1.0, seg.fraction / 0.8))

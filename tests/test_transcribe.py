"""Transcription (vidqa.analyze.transcribe) and WER (vidqa.analyze.textmetrics), with real models, real speech and real HTTP.

- local faster-whisper tiny.en (bundled) on espeak-ng speech and on real read speech from Debian's
  asterisk-core-sounds-en (Allison's prompts with their published transcripts);
- the Groq backend through the real ``groq`` SDK against tests/fake_groq.FakeGroq on 127.0.0.1 (which transcribes
  each upload for real): chunking with overlap, retry policy, fatal errors that never contain the key;
- the bundled sample (data/samples/sample.json) when another step has generated it.
"""

from __future__ import annotations

import difflib
import gzip
import itertools
import json
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
from debs import deb_root
from needs import missing

from vidqa.media.audio import SAMPLE_RATE, load_audio
from vidqa.errors import ApiError, ModelUnavailableError
from vidqa.analyze.textmetrics import normalize_text, number_to_words, wer, word_errors
from vidqa.analyze.transcribe import TranscribeSettings, local_model, transcribe, transcribe_file, transcript_text

ROOT = Path(__file__).resolve().parent.parent
FAKE_KEY = "gsk_test_fake_key_0123456789abcdef"

SENTENCES = [
    "Please open the door and turn on the light in the kitchen.",
    "We will meet at the station at seven o'clock tomorrow morning.",
    "The weather today is cold and windy, so bring a warm coat.",
    "The children played football in the park until it got dark.",
    "Could you send me the report before lunch on Friday?",
    "She reads a book every night before going to sleep.",
    "The meeting has been moved to the large room on the second floor.",
    "Turn left at the traffic lights and walk for five minutes.",
    "He forgot his keys at home and had to wait outside.",
    "The shop closes early on Sunday afternoon.",
    "Our team scored two goals in the last ten minutes of the game.",
    "I would like a cup of tea with milk and no sugar.",
]

LOCAL = TranscribeSettings(backend="local")


# ---------------------------------------------------------------------------------------------------------------
# helpers and fixtures
# ---------------------------------------------------------------------------------------------------------------
def espeak(text: str, path: Path, speed: int = 140) -> np.ndarray:
    """Speak ``text`` with espeak-ng into ``path`` and return it as 16 kHz mono float32."""
    if shutil.which("espeak-ng") is None:
        missing("espeak-ng is not installed (Debian package espeak-ng)")
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", str(speed), "-w", str(path), text], check=True,
                   capture_output=True)
    return load_audio(path)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * SAMPLE_RATE), np.float32)


def words_of(segments) -> list:
    return [w for s in segments for w in s.words]


def encode_opus_webm(samples: np.ndarray, path: Path) -> Path:
    """A browser-like voice note: Opus in WebM at 48 kHz (PyAV, no ffmpeg binary)."""
    import av

    with av.open(str(path), "w", format="webm") as out:
        stream = out.add_stream("libopus", rate=48000)
        stream.layout = "mono"
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=48000)
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
        for i in range(0, len(pcm), 16000):
            frame = av.AudioFrame.from_ndarray(pcm[None, i : i + 16000], format="s16", layout="mono")
            frame.sample_rate = SAMPLE_RATE
            for f in resampler.resample(frame):
                for packet in stream.encode(f):
                    out.mux(packet)
        for f in resampler.resample(None):
            for packet in stream.encode(f):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("speech")


@pytest.fixture(scope="session")
def espeak_clip(speech_dir) -> tuple[np.ndarray, list[tuple[float, str]]]:
    """~60 s of espeak sentences separated by 0.6 s pauses, with each sentence's start time."""
    parts, starts, t = [], [], 0.0
    for i, text in enumerate(SENTENCES):
        samples = espeak(text, speech_dir / f"s{i}.wav", speed=150)
        starts.append((t, text))
        parts += [samples, silence(0.6)]
        t += len(samples) / SAMPLE_RATE + 0.6
    return np.concatenate(parts), starts


@pytest.fixture(scope="session")
def asterisk_prompts() -> tuple[np.ndarray, str, float]:
    """10 real read-speech prompts (Allison, 8 kHz WAV) concatenated with 0.5 s pauses, and their transcript."""
    sounds = deb_root("asterisk-core-sounds-en-wav") / "usr/share/asterisk/sounds/en_US_f_Allison"
    doc = deb_root("asterisk-core-sounds-en") / "usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"
    entries: dict[str, str] = {}
    with gzip.open(doc, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:  # "name: text" lines; ";" comments; "[beep tone]" for non-speech
            line = line.strip()
            if not line or line.startswith(";") or ":" not in line:
                continue
            name, text = (part.strip() for part in line.split(":", 1))
            if "[" in text or "/" in name or not (sounds / f"{name}.wav").exists():
                continue
            if 6 <= len(text.split()) <= 20:
                entries[name] = text
    assert len(entries) >= 50, "the transcript file's format changed: expected 'name: text' lines"
    names = sorted(entries)
    picked = names[:: max(1, len(names) // 10)][:10]
    parts = []
    for name in picked:
        parts += [load_audio(sounds / f"{name}.wav"), silence(0.5)]
    samples = np.concatenate(parts)
    return samples, " ".join(entries[n] for n in picked), len(samples) / SAMPLE_RATE


# ---------------------------------------------------------------------------------------------------------------
# textmetrics
# ---------------------------------------------------------------------------------------------------------------
def test_normalize_text():
    assert normalize_text("Hello, World!") == "hello world"
    assert normalize_text("Meet at 7 o'clock, OK?") == "meet at seven oclock ok"
    assert normalize_text("It's 3.5% -- the 2nd time!") == "its three point five percent the second time"
    assert normalize_text("Call-forward  on\tbusy.") == "call forward on busy"
    assert normalize_text("In 2024 we had 1,250 users", numbers=False) == "in 2024 we had 1 250 users"
    assert normalize_text("In 2024 we had 1,250 users") == (
        "in two thousand twenty four we had one thousand two hundred fifty users")
    assert number_to_words(0) == "zero" and number_to_words(40) == "forty"
    assert number_to_words(1_000_001) == "one million one"
    assert normalize_text("The 21st and 12th") == "the twenty first and twelfth"
    assert normalize_text("   ") == ""


def test_wer():
    assert wer("the cat sat on the mat", "the cat sat on the mat") == 0.0
    assert wer("the cat sat on the mat", "The cat sat on the mat.") == 0.0  # normalised
    assert wer("the cat sat", "the bat sat") == pytest.approx(1 / 3)  # substitution
    assert wer("the cat sat", "the cat sat down") == pytest.approx(1 / 3)  # insertion
    assert wer("the cat sat down", "the cat down") == pytest.approx(1 / 4)  # deletion
    assert wer("a b c d", "b c d e") == pytest.approx(2 / 4)  # a deleted, e inserted (not 4 substitutions)
    assert wer("a b c d", "d c b a") == 1.0
    assert wer("meet at seven", "meet at 7") == 0.0
    assert wer("meet at seven", "meet at 7", normalize=False) == pytest.approx(1 / 3)
    assert wer("", "") == 0.0 and wer("", "noise") == 1.0
    assert wer("one two", "") == 1.0
    assert word_errors(["x", "y"], ["y"]) == (1, 2)


# ---------------------------------------------------------------------------------------------------------------
# local backend
# ---------------------------------------------------------------------------------------------------------------
def test_local_espeak_sentences(speech_dir):
    text = " ".join(SENTENCES[:4])
    samples = espeak(text, speech_dir / "four.wav")
    duration = len(samples) / SAMPLE_RATE
    segments = transcribe(samples, LOCAL, progress=False)
    hyp = transcript_text(segments)
    assert wer(text, hyp) <= 0.15, hyp
    words = words_of(segments)
    assert len(words) >= 0.8 * len(text.split())
    starts = [w.start for w in words]
    assert starts == sorted(starts), "word start times must not go backwards"
    for w in words:
        assert 0.0 <= w.start <= w.end <= duration + 0.05, w
        assert w.word == w.word.strip() and w.word
        assert 0.0 <= w.probability <= 1.0
    for s in segments:
        assert s.language == "en" and s.start <= s.end and s.text


def test_local_word_times_at_known_offsets(speech_dir):
    """Speech after 2.3 s of silence, then a second sentence after a 3 s pause: first words start on time."""
    first = espeak("Good morning everyone, welcome to the show.", speech_dir / "first.wav")
    second = espeak("Tonight we talk about the weather.", speech_dir / "second.wav")
    lead = 2.3
    second_at = lead + len(first) / SAMPLE_RATE + 3.0
    samples = np.concatenate([silence(lead), first, silence(3.0), second, silence(1.0)])
    # espeak's own lead-in before the first audible sample
    onset1 = np.flatnonzero(np.abs(first) > 0.01)[0] / SAMPLE_RATE
    onset2 = np.flatnonzero(np.abs(second) > 0.01)[0] / SAMPLE_RATE
    words = words_of(transcribe(samples, LOCAL, progress=False))
    assert normalize_text(words[0].word) == "good"
    assert abs(words[0].start - (lead + onset1)) <= 0.3, words[0]
    tonight = next(w for w in words if normalize_text(w.word) == "tonight")
    assert abs(tonight.start - (second_at + onset2)) <= 0.3, tonight
    # nothing is placed inside the silences
    assert all(not (lead + len(first) / SAMPLE_RATE + 0.3 < w.start < second_at - 0.3) for w in words)


@pytest.mark.slow
def test_local_real_speech_asterisk(asterisk_prompts):
    samples, reference, duration = asterisk_prompts
    assert 20 < duration < 120
    segments = transcribe(samples, LOCAL, progress=False)
    score = wer(reference, transcript_text(segments))
    print(f"asterisk prompts: {duration:.1f} s, WER {score:.3f}")
    assert score <= 0.15, transcript_text(segments)
    words = words_of(segments)
    assert all(0 <= w.start <= w.end <= duration + 0.05 for w in words)


def test_voice_note_webm_path_and_empty(speech_dir):
    """A browser-style Opus/WebM voice note given as a path; empty and silent audio give no segments."""
    text = "Remember to check the referee decision at this moment."
    samples = espeak(text, speech_dir / "note.wav")
    note = encode_opus_webm(samples, speech_dir / "note.webm")
    segments = transcribe_file(note, LOCAL, progress=False)
    assert wer(text, transcript_text(segments)) <= 0.25, transcript_text(segments)
    assert transcribe(np.zeros(0, np.float32), LOCAL, progress=False) == []
    assert transcribe(silence(2.0), LOCAL, progress=False) == []


def test_local_model_cache_is_shared_across_threads(speech_dir):
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(local_model())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 4 and all(m is got[0] for m in got)
    assert local_model("tiny.en") is got[0]  # the bundled model's name is an alias of the default
    assert local_model(compute_type="int8", cpu_threads=1) is not got[0]  # a different key, a different model
    # the shared warm model transcribes from two threads at once (voice notes beside a pipeline run)
    texts = [SENTENCES[4], SENTENCES[5]]
    clips = [espeak(t, speech_dir / f"thread{i}.wav") for i, t in enumerate(texts)]
    results: dict[int, str] = {}

    def work(i: int) -> None:
        results[i] = transcript_text(transcribe(clips[i], LOCAL, progress=False))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, text in enumerate(texts):
        assert wer(text, results[i]) <= 0.25, results[i]


def test_model_not_available_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in ("small.en", "Systran/faster-distil-whisper-large-v3"):
        with pytest.raises(ModelUnavailableError) as info:
            transcribe(silence(1.0) + 0.01, TranscribeSettings(backend="local", model=name), progress=False)
        msg = str(info.value)
        assert name in msg and "bundled" in msg and "HF_HUB_OFFLINE" in msg


def test_backend_auto_and_settings_dict(monkeypatch):
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    assert TranscribeSettings().resolved_backend() == "local"
    assert TranscribeSettings().as_dict()["resolved_model"] == "tiny.en"
    monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
    s = TranscribeSettings(groq_base_url="http://127.0.0.1:9")
    d = s.as_dict()
    assert d["resolved_backend"] == "groq" and d["resolved_model"] == "whisper-large-v3-turbo"
    assert FAKE_KEY not in json.dumps(d)
    assert TranscribeSettings(backend="local").resolved_backend() == "local"


# ---------------------------------------------------------------------------------------------------------------
# Groq backend against the local fake server
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture
def fake_groq(monkeypatch):
    from fake_groq import FakeGroq

    monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
    with FakeGroq() as fake:
        monkeypatch.setenv("GROQ_BASE_URL", fake.url)
        yield fake


def _transcription_requests(fake):
    return [r for r in fake.requests if r.path.endswith("/audio/transcriptions")]


@pytest.mark.slow
def test_groq_chunks_merge_like_whole(fake_groq, espeak_clip):
    samples, starts = espeak_clip
    duration = len(samples) / SAMPLE_RATE
    assert 45 < duration < 90
    reference = " ".join(text for _, text in starts)

    whole = transcribe(samples, TranscribeSettings(backend="groq"), progress=False)
    n_whole = len(_transcription_requests(fake_groq))
    assert n_whole == 1
    req = _transcription_requests(fake_groq)[0]
    assert req.fields["model"] == "whisper-large-v3-turbo"
    assert req.fields["response_format"] == "verbose_json"
    assert sorted(req.fields["timestamp_granularities[]"]) == ["segment", "word"]
    assert req.fields["language"] == "en"
    assert req.headers["authorization"] == f"Bearer {FAKE_KEY}"

    chunked = transcribe(samples, TranscribeSettings(backend="groq", chunk_seconds=20, overlap_seconds=4),
                         progress=False)
    chunk_reqs = _transcription_requests(fake_groq)[n_whole:]
    assert len(chunk_reqs) == int(np.ceil((duration - 4) / 16))  # 20 s chunks every 16 s
    assert all(0 < r.file_bytes < 20 * SAMPLE_RATE * 2 for r in chunk_reqs)  # FLAC, smaller than 16-bit PCM

    text_whole, text_chunked = transcript_text(whole), transcript_text(chunked)
    print(f"groq fake: WER whole {wer(reference, text_whole):.3f}, chunked {wer(reference, text_chunked):.3f}, "
          f"chunked vs whole {wer(text_whole, text_chunked):.3f}")
    assert wer(reference, text_whole) <= 0.15
    assert wer(reference, text_chunked) <= 0.15
    assert wer(text_whole, text_chunked) <= 0.08

    words = words_of(chunked)
    n_ref = len(normalize_text(reference).split())
    assert abs(len(normalize_text(" ".join(w.word for w in words)).split()) - n_ref) <= 0.05 * n_ref
    starts_t = [w.start for w in words]
    assert starts_t == sorted(starts_t), "word times must be monotonic across seams"
    assert all(0 <= w.start <= w.end <= duration + 0.05 for w in words)
    # no word heard twice at a seam: no repeated word with overlapping or touching times
    for a, b in itertools.pairwise(words):
        assert not (normalize_text(a.word) == normalize_text(b.word) and b.start - a.end < 0.3), (a, b)
    # and the words near each seam match the reference order (no duplicates, no holes)
    ref_tokens = normalize_text(reference).split()
    hyp_tokens = normalize_text(" ".join(w.word for w in words)).split()
    matched = sum(b.size for b in difflib.SequenceMatcher(None, ref_tokens, hyp_tokens).get_matching_blocks())
    assert matched >= 0.9 * len(ref_tokens)
    # sentences begin where they were placed (a word may be misheard: allow two misses)
    found = sum(
        any(normalize_text(w.word) == normalize_text(text).split()[0] and abs(w.start - t0) < 0.5 for w in words)
        for t0, text in starts
    )
    assert found >= len(starts) - 2


def test_groq_retries_429_then_503(fake_groq, speech_dir):
    text = "Please open the door and turn on the light in the kitchen."
    samples = espeak(text, speech_dir / "retry.wav")
    fake_groq.fail_next(429, headers={"retry-after": "1"})
    segments = transcribe(samples, TranscribeSettings(backend="groq"), progress=False)
    assert len(_transcription_requests(fake_groq)) == 2
    assert wer(text, transcript_text(segments)) <= 0.15
    fake_groq.fail_next(503)
    segments = transcribe(samples, TranscribeSettings(backend="groq"), progress=False)
    assert len(_transcription_requests(fake_groq)) == 4
    assert wer(text, transcript_text(segments)) <= 0.15


@pytest.mark.parametrize("status", [401, 413])
def test_groq_fatal_errors_fail_at_once_without_key(fake_groq, speech_dir, status):
    samples = espeak("Short note.", speech_dir / f"fatal{status}.wav")
    # a server that echoes the key back must not get it into our message
    fake_groq.fail_next(status, body=json.dumps({"error": {"message": f"rejected key {FAKE_KEY}"}}))
    with pytest.raises(ApiError) as info:
        transcribe(samples, TranscribeSettings(backend="groq"), progress=False)
    assert info.value.status == status
    assert FAKE_KEY not in str(info.value) and str(status) in str(info.value)
    reqs = _transcription_requests(fake_groq)
    assert len(reqs) == 1, "fatal statuses are not retried"
    assert reqs[0].headers["authorization"] == f"Bearer {FAKE_KEY}"


def test_groq_wrong_key_is_refused(monkeypatch, speech_dir):
    from fake_groq import FakeGroq

    samples = espeak("Short note.", speech_dir / "wrongkey.wav")
    monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
    with FakeGroq(require_key="gsk_the_right_one") as fake:
        with pytest.raises(ApiError) as info:
            transcribe(samples, TranscribeSettings(backend="groq", groq_base_url=fake.url), progress=False)
        assert info.value.status == 401 and FAKE_KEY not in str(info.value)
        assert [r.headers["authorization"] for r in fake.requests] == [f"Bearer {FAKE_KEY}"]


# ---------------------------------------------------------------------------------------------------------------
# the bundled sample
# ---------------------------------------------------------------------------------------------------------------
def _sample_media(meta_path: Path, meta: dict) -> Path | None:
    for key in ("video", "path", "file", "media", "audio"):
        value = meta.get(key)
        if isinstance(value, str):
            for base in (meta_path.parent, ROOT):
                if (base / value).exists():
                    return base / value
    for p in sorted(meta_path.parent.glob(meta_path.stem + ".*")):
        if p.suffix.lower() in (".mp4", ".mkv", ".webm", ".mov", ".wav", ".m4a"):
            return p
    return None


@pytest.mark.slow
def test_bundled_sample_narration():
    meta_path = ROOT / "data" / "samples" / "sample.json"
    if not meta_path.exists():
        pytest.skip("data/samples/sample.json is absent (the bundled sample has not been generated yet)")
    meta = json.loads(meta_path.read_text())
    speech = meta.get("speech") or []
    if not speech:
        pytest.skip("the bundled sample has no 'speech' entries")
    media = _sample_media(meta_path, meta)
    if media is None:
        pytest.skip(f"no media file found next to {meta_path.name}")
    segments = transcribe(media, LOCAL, progress=False)
    reference = " ".join(u["text"] for u in speech)
    score = wer(reference, transcript_text(segments))
    print(f"bundled sample: WER {score:.3f}")
    assert score <= 0.15, transcript_text(segments)

    # utterance times: align reference words to transcript words, compare first/last matched word times
    ref_tokens, owner = [], []
    for i, u in enumerate(speech):
        toks = normalize_text(u["text"]).split()
        ref_tokens += toks
        owner += [i] * len(toks)
    hyp_words, hyp_tokens = [], []
    for w in words_of(segments):
        for tok in normalize_text(w.word).split():
            hyp_words.append(w)
            hyp_tokens.append(tok)
    match = {}
    for b in difflib.SequenceMatcher(None, ref_tokens, hyp_tokens, autojunk=False).get_matching_blocks():
        for k in range(b.size):
            match[b.a + k] = hyp_words[b.b + k]
    checked = 0
    for i, u in enumerate(speech):
        idx = [k for k, o in enumerate(owner) if o == i]
        if idx and idx[0] in match:
            assert abs(match[idx[0]].start - float(u["start"])) <= 0.5, (u, match[idx[0]])
            checked += 1
        if idx and idx[-1] in match:
            assert abs(match[idx[-1]].end - float(u["end"])) <= 0.5, (u, match[idx[-1]])
            checked += 1
    assert checked >= 1.6 * len(speech), "too few utterance bounds could be matched"

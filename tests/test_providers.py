"""vidqa.providers: the one retry policy (sleep injected: nothing sleeps for real), key handling, requests and
their cache keys, and each provider through its real SDK (groq, openai, google-genai) against tests/fake_llm.FakeLLM
on 127.0.0.1: 429 with retry-after / RetryInfo, 5xx, 413, malformed JSON, refusals, slow answers, bad keys."""

from __future__ import annotations

import base64
import json
import logging
import shutil
import struct
import subprocess
import sys
import time
import zlib

import httpx
import pytest
from fake_llm import FakeLLM, gemini_error, openai_error

from vidqa.errors import ApiError, MissingKeyError, VidqaError
from vidqa.providers import (
    AuthError,
    BadRequestError,
    ChatRequest,
    MalformedResponseError,
    MediaUploadError,
    ProviderError,
    RateLimitParked,
    RequestTooLarge,
    RetriesExhausted,
    RetryableError,
    RetryPolicy,
    UnsupportedInputError,
    api_key,
    audio_part,
    get_provider,
    has_key,
    image_part,
    parse_retry_after,
    parse_retry_info,
    scrub,
    text_part,
    video_part,
)
from vidqa.providers.base import Part, parse_spec
from vidqa.providers.retry import classify_exception, error_for_status, parse_duration

GROQ_KEY = "gsk_test_NOT_A_REAL_KEY_4c1d9e"
GEMINI_KEY = "AIzaTEST_not_a_real_key_77aa31"
OPENAI_KEY = "sk-test-NOT-REAL-5e6f7a8b"
MC_SCHEMA = {"type": "object", "properties": {"answer": {"enum": ["A", "B", "C", "D"]}}, "required": ["answer"]}


def _png(width: int, height: int) -> bytes:
    """A real (tiny when compressed) greyscale PNG of ``width`` x ``height``."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(width) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))


def _wav(seconds: float = 0.2, rate: int = 16000) -> bytes:
    n = int(seconds * rate)
    data = bytes(2 * n)
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate,
                                                                                   rate * 2, 2, 16)
            + b"data" + struct.pack("<I", len(data)) + data)


@pytest.fixture
def env(monkeypatch):
    for name in ("GROQ_BASE_URL", "GEMINI_BASE_URL", "GOOGLE_GEMINI_BASE_URL", "OPENAI_BASE_URL", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GROQ_API_KEY", GROQ_KEY)
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    return monkeypatch


@pytest.fixture
def fake(env):
    with FakeLLM() as server:
        yield server


@pytest.fixture
def waits():
    return []


@pytest.fixture
def policy(waits):
    return RetryPolicy(sleep=waits.append)


def _no_key_in(text: str) -> None:
    for key in (GROQ_KEY, GEMINI_KEY, OPENAI_KEY):
        assert key not in text and key[6:-4] not in text


# ---------------------------------------------------------------------------------------------------------------
# retry policy, pure
# ---------------------------------------------------------------------------------------------------------------
def test_parse_retry_after_every_header_form():
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5  # ms wins
    assert parse_retry_after({"Retry-After": "7"}) == 7.0  # names are case-insensitive
    date = "Wed, 21 Oct 2015 07:28:00 GMT"  # 1445412480
    assert parse_retry_after({"retry-after": date}, now=1445412470.0) == pytest.approx(10.0)
    assert parse_retry_after({"retry-after": date}, now=1445412490.0) == 0.0  # in the past: go now
    # Groq's reset headers: the exhausted limit decides
    headers = {"x-ratelimit-reset-requests": "2m59.56s", "x-ratelimit-remaining-requests": "100",
               "x-ratelimit-reset-tokens": "7.66s", "x-ratelimit-remaining-tokens": "0"}
    assert parse_retry_after(headers) == pytest.approx(7.66)
    headers["x-ratelimit-remaining-requests"] = "0"
    assert parse_retry_after(headers) == pytest.approx(179.56)
    assert parse_retry_after({"x-ratelimit-reset-tokens": "1m2.5s", "x-ratelimit-reset-requests": "120ms"}) == 0.12
    assert parse_retry_after({}) is None and parse_retry_after(None) is None
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert [parse_duration(s) for s in ("7.66s", "1m2.5s", "2h", "250ms", "3", "1h30m")] == [
        7.66, 62.5, 7200.0, 0.25, 3.0, 5400.0]
    assert parse_duration("abc") is None and parse_duration("5 parsecs") is None


def test_parse_retry_info_from_gemini_bodies():
    body = gemini_error(429, retry_delay="2.5s")
    assert parse_retry_info(body) == 2.5  # JSON text
    assert parse_retry_info(json.loads(body)) == 2.5
    assert parse_retry_info(json.loads(body)["error"]["details"]) == 2.5
    assert parse_retry_info({"error": {"details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                                    "retryDelay": {"seconds": 3, "nanos": 500000000}}]}}) == 3.5
    assert parse_retry_info(gemini_error(429)) is None  # a QuotaFailure only
    assert parse_retry_info("not json") is None
    err = error_for_status(429, body, {}, describe="Gemini generate")
    assert isinstance(err, RetryableError) and err.retry_after == 2.5


def test_status_classes():
    table = {400: BadRequestError, 401: AuthError, 403: AuthError, 404: BadRequestError, 413: RequestTooLarge,
             422: BadRequestError, 408: RetryableError, 409: RetryableError, 429: RetryableError,
             498: RetryableError, 500: RetryableError, 503: RetryableError, 599: RetryableError}
    for status, cls in table.items():
        err = error_for_status(status, openai_error(status, f"because {status}"), describe="X call")
        assert type(err) is cls, status
        assert isinstance(err, ApiError) and err.status == status
        assert f"HTTP {status}" in str(err) and f"because {status}" in str(err) and str(err).startswith("X call")
    assert not isinstance(error_for_status(413), RetryableError)


def test_policy_backs_off_with_jitter_then_succeeds(waits, policy):
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 4:
            raise RetryableError("transient", 503)
        return "done"

    assert policy.run(flaky, describe="flaky") == "done"
    assert len(calls) == 4 and len(waits) == 3
    for i, w in enumerate(waits):  # 0.5, 1, 2 s each ±25 %
        nominal = 0.5 * 2 ** i
        assert nominal * 0.75 <= w <= nominal * 1.25
    capped = RetryPolicy(max_attempts=12, base_delay=1, max_delay=4, jitter=0, sleep=waits.append)
    waits.clear()
    with pytest.raises(RetriesExhausted):
        capped.run(lambda: (_ for _ in ()).throw(RetryableError("x", 500)), describe="capped")
    assert waits == [1, 2, 4, 4, 4, 4, 4, 4, 4, 4, 4]


def test_policy_honours_retry_after_and_parks_long_waits(waits, policy):
    calls = []

    def limited():
        calls.append(1)
        if len(calls) == 1:
            raise RetryableError("429", 429, retry_after=7.0)
        return 42

    assert policy.run(limited, describe="limited") == 42
    assert len(waits) == 1 and 7.0 <= waits[0] <= 7.0 + 0.25 * 0.5

    calls.clear()
    waits.clear()

    def parked():
        calls.append(1)
        raise RetryableError("HTTP 429 (rate limited)", 429, provider="groq", retry_after=10800.0)

    with pytest.raises(RateLimitParked) as info:
        policy.run(parked, describe="Groq chat (m)")
    assert len(calls) == 1 and waits == []  # no hour-long sleep that looks like a hang
    assert info.value.retry_after == 10800.0 and info.value.status == 429 and info.value.provider == "groq"
    assert "3.0 h" in str(info.value) and "UTC" in str(info.value) and "parked" in str(info.value) and "Groq chat (m)" in str(info.value)


def test_policy_gives_up_and_never_retries_final_errors(waits, policy):
    calls = []

    def always_503():
        calls.append(1)
        raise RetryableError("HTTP 503", 503)

    with pytest.raises(RetriesExhausted) as info:
        policy.run(always_503, describe="busy")
    assert len(calls) == 5 and len(waits) == 4
    assert info.value.attempts == 5 and info.value.status == 503 and "5 attempts" in str(info.value)

    for err in (AuthError("bad key", 401), RequestTooLarge("big", 413), BadRequestError("no model", 404)):
        calls.clear()

        def final(err=err):
            calls.append(1)
            raise err

        with pytest.raises(type(err)):
            policy.run(final, describe="final")
        assert len(calls) == 1

    calls.clear()

    def bug():
        calls.append(1)
        raise KeyError("a bug in our code")

    with pytest.raises(KeyError):  # not a transport failure: propagates unchanged, not retried
        policy.run(bug, describe="bug")
    assert len(calls) == 1


def test_policy_classifies_http_library_failures(waits, policy):
    calls = []

    def times_out():
        calls.append(1)
        if len(calls) < 3:
            raise httpx.ReadTimeout("timed out")
        if len(calls) < 4:
            raise ConnectionResetError("reset by peer")
        return "ok"

    assert policy.run(times_out, describe="download") == "ok" and len(calls) == 4
    assert isinstance(classify_exception(TimeoutError()), RetryableError)
    assert classify_exception(ValueError("x")) is None and classify_exception(VidqaError("x")) is None


def test_keys_are_looked_up_by_name_and_scrubbed(env):
    assert api_key("GROQ_API_KEY") == GROQ_KEY and has_key("GROQ_API_KEY")
    env.setenv("VIDQA_TEST_SECRET_API_KEY", "secret-value-123456")
    text = (f"key {GROQ_KEY} / {GEMINI_KEY} / {OPENAI_KEY} / secret-value-123456 / "
            "Authorization: Bearer abcdef123456789 / https://x.test/v1?alt=json&key=AIzaOTHER123")
    clean = scrub(text)
    _no_key_in(clean)
    assert "secret-value-123456" not in clean and "abcdef123456789" not in clean and "AIzaOTHER123" not in clean
    assert clean.count("***") >= 6 and "alt=json" in clean
    env.delenv("GROQ_API_KEY")
    assert not has_key("GROQ_API_KEY")
    with pytest.raises(MissingKeyError, match="GROQ_API_KEY"):
        api_key("GROQ_API_KEY")


# ---------------------------------------------------------------------------------------------------------------
# requests, parts, cache keys, specs
# ---------------------------------------------------------------------------------------------------------------
def test_cache_key_covers_everything_that_changes_the_answer(tmp_path):
    png = _png(4, 4)
    clip = tmp_path / "a.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(500))
    copy = tmp_path / "copy.mp4"
    shutil.copy(clip, copy)

    def req(**kw):
        base = {"model": "m", "parts": (text_part("Q?"), image_part(png), video_part(clip, 1, 2)),
                "json_schema": MC_SCHEMA}
        base.update(kw)
        return ChatRequest(**base)

    key = req().cache_key("groq")
    assert len(key) == 64 and key == req().cache_key("groq")
    # media by content hash: another Part object / another path with the same bytes is the same request
    assert req(parts=(text_part("Q?"), image_part(bytes(png)), video_part(copy, 1, 2))).cache_key("groq") == key
    variants = [req().cache_key("gemini"), req(model="m2").cache_key("groq"), req(temperature=0.7).cache_key("groq"),
                req(seed=1).cache_key("groq"), req(max_tokens=65).cache_key("groq"), req(system="s").cache_key("groq"),
                req(json_schema=None).cache_key("groq"),
                req(parts=(text_part("Q!"), image_part(png), video_part(clip, 1, 2))).cache_key("groq"),
                req(parts=(text_part("Q?"), image_part(_png(4, 5)), video_part(clip, 1, 2))).cache_key("groq"),
                req(parts=(text_part("Q?"), image_part(png), video_part(clip, 1, 3))).cache_key("groq"),
                req(parts=(image_part(png), text_part("Q?"), video_part(clip, 1, 2))).cache_key("groq")]
    assert len(set(variants + [key])) == len(variants) + 1
    assert image_part(png).mime == "image/png" and "bytes" in repr(image_part(png))


def test_parts_refuse_nonsense(tmp_path):
    with pytest.raises(VidqaError, match="text"):
        Part("text")
    with pytest.raises(VidqaError, match="data"):
        Part("image")
    with pytest.raises(VidqaError, match="kind"):
        Part("smell", text="x")  # type: ignore[arg-type]
    with pytest.raises(VidqaError, match="window"):
        Part("video", path=str(tmp_path), start=5, end=2)
    with pytest.raises(VidqaError, match="only apply to video"):
        Part("text", text="x", start=1)
    with pytest.raises(VidqaError, match="does not exist"):
        video_part(tmp_path / "missing.mp4")
    with pytest.raises(VidqaError, match="Unrecognised image"):
        image_part(b"not an image")
    with pytest.raises(VidqaError, match="at least one part"):
        ChatRequest("m", ())


def test_specs_and_lazy_sdk_imports():
    assert parse_spec("groq/meta-llama/llama-4-scout-17b-16e-instruct") == (
        "groq", "meta-llama/llama-4-scout-17b-16e-instruct", None)
    assert parse_spec("openai/qwen2.5:0.5b@http://127.0.0.1:11434/v1") == (
        "openai", "qwen2.5:0.5b", "http://127.0.0.1:11434/v1")
    assert parse_spec("gemini/gemini-2.0-flash") == ("gemini", "gemini-2.0-flash", None)
    assert parse_spec("local/smollm2") == ("local", "smollm2", None)
    for bad in ("gpt-4", "groq/", "anthropic/claude", ""):
        with pytest.raises(VidqaError, match="PROVIDER/MODEL|names no model"):
            parse_spec(bad)
    code = ("import sys, vidqa.providers, vidqa.providers.retry\n"
            "from vidqa.providers import get_provider\n"
            "p, m = get_provider('openai/x@http://127.0.0.1:9/v1')\n"
            "heavy = lambda: sorted(k for k in sys.modules if k.split('.')[0] in ('groq', 'openai') "
            "or k.startswith('google.genai'))\n"
            "assert m == 'x' and not heavy(), heavy()\n"
            "from vidqa.providers import Provider; assert isinstance(p, Provider) and p.name == 'openai'\n"
            "p.client(); assert 'openai' in sys.modules and 'groq' not in sys.modules\n"
            "assert not any(k.startswith('google.genai') for k in sys.modules)\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# ---------------------------------------------------------------------------------------------------------------
# Groq through the groq SDK
# ---------------------------------------------------------------------------------------------------------------
def _groq(fake, policy, **kw):
    provider, model = get_provider(kw.pop("spec", "groq/llama-3.1-8b-instant"), base_url=fake.url, policy=policy,
                                   **kw)
    return provider, model


def test_groq_text_with_schema_structured_or_json_mode(fake, policy):
    provider, model = _groq(fake, policy)
    r = provider.complete(ChatRequest(model, (text_part("Which? A) x B) y"),), system="Be brief.", seed=7,
                                      json_schema=MC_SCHEMA))
    assert (r.text, r.provider, r.model, r.attempts) == ('{"answer": "A"}', "groq", model, 1)
    assert r.json() == {"answer": "A"} and r.input_tokens == 11 and r.output_tokens == 3
    assert r.system_fingerprint == "fp_fake_1" and r.finish_reason == "stop" and not r.refusal and r.latency > 0
    sent = fake.of_kind("chat")[0]
    assert sent.path == "/openai/v1/chat/completions" and sent.headers["authorization"] == f"Bearer {GROQ_KEY}"
    body = sent.json
    assert body["response_format"] == {"type": "json_object"}  # llama-3.1 has JSON mode, not structured output
    assert body["messages"][0]["role"] == "system" and '"enum":["A","B","C","D"]' in body["messages"][0]["content"]
    assert body["messages"][1] == {"role": "user", "content": "Which? A) x B) y"}
    assert body["seed"] == 7 and body["temperature"] == 0.0 and body["max_tokens"] == 64

    provider, model = _groq(fake, policy, spec="groq/openai/gpt-oss-20b")
    provider.complete(ChatRequest(model, (text_part("Which?"),), json_schema=MC_SCHEMA))
    fmt = fake.of_kind("chat")[1].json["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"] == MC_SCHEMA


def test_groq_vision_parts_and_documented_limits(fake, policy):
    provider, model = _groq(fake, policy, spec="groq/meta-llama/llama-4-scout-17b-16e-instruct",
                            image_detail="low")
    caps = provider.capabilities(model)
    assert caps.image and caps.max_images == 5 and caps.max_request_bytes == 4 * 1024 * 1024
    small = _png(32, 24)
    provider.complete(ChatRequest(model, (text_part("Frames:"), image_part(small), image_part(small),
                                          text_part("What changes?"))))
    content = fake.of_kind("chat")[0].json["messages"][0]["content"]
    assert [c["type"] for c in content] == ["text", "image_url", "image_url", "text"]
    assert content[1]["image_url"] == {"url": "data:image/png;base64," + base64.b64encode(small).decode(),
                                       "detail": "low"}

    with pytest.raises(UnsupportedInputError, match="at most 5 images"):
        provider.complete(ChatRequest(model, tuple(image_part(small) for _ in range(6))))
    noise = bytes(range(256)) * (3 * 1024 * 4 + 200)  # 3.2 MB raw -> 4.2 MB of base64
    big = image_part(b"\xff\xd8\xff\xe0" + noise, "image/jpeg")
    with pytest.raises(RequestTooLarge, match="MB limit") as info:
        provider.complete(ChatRequest(model, (big,)))
    assert info.value.status == 413
    with pytest.raises(RequestTooLarge, match="MP"):
        provider.complete(ChatRequest(model, (image_part(_png(6000, 6000)),)))  # 36 MP
    text_only, m = _groq(fake, policy)
    with pytest.raises(UnsupportedInputError, match="does not take image"):
        text_only.complete(ChatRequest(m, (image_part(small),)))
    assert len(fake.of_kind("chat")) == 1  # every refusal above was local: nothing was sent


def test_groq_429_retry_after_and_ratelimit_reset(fake, policy, waits):
    provider, model = _groq(fake, policy)
    fake.fail_next("chat", 429, headers={"retry-after": "2"})
    r = provider.complete(ChatRequest(model, (text_part("hi"),)))
    assert r.text == "OK" and r.attempts == 2 and len(fake.of_kind("chat")) == 2
    assert 2.0 <= waits[0] <= 2.2
    fake.fail_next("chat", 429, headers={"x-ratelimit-reset-tokens": "7.66s", "x-ratelimit-remaining-tokens": "0",
                                         "x-ratelimit-reset-requests": "1m", "x-ratelimit-remaining-requests": "9"})
    provider.complete(ChatRequest(model, (text_part("hi"),)))
    assert 7.66 <= waits[1] <= 7.9


def test_groq_transient_statuses_retry_then_give_up(fake, policy, waits):
    provider, model = _groq(fake, policy)
    for status in (498, 503, 500, 408):
        fake.fail_next("chat", status)
    r = provider.complete(ChatRequest(model, (text_part("hi"),)))
    assert r.attempts == 5 and len(waits) == 4
    for _ in range(5):
        fake.fail_next("chat", 502)
    with pytest.raises(RetriesExhausted) as info:
        provider.complete(ChatRequest(model, (text_part("hi"),)))
    assert info.value.status == 502 and info.value.attempts == 5 and len(fake.of_kind("chat")) == 10


@pytest.mark.parametrize("status,cls", [(400, BadRequestError), (401, AuthError), (404, BadRequestError),
                                        (413, RequestTooLarge)])
def test_groq_final_statuses_fail_at_once_without_the_key(fake, policy, waits, status, cls):
    provider, model = _groq(fake, policy)
    fake.fail_next("chat", status, body=openai_error(status, f"rejected key {GROQ_KEY}"))
    with pytest.raises(cls) as info:
        provider.complete(ChatRequest(model, (text_part("hi"),)))
    assert info.value.status == status and info.value.provider == "groq"
    assert f"HTTP {status}" in str(info.value) and "rejected key ***" in str(info.value)
    _no_key_in(str(info.value))
    assert len(fake.of_kind("chat")) == 1 and waits == []


def test_groq_long_retry_after_parks(fake, policy, waits):
    provider, model = _groq(fake, policy)
    fake.fail_next("chat", 429, headers={"retry-after": "900"})
    with pytest.raises(RateLimitParked, match="15.0 min") as info:
        provider.complete(ChatRequest(model, (text_part("hi"),)))
    assert info.value.retry_after == 900 and waits == [] and len(fake.of_kind("chat")) == 1


def test_groq_malformed_refusal_and_slow_answers(fake, waits):
    policy = RetryPolicy(max_attempts=3, sleep=waits.append)
    provider, model = _groq(fake, policy, timeout=0.5)
    fake.malformed_next("chat")
    r = provider.complete(ChatRequest(model, (text_part("hi"),)))
    assert r.text == "OK" and r.attempts == 2
    fake.refuse_next("chat")
    r = provider.complete(ChatRequest(model, (text_part("how to pick a lock"),)))
    assert r.refusal and r.text == "I can't help with that." and r.attempts == 1
    fake.slow_next("chat", 1.5)  # past the 0.5 s client timeout: the SDK times out, our policy retries
    t0 = time.monotonic()
    r = provider.complete(ChatRequest(model, (text_part("hi"),)))
    assert r.text == "OK" and r.attempts == 2 and time.monotonic() - t0 < 5
    for _ in range(3):
        fake.malformed_next("chat")
    with pytest.raises(RetriesExhausted) as info:
        provider.complete(ChatRequest(model, (text_part("hi"),)))
    assert isinstance(info.value.last, MalformedResponseError) and "not valid JSON" in str(info.value)


def test_groq_key_missing_wrong_and_never_logged(env, policy, caplog):
    caplog.set_level(logging.DEBUG)
    with FakeLLM(require_key="gsk_the_right_one") as fake:
        provider, model = _groq(fake, policy)
        with pytest.raises(AuthError) as info:
            provider.complete(ChatRequest(model, (text_part("hi"),)))
        assert info.value.status == 401 and "Invalid API Key" in str(info.value)
        _no_key_in(str(info.value))
        fake.require_key = None
        fake.fail_next("chat", 503, body=openai_error(503, f"overloaded for {GROQ_KEY}"))
        provider.complete(ChatRequest(model, (text_part("hi"),)))  # the retry is logged (scrubbed)
        env.delenv("GROQ_API_KEY")
        fresh, _ = _groq(fake, policy)
        with pytest.raises(MissingKeyError, match="GROQ_API_KEY"):
            fresh.complete(ChatRequest(model, (text_part("hi"),)))
        assert len(fake.of_kind("chat")) == 3
    assert "retry 2/5" in caplog.text
    _no_key_in(caplog.text)


def test_groq_helpers_kept_for_whisper_and_the_player(fake, waits):
    from vidqa.providers.groq import DEFAULT_WHISPER_MODEL, groq_client, has_groq_key, with_retries

    assert has_groq_key() and DEFAULT_WHISPER_MODEL == "whisper-large-v3-turbo"
    client = groq_client(base_url=fake.url)
    assert client.max_retries == 0  # our policy governs
    fake.fail_next("chat", 429, headers={"retry-after-ms": "250"})
    out = with_retries(lambda: client.chat.completions.create(model="m", messages=[{"role": "user",
                                                                                    "content": "x"}]),
                       what="Groq chat", sleep=waits.append)
    assert out.choices[0].message.content == "OK" and 0.25 <= waits[0] <= 0.4


# ---------------------------------------------------------------------------------------------------------------
# any OpenAI-compatible server through the openai SDK
# ---------------------------------------------------------------------------------------------------------------
def test_openai_compat_image_and_audio_parts(fake, policy, env):
    env.delenv("OPENAI_API_KEY")  # a local server needs no key: a placeholder is sent
    provider, model = get_provider(f"openai/qwen2-vl@{fake.url}/v1", policy=policy)
    wav, png = _wav(), _png(8, 8)
    r = provider.complete(ChatRequest(model, (text_part("Listen and look."), audio_part(wav), image_part(png)),
                                      json_schema=MC_SCHEMA))
    assert r.provider == "openai" and r.model == "qwen2-vl" and r.json() == {"answer": "A"}
    sent = fake.of_kind("chat")[0]
    assert sent.path == "/v1/chat/completions" and sent.headers["authorization"] == "Bearer sk-no-key-required"
    content = sent.json["messages"][0]["content"]
    assert content[1] == {"type": "input_audio", "input_audio": {"data": base64.b64encode(wav).decode(),
                                                                 "format": "wav"}}
    assert content[2]["image_url"]["url"].startswith("data:image/png;base64,")
    assert sent.json["response_format"]["type"] == "json_schema"
    with pytest.raises(UnsupportedInputError, match="does not take video"):
        provider.complete(ChatRequest(model, (Part("video", data=b"\x00" * 10, mime="video/mp4"),)))


def test_openai_compat_base_url_setting_key_and_retry(fake, waits, env):
    env.setenv("OPENAI_BASE_URL", fake.url + "/v1")
    fake.require_key = OPENAI_KEY
    provider, model = get_provider("openai/any-model", policy=RetryPolicy(sleep=waits.append))
    fake.fail_next("chat", 429, headers={"retry-after-ms": "1200"})
    fake.fail_next("chat", 500)
    r = provider.complete(ChatRequest(model, (text_part("hi"),)))
    assert r.text == "OK" and r.attempts == 3 and 1.2 <= waits[0] <= 1.4
    assert fake.of_kind("chat")[-1].headers["authorization"] == f"Bearer {OPENAI_KEY}"
    env.delenv("OPENAI_BASE_URL")
    env.delenv("OPENAI_API_KEY")
    openai_itself, _ = get_provider("openai/gpt-4o-mini")
    with pytest.raises(MissingKeyError, match="OPENAI_API_KEY"):
        openai_itself.complete(ChatRequest("gpt-4o-mini", (text_part("hi"),)))


# ---------------------------------------------------------------------------------------------------------------
# Gemini through google-genai: upload, poll, generate
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture
def clip(tmp_path):
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64)
    return path


def _gemini(fake, policy, **kw):
    return get_provider(f"gemini/gemini-2.0-flash@{fake.url}", policy=policy, **kw)


def test_gemini_video_window_upload_once_poll_until_active(fake, policy, waits, clip):
    fake.processing_polls = 3
    provider, model = _gemini(fake, policy, video_fps=2.0)
    request = ChatRequest(model, (video_part(clip, 10, 20.5), text_part("Who scores?")), system="Answer briefly.",
                          json_schema=MC_SCHEMA, seed=3, max_tokens=16)
    r = provider.complete(request)
    assert r.json() == {"answer": "A"} and r.provider == "gemini" and r.finish_reason == "STOP" and not r.refusal
    assert r.model == "gemini-2.0-flash-001" and r.input_tokens == 258 and r.output_tokens == 2
    start = fake.of_kind("upload")[0]
    assert start.headers["x-goog-upload-protocol"] == "resumable" and start.headers["x-goog-upload-command"] == "start"
    assert int(start.headers["x-goog-upload-header-content-length"]) == clip.stat().st_size
    data = fake.of_kind("upload-data")
    assert sum(d.size for d in data) == clip.stat().st_size and "finalize" in data[-1].headers["x-goog-upload-command"]
    assert "x-goog-api-key" not in data[0].headers  # the upload URL carries the session, not the key
    assert len(fake.of_kind("poll")) == 3 and waits == [1.0, 2.0, 4.0]  # polled with backoff through policy.sleep
    body = fake.of_kind("generate")[0].json
    part = body["contents"][0]["parts"][0]
    meta = part.get("videoMetadata") or part.get("video_metadata")
    assert meta == {"start_offset": "10s", "end_offset": "20.5s", "fps": 2.0}
    assert (part.get("fileData") or part.get("file_data"))["mime_type"] == "video/mp4"
    cfg = body["generationConfig"]
    assert cfg["responseMimeType"] == "application/json" and cfg["responseJsonSchema"] == MC_SCHEMA
    assert cfg["seed"] == 3 and cfg["maxOutputTokens"] == 16
    assert body["systemInstruction"]["parts"][0]["text"] == "Answer briefly."
    # the same file again (another window): no second upload
    provider.complete(ChatRequest(model, (video_part(clip, 30, 40), text_part("And then?"))))
    assert len(fake.of_kind("upload")) == 1 and len(fake.of_kind("generate")) == 2


def test_gemini_inline_image_and_audio(fake, policy):
    provider, model = _gemini(fake, policy)
    png, wav = _png(8, 8), _wav()
    provider.complete(ChatRequest(model, (image_part(png), audio_part(wav), text_part("Describe."))))
    parts = fake.of_kind("generate")[0].json["contents"][0]["parts"]
    inline = [p.get("inlineData") or p.get("inline_data") for p in parts[:2]]
    assert [base64.b64decode(i["data"]) for i in inline] == [png, wav]
    assert [i.get("mimeType") or i.get("mime_type") for i in inline] == ["image/png", "audio/wav"]
    assert fake.of_kind("upload") == []


def test_gemini_retry_info_delay_and_5xx(fake, policy, waits, clip):
    fake.processing_polls = 0
    provider, model = _gemini(fake, policy)
    fake.fail_next("upload", 503)
    fake.fail_next("generate", 429, body=gemini_error(429, "Quota exceeded", retry_delay="3s"))
    fake.malformed_next("generate")
    r = provider.complete(ChatRequest(model, (video_part(clip), text_part("?"))))
    assert r.text == "OK" and r.attempts == 3
    assert len(fake.of_kind("upload")) == 2 and len(fake.of_kind("generate")) == 3
    assert 3.0 <= waits[1] <= 3.2  # the server's retryDelay, which the SDK alone ignores
    fake.fail_next("generate", 429, body=gemini_error(429, "Daily quota", retry_delay="86400s"))
    with pytest.raises(RateLimitParked, match="24.0 h"):
        provider.complete(ChatRequest(model, (text_part("?"),)))


def test_gemini_failed_and_stuck_processing(env, waits, clip):
    policy = RetryPolicy(sleep=waits.append)
    with FakeLLM(fail_processing="Video codec not supported", processing_polls=2) as fake:
        provider, model = _gemini(fake, policy)
        with pytest.raises(MediaUploadError, match="Video codec not supported"):
            provider.complete(ChatRequest(model, (video_part(clip), text_part("?"))))
        assert fake.of_kind("generate") == []
    with FakeLLM(processing_polls=10_000) as fake:
        provider, model = _gemini(fake, policy, upload_timeout=20, poll_interval=1)
        with pytest.raises(MediaUploadError, match=r"still processing .* after 22 s"):
            provider.complete(ChatRequest(model, (video_part(clip), text_part("?"))))
        assert len(fake.of_kind("poll")) == 6  # after 1+2+4+5+5+5 s waited: bounded, and no real sleeping
        assert fake.of_kind("generate") == []


def test_gemini_expired_file_is_uploaded_again(fake, policy, clip):
    fake.processing_polls = 0
    provider, model = _gemini(fake, policy)
    provider.complete(ChatRequest(model, (video_part(clip), text_part("?"))))
    fake.expire_files()
    r = provider.complete(ChatRequest(model, (video_part(clip), text_part("?"))))
    assert r.text == "OK"
    assert len(fake.of_kind("upload")) == 2
    assert [g.kind for g in fake.of_kind("generate")] == ["generate"] * 3  # ok, 403 (file gone), ok


def test_gemini_refusal_bad_key_and_no_key(env, policy, clip):
    with FakeLLM(require_key="AIza_the_right_one") as fake:
        provider, model = _gemini(fake, policy)
        with pytest.raises(AuthError, match="API key not valid") as info:
            provider.complete(ChatRequest(model, (text_part("?"),)))
        _no_key_in(str(info.value))
        assert len(fake.of_kind("generate")) == 1
        fake.require_key = None
        fake.refuse_next("generate")
        r = provider.complete(ChatRequest(model, (text_part("something unsafe"),)))
        assert r.refusal and r.text == "" and r.finish_reason == "SAFETY"
    env.delenv("GEMINI_API_KEY")
    with pytest.raises(MissingKeyError, match="GEMINI_API_KEY"):
        get_provider("gemini/gemini-2.0-flash")[0].complete(ChatRequest("gemini-2.0-flash", (text_part("?"),)))
    with pytest.raises(ProviderError, match=r"\(0, 24\]"):
        get_provider("gemini/gemini-2.0-flash", video_fps=30)

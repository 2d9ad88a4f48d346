"""Cost: an estimate before a run (printed; ``--dry-run`` prints only that) and the cost of each response from its
token counts.

Prices are US dollars per million tokens (input, output) from the providers' public price lists at the time of
writing; they change, so pass ``prices=`` to override, and an unknown model is reported as "price unknown" rather
than guessed as free. Token counts before a run are estimates: text at ~4 characters a token, images, audio and
video at the per-item rates below.

Example::

    from vidqa.evaluate.cost import price_of, response_cost
    price_of("groq/llama-3.1-8b-instant")          # (0.05, 0.08)
    response_cost("groq/llama-3.1-8b-instant", 1200, 10)   # 6.08e-05
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["PRICES", "CostEstimate", "estimate_tokens", "price_of", "response_cost"]

PRICES: dict[str, tuple[float, float]] = {
    "groq/llama-3.1-8b-instant": (0.05, 0.08),
    "groq/llama-3.3-70b-versatile": (0.59, 0.79),
    "groq/meta-llama/llama-4-scout-17b-16e-instruct": (0.11, 0.34),
    "groq/meta-llama/llama-4-maverick-17b-128e-instruct": (0.20, 0.60),
    "groq/openai/gpt-oss-20b": (0.075, 0.30),
    "groq/openai/gpt-oss-120b": (0.15, 0.60),
    "gemini/gemini-2.0-flash": (0.10, 0.40),
    "gemini/gemini-2.0-flash-lite": (0.075, 0.30),
    "gemini/gemini-2.5-flash": (0.30, 2.50),
    "gemini/gemini-2.5-flash-lite": (0.10, 0.40),
    "gemini/gemini-2.5-pro": (1.25, 10.00),
}
"""USD per million (input, output) tokens. ``local/*`` and ``baseline/*`` cost nothing."""

TOKENS_PER_IMAGE = {"gemini": 258, "default": 800}
TOKENS_PER_AUDIO_SECOND = 32
TOKENS_PER_VIDEO_SECOND = 263  # Gemini at its default 1 frame/s, with audio
CHARS_PER_TOKEN = 4.0


def _key(spec: str) -> str:
    return spec.split("@http", 1)[0]


def price_of(spec: str, prices: Mapping[str, tuple[float, float]] | None = None) -> tuple[float, float] | None:
    """(input, output) USD per million tokens for a model spec; ``(0, 0)`` for local models and baselines, ``None``
    when unknown."""
    key = _key(spec)
    if key.startswith(("local/", "baseline/")):
        return (0.0, 0.0)
    table = dict(PRICES)
    if prices:
        table.update(prices)
    return table.get(key)


def response_cost(spec: str, input_tokens: int | None, output_tokens: int | None,
                  prices: Mapping[str, tuple[float, float]] | None = None) -> float | None:
    """USD for one response, or ``None`` when the price or the token counts are unknown."""
    price = price_of(spec, prices)
    if price is None or input_tokens is None:
        return None
    return (price[0] * input_tokens + price[1] * (output_tokens or 0)) / 1e6


def estimate_tokens(provider: str, *, text_chars: int, images: int = 0, audio_seconds: float = 0.0,
                    video_seconds: float = 0.0) -> int:
    """Estimated input tokens of one request."""
    per_image = TOKENS_PER_IMAGE.get(provider, TOKENS_PER_IMAGE["default"])
    return int(text_chars / CHARS_PER_TOKEN + images * per_image + audio_seconds * TOKENS_PER_AUDIO_SECOND
               + video_seconds * TOKENS_PER_VIDEO_SECOND)


@dataclass
class CostEstimate:
    """What a run would send, per model spec: calls, input/output tokens, dollars (``None``: price unknown)."""

    rows: dict[str, dict[str, float | int | None]] = field(default_factory=dict)

    def add(self, spec: str, input_tokens: int, output_tokens: int,
            prices: Mapping[str, tuple[float, float]] | None = None) -> None:
        row = self.rows.setdefault(spec, {"calls": 0, "input_tokens": 0, "output_tokens": 0, "usd": 0.0})
        row["calls"] = int(row["calls"] or 0) + 1
        row["input_tokens"] = int(row["input_tokens"] or 0) + input_tokens
        row["output_tokens"] = int(row["output_tokens"] or 0) + output_tokens
        price = price_of(spec, prices)
        if price is None:
            row["usd"] = None
        elif row["usd"] is not None:
            row["usd"] = float(row["usd"]) + (price[0] * input_tokens + price[1] * output_tokens) / 1e6

    @property
    def total_usd(self) -> float | None:
        """Dollars over every model, ``None`` when any model's price is unknown."""
        total = 0.0
        for row in self.rows.values():
            if row["usd"] is None:
                return None
            total += float(row["usd"])
        return total

    @property
    def calls(self) -> int:
        return sum(int(r["calls"] or 0) for r in self.rows.values())

    def lines(self) -> list[str]:
        """Human-readable lines (what ``vidqa evaluate`` prints before a run)."""
        out = []
        for spec, r in sorted(self.rows.items()):
            usd = "price unknown" if r["usd"] is None else f"~${float(r['usd']):.4f}"
            out.append(f"  {spec}: {r['calls']} calls, ~{r['input_tokens']:,} input + ~{r['output_tokens']:,} output "
                       f"tokens, {usd}")
        total = self.total_usd
        out.append(f"  total: {self.calls} calls, " + ("price unknown for some models" if total is None
                                                       else f"~${total:.4f}") + " (estimate)")
        return out

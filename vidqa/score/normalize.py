"""Normalising short answers before comparing them: case, accents, punctuation, articles, number words <-> digits,
colour synonyms (onto vidqa's colour names: red, orange, yellow, green, blue, purple, pink, brown, black, white,
grey).

Example::

    from vidqa.score.normalize import normalize, number_in, colours_in
    normalize("The Twenty-One GRAY cars!")    # '21 grey cars'
    number_in("there are three people")       # 3
    colours_in("a navy shirt and crimson hat")  # ['blue', 'red']
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["COLOUR_NAMES", "COLOUR_SYNONYMS", "canonical_colour", "colours_in", "normalize", "number_in",
           "number_to_words", "words_to_numbers"]

COLOUR_NAMES = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "grey")
COLOUR_SYNONYMS = {
    "gray": "grey", "silver": "grey", "charcoal": "grey",
    "crimson": "red", "scarlet": "red", "maroon": "red", "burgundy": "red", "cherry": "red",
    "navy": "blue", "azure": "blue", "cobalt": "blue", "cyan": "blue", "turquoise": "blue", "sapphire": "blue",
    "lime": "green", "olive": "green", "emerald": "green", "teal": "green",
    "violet": "purple", "magenta": "purple", "lavender": "purple", "lilac": "purple", "indigo": "purple",
    "mauve": "purple",
    "gold": "yellow", "golden": "yellow", "amber": "yellow", "lemon": "yellow",
    "tan": "brown", "beige": "brown", "khaki": "brown", "chocolate": "brown", "bronze": "brown",
    "rose": "pink", "fuchsia": "pink", "salmon": "pink",
    "ivory": "white", "cream": "white",
    "ebony": "black",
}

_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
          "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_NUM = {w: i for i, w in enumerate(_UNITS)}
_NUM.update({w: 10 * i for i, w in enumerate(_TENS) if w})
_NUM.update({"none": 0, "no": 0, "a dozen": 12, "dozen": 12, "once": 1, "twice": 2, "single": 1, "pair": 2})
_ORDINAL = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
            "ninth": 9, "tenth": 10}
_ARTICLES = {"a", "an", "the"}
_PUNCT = re.compile(r"[^\w\s]")
_SPACE = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+(?:\.\d+)?")


def number_to_words(n: int) -> str:
    """``21`` -> ``"twenty one"`` (0..999)."""
    if n < 0 or n > 999:
        return str(n)
    if n < 20:
        return _UNITS[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _UNITS[n % 10])
    rest = n % 100
    return _UNITS[n // 100] + " hundred" + ("" if rest == 0 else " " + number_to_words(rest))


def words_to_numbers(text: str) -> str:
    """Number words in lower-case ``text`` replaced by digits: ``"twenty one cars"`` -> ``"21 cars"``.

    ``no`` / ``none`` become ``0`` only when they stand alone (``"none"``), not in ``"no cars"``.
    """
    tokens = text.split()
    out: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok in _NUM and tok not in ("no", "none", "once", "twice", "single", "pair", "dozen"):
            value = _NUM[tok]
            j = i + 1
            if value >= 20 and j < len(tokens) and tokens[j] in _NUM and 0 < _NUM[tokens[j]] < 10:
                value += _NUM[tokens[j]]
                j += 1
            if j < len(tokens) and tokens[j] == "hundred":
                value *= 100
                j += 1
                if j < len(tokens) and tokens[j] == "and":
                    j += 1
                if j < len(tokens) and tokens[j] in _NUM and tokens[j] not in ("no", "none"):
                    extra = _NUM[tokens[j]]
                    j += 1
                    if extra >= 20 and j < len(tokens) and tokens[j] in _NUM and 0 < _NUM[tokens[j]] < 10:
                        extra += _NUM[tokens[j]]
                        j += 1
                    value += extra
            out.append(str(value))
            i = j
            continue
        if tok in ("once", "twice"):
            out.append(str(_NUM[tok]))
        elif tok == "dozen":
            out.append("12")
        else:
            out.append(tok)
        i += 1
    if len(out) == 1 and out[0] in ("none", "no", "zero", "nothing", "nobody"):
        return "0"
    return " ".join(out)


def canonical_colour(word: str) -> str | None:
    """vidqa's colour name for ``word`` (``"gray"`` -> ``"grey"``, ``"navy"`` -> ``"blue"``), else ``None``."""
    w = word.lower().strip()
    if w in COLOUR_NAMES:
        return w
    return COLOUR_SYNONYMS.get(w)


def _basic(text: str) -> str:
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii").lower()
    text = text.replace("-", " ").replace("_", " ")
    text = _PUNCT.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def normalize(text: str | None) -> str:
    """Lower case, no accents or punctuation, no articles, number words as digits, colours by canonical name.

    Example: ``normalize("A Dark-Gray car.")`` -> ``"dark grey car"``.
    """
    if not text:
        return ""
    words = words_to_numbers(_basic(text)).split()
    words = [canonical_colour(w) or w for w in words if w not in _ARTICLES]
    return " ".join(words)


def number_in(text: str | None) -> int | float | None:
    """The first number in ``text`` (digits or words, ordinals included), or ``None``."""
    if not text:
        return None
    t = words_to_numbers(_basic(text))
    m = _DIGITS.search(t)
    if m:
        v = float(m.group(0))
        return int(v) if v.is_integer() else v
    for w in t.split():
        if w in _ORDINAL:
            return _ORDINAL[w]
    if t.split()[:1] in (["no"], ["none"], ["nothing"], ["nobody"]):
        return 0
    return None


def colours_in(text: str | None) -> list[str]:
    """The distinct colours named in ``text`` (canonical names, in order of appearance)."""
    if not text:
        return []
    seen: list[str] = []
    for w in _basic(text).split():
        c = canonical_colour(w)
        if c and c not in seen:
            seen.append(c)
    return seen

"""Text normalisation and word error rate, for judging transcripts against references.

Example::

    from vidqa.analyze.textmetrics import normalize_text, wer
    normalize_text("Meet at 7 o'clock, OK?")          # 'meet at seven oclock ok'
    wer("the cat sat", "the cat sat down")            # 0.333... (one insertion / three reference words)
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["expand_contractions", "normalize_text", "number_to_words", "wer", "word_errors"]

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = [(10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand")]
_ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                  "nine": "ninth", "twelve": "twelfth"}


def number_to_words(n: int) -> str:
    """English words for a non-negative integer: ``number_to_words(2024)`` -> ``'two thousand twenty four'``."""
    if n < 0:
        return "minus " + number_to_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return _ONES[hundreds] + " hundred" + ("" if rest == 0 else " " + number_to_words(rest))
    for value, name in _SCALES:
        if n >= value:
            high, rest = divmod(n, value)
            return number_to_words(high) + " " + name + ("" if rest == 0 else " " + number_to_words(rest))
    raise AssertionError("unreachable")


def _ordinal(words: str) -> str:
    head, _, last = words.rpartition(" ")
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return f"{head} {last}".strip()


_NUMBER = re.compile(r"(?<![\w.])(\d[\d,]*)(?:\.(\d+))?(st|nd|rd|th)?(%?)(?!\w)")


def _spell_numbers(s: str) -> str:
    def repl(m: re.Match[str]) -> str:
        whole, frac, suffix, pct = m.group(1), m.group(2), m.group(3), m.group(4)
        digits = whole.replace(",", "")
        if not digits.isdigit() or len(digits) > 15:
            return m.group(0)
        words = number_to_words(int(digits))
        if suffix and not frac:
            words = _ordinal(words)
        if frac:
            words += " point " + " ".join(_ONES[int(d)] for d in frac)
        if pct:
            words += " percent"
        return f" {words} "

    return _NUMBER.sub(repl, s)


_CONTRACTIONS = {
    "i'm": "i am", "won't": "will not", "can't": "can not", "cannot": "can not", "shan't": "shall not",
    "ain't": "is not", "let's": "let us", "y'all": "you all", "o'clock": "o'clock",
}
_S_IS = ("it", "that", "what", "where", "there", "here", "who", "how", "he", "she", "this", "everything",
         "nothing", "something", "someone", "everyone", "nobody", "when", "why")
_SUFFIXES = (("n't", " not"), ("'re", " are"), ("'ve", " have"), ("'ll", " will"), ("'d", " would"))
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)+")


def expand_contractions(s: str) -> str:
    """English contractions written out, so that "I'm sorry, that is" and "I am sorry, that's" compare equal.

    ``'s`` is expanded to ``is`` only after pronouns and question words (``that's`` -> ``that is``; ``John's``
    stays, it is more often a possessive). ``'d`` becomes ``would`` (it may be ``had``: both sides get the same).

    >>> expand_contractions("i'm sure that's what they'll say, don't you think")
    'i am sure that is what they will say, do not you think'
    """
    def repl(m: re.Match[str]) -> str:
        w = m.group(0)
        if w in _CONTRACTIONS:
            return _CONTRACTIONS[w]
        for suf, full in _SUFFIXES:
            if w.endswith(suf):
                return w[: -len(suf)] + full
        if w.endswith("'s") and w[:-2] in _S_IS:
            return w[:-2] + " is"
        return w

    return _WORD.sub(repl, s.replace("cannot", "can not"))


def normalize_text(s: str, *, numbers: bool = True, contractions: bool = False) -> str:
    """Lower-case ``s``, spell out numbers (``numbers=True``), write out contractions (``contractions=True``), drop
    apostrophes and turn other punctuation into spaces; words are separated by single spaces.

    ``normalize_text("It's 3.5% -- the 2nd time!")`` -> ``'its three point five percent the second time'``
    ``normalize_text("I'm sorry, that's it", contractions=True)`` -> ``'i am sorry that is it'``
    """
    s = unicodedata.normalize("NFKC", s).lower()
    s = s.replace("\u2019", "'").replace("\u2018", "'")
    if contractions:
        s = expand_contractions(s)
    if numbers:
        s = _spell_numbers(s)
    s = re.sub(r"(?<=\w)'(?=\w)", "", s)  # don't -> dont, o'clock -> oclock
    s = "".join(ch if (ch.isalnum() or ch.isspace()) else " " for ch in s)
    return " ".join(s.split())


def word_errors(reference: str | list[str], hypothesis: str | list[str]) -> tuple[int, int]:
    """(edit distance in words, number of reference words). Strings are split on whitespace as they are."""
    ref = reference.split() if isinstance(reference, str) else list(reference)
    hyp = hypothesis.split() if isinstance(hypothesis, str) else list(hypothesis)
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1], len(ref)


def wer(reference: str, hypothesis: str, *, normalize: bool = True) -> float:
    """Word error rate: word-level Levenshtein distance / number of reference words.

    Both texts go through :func:`normalize_text` (numbers spelled out, contractions written out) first unless
    ``normalize=False``. An empty reference gives 0.0 for an empty hypothesis and 1.0 otherwise (so WER stays
    finite).

    ``wer("Meet at seven.", "meet at 7")`` -> ``0.0``; ``wer("I am sorry, that's", "I'm sorry, that is")`` -> ``0.0``
    """
    if normalize:
        reference = normalize_text(reference, contractions=True)
        hypothesis = normalize_text(hypothesis, contractions=True)
    dist, n = word_errors(reference, hypothesis)
    if n == 0:
        return 0.0 if dist == 0 else 1.0
    return dist / n

"""Which reviewed items go to a second reviewer: a seeded random sample (default 10 %).

The sample is ``ceil(fraction * n)`` of the ``n`` eligible items, chosen by ranking each item on a hash of
``(seed, item id)``. That is a uniform random sample for a given seed, the same on every call and every machine
(no global random state), and it grows *stably*: when more items are validated later, items already sampled stay
sampled unless a newcomer outranks them, and items that already have their second review always count towards the
target (their work is never thrown away).

Example::

    >>> second_review_sample(range(1, 101), fraction=0.1, seed=0) == second_review_sample(range(1, 101), seed=0)
    True
    >>> len(second_review_sample(range(1, 101), fraction=0.1))
    10
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable

from vidqa.errors import VidqaError

__all__ = ["DEFAULT_FRACTION", "sample_rank", "second_review_sample"]

DEFAULT_FRACTION = 0.1


def sample_rank(item_id: int, seed: int = 0) -> int:
    """The item's place in the seeded random order (lower is drawn first)."""
    digest = hashlib.blake2b(f"{int(seed)}:{int(item_id)}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _check_fraction(fraction: float) -> float:
    try:
        f = float(fraction)
    except (TypeError, ValueError):
        raise VidqaError(f"The second-review fraction must be a number between 0 and 1, not {fraction!r}.") from None
    if not (0.0 <= f <= 1.0) or math.isnan(f):
        raise VidqaError(f"The second-review fraction must be between 0 and 1 (0.1 = 10 %), not {fraction!r}.")
    return f


def second_review_sample(
    eligible: Iterable[int],
    *,
    fraction: float = DEFAULT_FRACTION,
    seed: int = 0,
    done: Iterable[int] = (),
) -> list[int]:
    """The ids (sorted) of the eligible items that make up the second-review sample.

    ``eligible`` are the ids of items that may be sampled (e.g. validated questions); ``done`` the ids that already
    have a second review: those among ``eligible`` are always part of the sample and count towards its size
    ``ceil(fraction * len(eligible))``. The rest is filled in the seeded random order of :func:`sample_rank`.
    """
    f = _check_fraction(fraction)
    items = sorted({int(i) for i in eligible})
    target = math.ceil(f * len(items) - 1e-9)
    already = set(items) & {int(i) for i in done}
    rest = sorted((i for i in items if i not in already), key=lambda i: (sample_rank(i, seed), i))
    picked = sorted(already) + rest[: max(0, target - len(already))]
    return sorted(picked)

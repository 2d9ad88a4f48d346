"""vidqa.analyze.prefetch: items in order, errors at the item where they happened, an early stop closes the producer."""

from __future__ import annotations

import threading

import pytest

from vidqa.analyze.prefetch import prefetch


def test_yields_everything_in_order_from_another_thread():
    producers: set[str] = set()

    def items():
        for i in range(50):
            producers.add(threading.current_thread().name)
            yield i

    assert list(prefetch(items(), depth=3)) == list(range(50))
    assert producers == {"vidqa-prefetch"}


def test_an_error_reaches_the_consumer_after_the_items_before_it():
    def items():
        yield 1
        yield 2
        raise OSError("disk gone")

    got = []
    with pytest.raises(OSError, match="disk gone"):
        for x in prefetch(items()):
            got.append(x)
    assert got == [1, 2]


def test_breaking_early_stops_and_closes_the_producer():
    closed = threading.Event()
    produced = []

    def items():
        try:
            for i in range(10_000):
                produced.append(i)
                yield i
        finally:
            closed.set()

    for x in prefetch(items(), depth=2):
        if x == 3:
            break
    assert closed.wait(5), "the producer's generator was not closed"
    assert len(produced) <= 3 + 1 + 2 + 1  # at most depth items (plus one in hand) past the last consumed


def test_empty_input():
    assert list(prefetch(iter(()))) == []

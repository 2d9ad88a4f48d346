"""Run an iterator on a background thread, a few items ahead of its consumer.

The visual loop uses it so that decoding the next sampled frame (PyAV and OpenCV release the GIL) overlaps the
detectors working on this one. Exceptions raised by the iterator reach the consumer at the item where they
happened; a consumer that stops early (``break``, an exception, ``close()``) stops and closes the producer too.

Example::

    from vidqa.analyze.prefetch import prefetch
    for frame in prefetch(sample_frames("clip.mp4"), depth=2):
        ...
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["prefetch"]

T = TypeVar("T")

_DONE = object()


class _Raised:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetch(items: Iterable[T], *, depth: int = 2, name: str = "vidqa-prefetch") -> Iterator[T]:
    """Yield what ``items`` yields, produced on a daemon thread up to ``depth`` items ahead (``depth`` >= 1)."""
    buffer: queue.Queue[object] = queue.Queue(maxsize=max(1, int(depth)))
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        it = iter(items)
        try:
            for item in it:
                if not put(item):
                    break
            else:
                put(_DONE)
        except BaseException as err:  # noqa: BLE001  (handed to the consumer, which re-raises it)
            put(_Raised(err))
        finally:
            close = getattr(it, "close", None)
            if callable(close):
                close()

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Raised):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()

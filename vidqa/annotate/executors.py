"""Where note jobs (transcriptions, crash recovery) run: an :class:`Executor` takes a job and runs it, never raising.

- :class:`ThreadExecutor`: one daemon worker thread and one queue, jobs in order (one warm speech model);
  :func:`shared_executor` is the process-wide one every player shares;
- :class:`SyncExecutor`: runs the job at once in the calling thread (tests, scripts).

A job that raises is logged (logger ``vidqa.annotate.notes``) and the executor carries on.

Example::

    from vidqa.annotate.executors import SyncExecutor, shared_executor
    SyncExecutor().submit(lambda: print("now"))
    ex = shared_executor()
    ex.submit(lambda: print("in the worker"))
    ex.join()
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Protocol

__all__ = ["Executor", "SyncExecutor", "ThreadExecutor", "shared_executor"]

log = logging.getLogger("vidqa.annotate.notes")  # the logger note jobs have always reported to


class Executor(Protocol):
    """Runs note jobs (transcriptions, recovery). A job reports its own errors; it never raises into the caller."""

    def submit(self, job: Callable[[], None]) -> None: ...


class SyncExecutor:
    """Runs each job at once in the calling thread (tests, scripts: no threads, deterministic order)."""

    def submit(self, job: Callable[[], None]) -> None:
        try:
            job()
        except Exception:  # noqa: BLE001 - same contract as the thread executor
            log.exception("vidqa note job failed")


class ThreadExecutor:
    """One daemon worker thread and one queue: jobs run in order, one at a time (one warm speech model).

    Example::

        ex = ThreadExecutor()
        ex.submit(lambda: print("in the worker"))
        ex.join()
    """

    def __init__(self, name: str = "vidqa-notes-worker") -> None:
        self.name = name
        self._q: queue.Queue[Callable[[], None]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
        self._q.put(job)

    def join(self) -> None:
        """Block until every submitted job has run."""
        self._q.join()

    def _run(self) -> None:
        while True:
            job = self._q.get()
            try:
                job()
            except Exception:  # noqa: BLE001 - never let the worker die
                log.exception("vidqa note job failed")
            finally:
                self._q.task_done()


_SHARED: ThreadExecutor | None = None
_SHARED_LOCK = threading.Lock()


def shared_executor() -> ThreadExecutor:
    """The process-wide note worker (every player shares it, so one speech model stays warm)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = ThreadExecutor()
        return _SHARED

"""Executing the project's notebooks with papermill, recorded as runs, each with a self-contained HTML report.

:func:`run_notebook` executes ``notebooks/NAME.ipynb`` into ``reports/runs/<run_id>/NAME.ipynb`` (the run id is
the ``runs`` row that records the parameters, the versions of vidqa, papermill and Python, and how it ended), then
renders ``NAME.html`` beside it (:func:`vidqa.pipeline.html_report.notebook_html`). The notebook gets the database as its
``db`` parameter, so it finds the same store wherever it runs; API keys are never parameters (providers read them
from the environment), so they never reach the executed notebook.

Example::

    from vidqa import open_store
    from vidqa.pipeline.notebooks import run_notebook
    result = run_notebook(open_store("data/vidqa.db"), "process", {"force": False})
    print(result.html)
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidqa.config import repo_root
from vidqa.errors import VidqaError
from vidqa.store import Store

__all__ = ["NotebookRun", "notebooks_dir", "run_notebook"]

SECRET_PARAM_HINTS = ("key", "token", "secret", "password")


@dataclass
class NotebookRun:
    """Where an executed notebook and its HTML went."""

    run_id: int
    name: str
    notebook: Path
    html: Path | None
    status: str
    seconds: float
    error: str | None = None


def notebooks_dir() -> Path:
    """The project's ``notebooks/`` folder (of the checkout, or the current folder's)."""
    root = repo_root()
    for d in ([root / "notebooks"] if root else []) + [Path.cwd() / "notebooks", Path.cwd()]:
        if d.is_dir() and any(d.glob("*.ipynb")):
            return d
    raise VidqaError("No notebooks/ folder found: run from the vidqa checkout or pass the notebook's path.")


def _versions() -> dict[str, str]:
    import papermill

    from vidqa._version import __version__

    return {"vidqa": __version__, "papermill": papermill.__version__, "python": platform.python_version()}


def run_notebook(store: Store, name: str | Path, parameters: dict[str, Any] | None = None, *,
                 reports: str | Path | None = None, out_dir: str | Path | None = None, html: bool = True,
                 timeout: float = 3600) -> NotebookRun:
    """Execute a notebook with papermill (its ``db`` parameter set to ``store``), record it in ``runs``, render HTML.

    ``name`` is a notebook of ``notebooks/`` (``"process"``) or a path. The executed copy goes to
    ``reports/runs/<run_id>/`` (``reports`` defaults to the checkout's ``reports/``), or straight into ``out_dir``.
    A failing notebook is recorded as a failed run and keeps its executed copy (papermill marks the failing cell);
    the error is returned, not raised.
    """
    import papermill as pm

    src = Path(name) if str(name).endswith(".ipynb") else notebooks_dir() / f"{name}.ipynb"
    if not src.is_file():
        known = ", ".join(sorted(p.stem for p in notebooks_dir().glob("*.ipynb")))
        raise VidqaError(f"No notebook {src}; the notebooks are: {known}.")
    params = dict(parameters or {})
    secret = [k for k in params if any(h in k.lower() for h in SECRET_PARAM_HINTS)]
    if secret:
        raise VidqaError(f"Parameters {secret} look like secrets: keys come from the environment only "
                         "(GROQ_API_KEY, GEMINI_API_KEY, OPENAI_API_KEY), never from a notebook parameter.")
    params["db"] = str(store.path.resolve())
    settings = {"notebook": src.name, "parameters": params, "versions": _versions()}
    run = store.start_run(f"notebook:{src.stem}", None, settings, unit=src.stem)
    if out_dir is None:
        out_dir = (Path(reports) if reports else (repo_root() or store.root.parent) / "reports") / "runs" / str(run.id)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / src.name
    t0 = time.perf_counter()
    error = None
    try:
        pm.execute_notebook(str(src), str(executed), parameters=params, cwd=str(src.parent), progress_bar=False,
                            kernel_name="python3", execution_timeout=timeout)
    except pm.PapermillExecutionError as err:
        error = f"{err.ename}: {err.evalue} (cell {err.exec_count}; see {executed})"
    page = None
    if html and executed.exists():
        from vidqa.pipeline.html_report import notebook_html

        page = notebook_html(executed)
    seconds = time.perf_counter() - t0
    store.finish_run(run.id, "failed" if error else "done", seconds=seconds, error=error)
    return NotebookRun(run.id, src.stem, executed, page, "failed" if error else "done", seconds, error)

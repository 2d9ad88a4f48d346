"""The stage notebooks: thin, parameterised, and they run under papermill on the bundled sample."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
STAGE_ORDER = ["ingest", "transcribe", "audio_events", "detect", "process"]


def all_notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


@pytest.mark.parametrize("path", all_notebooks(), ids=lambda p: p.name)
def test_notebook_sources_are_thin_and_clean(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, path
    assert "parameters" in code[0].metadata.get("tags", []), f"{path.name}: first code cell must be tagged parameters"
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), f"{path.name} has outputs"
    for c in code:  # no logic that only lives in a notebook: no function or class definitions
        assert "def " not in c.source and "class " not in c.source, (path.name, c.source)


@pytest.mark.slow
def test_stage_notebooks_run_under_papermill(tmp_path):
    import papermill as pm

    sample = tmp_path / "sample.mp4"
    shutil.copy(ROOT / "data" / "samples" / "sample.mp4", sample)
    db = tmp_path / "data" / "vidqa.db"
    reports = tmp_path / "reports"
    reports.mkdir()
    for name in STAGE_ORDER:
        params = {"db": str(db)}
        if name == "ingest":
            params["sources"] = [str(sample)]
        if name == "detect":
            params["fps"] = 1.0
        pm.execute_notebook(str(NOTEBOOKS / f"{name}.ipynb"), str(reports / f"{name}.ipynb"), parameters=params,
                            cwd=str(NOTEBOOKS), progress_bar=False, kernel_name="python3")
    from vidqa.store import Store

    with Store(db, readonly=True) as store:
        (video,) = store.videos()
        assert store.transcript(video.id) and store.audio_events(video.id) and store.visual_events(video.id)
        stages = [r.stage for r in store.runs(video_id=video.id) if r.status == "done"]
        assert sorted(stages) == ["audio-events", "detect", "transcribe"]  # process.ipynb reused them all
    executed = nbformat.read(reports / "process.ipynb", as_version=4)
    outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    text = json.dumps(outputs)
    assert "skipped" in text  # idempotent: the process notebook found the work done
    assert "application/vnd.plotly.v1+json" in text  # the timeline and speed figures


@pytest.mark.slow
def test_the_process_notebook_runs_the_videos_on_a_dask_localcluster(tmp_path):
    """The same notebook, `workers=2`: the stages run on a LocalCluster of two processes, the kernel commits."""
    import papermill as pm

    from vidqa.pipeline.ingest import ingest
    from vidqa.store import Store

    sample = tmp_path / "sample.mp4"
    shutil.copy(ROOT / "data" / "samples" / "sample.mp4", sample)
    db = tmp_path / "data" / "vidqa.db"
    with Store(db) as store:
        video = ingest(str(sample), store, make_proxy=False, progress=False)
    out = tmp_path / "process.ipynb"
    pm.execute_notebook(str(NOTEBOOKS / "process.ipynb"), str(out), parameters={"db": str(db), "workers": 2},
                        cwd=str(NOTEBOOKS), progress_bar=False, kernel_name="python3")
    with Store(db, readonly=True) as store:
        runs = [r for r in store.runs(video_id=video.id) if r.status == "done"]
        assert sorted(r.stage for r in runs) == ["audio-events", "detect", "transcribe"]
        assert store.transcript(video.id) and store.visual_events(video.id)
    text = json.dumps([o for c in nbformat.read(out, as_version=4).cells if c.cell_type == "code"
                       for o in c.get("outputs", [])])
    assert "detect: " in text and " records in " in text and "FAILED" not in text
    assert "application/vnd.plotly.v1+json" in text


def _papermill_cli(*args: str, cwd: Path) -> "subprocess.CompletedProcess":
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "VIDQA_DB"}
    return subprocess.run([sys.executable, "-m", "papermill", *args, "--no-progress-bar"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_the_readme_papermill_command_finds_the_store_from_the_folder_it_runs_in(tmp_path):
    from vidqa.pipeline.ingest import ingest
    from vidqa.store import Store

    project = tmp_path / "project"
    with Store(project / "data" / "vidqa.db") as store:
        ingest(str(ROOT / "data" / "samples" / "sample.mp4"), store, progress=False)
    (project / "reports").mkdir()
    out = _papermill_cli(str(NOTEBOOKS / "audio_events.ipynb"), "reports/audio_events.ipynb", cwd=project)
    assert out.returncode == 0, out.stderr[-2000:]
    executed = (project / "reports" / "audio_events.ipynb").read_text()
    assert "1 video(s) in" in executed and "audio-events:" in executed
    assert sorted(p.name for p in (project / "data").glob("*.db")) == ["vidqa.db"]  # no second database anywhere
    assert not list(tmp_path.glob("**/notebooks/data"))


def test_a_notebook_run_where_there_is_no_store_fails_clearly_and_creates_none(tmp_path):
    out = _papermill_cli(str(NOTEBOOKS / "audio_events.ipynb"), str(tmp_path / "out.ipynb"), "-p", "db",
                         "nowhere/vidqa.db", cwd=tmp_path)
    assert out.returncode != 0
    assert "No vidqa database at" in out.stderr and "vidqa ingest SOURCE" in out.stderr
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.slow
def test_nbval_runs_the_question_review_evaluation_and_report_notebooks(tmp_path):
    """nbval executes the notebooks as they are (default parameters), finding the store through VIDQA_DB."""
    import os
    import subprocess
    import sys

    from vidqa.pipeline.ingest import ingest
    from vidqa.pipeline.process import process
    from vidqa.pipeline.questions import generate_for_video
    from vidqa.store import Store

    db = tmp_path / "data" / "vidqa.db"
    with Store(db, create=True) as store:
        video = ingest(str(ROOT / "data" / "samples" / "sample.mp4"), store, progress=False)
        process(store, video, progress=False)
        generate_for_video(store, video)
    names = ["questions", "review", "evaluate", "report", "dashboard"]
    env = {**os.environ, "VIDQA_DB": str(db)}
    out = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "-q", "-p", "no:cacheprovider",
                          *[str(NOTEBOOKS / f"{n}.ipynb") for n in names]], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert f"{len(names)} passed" in out.stdout or "passed" in out.stdout
    assert not any(p.name != "vidqa.db" for p in db.parent.glob("*.db"))

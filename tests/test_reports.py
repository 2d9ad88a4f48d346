"""Executed notebooks as recorded runs with self-contained HTML reports; planted API keys reach none of them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from needs import missing

from vidqa.errors import VidqaError
from vidqa.pipeline.ingest import ingest
from vidqa.pipeline.notebooks import run_notebook
from vidqa.store import Store

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "samples" / "sample.mp4"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("project")
    with Store(root / "data" / "vidqa.db") as store:
        ingest(str(SAMPLE), store, progress=False)
    return root


def test_a_planted_key_reaches_no_notebook_html_database_or_log(project):
    key = f"gsk_planted_{uuid.uuid4().hex}"
    env = {**os.environ, "GROQ_API_KEY": key, "GEMINI_API_KEY": key + "g", "OPENAI_API_KEY": key + "o",
           "GROQ_BASE_URL": "http://127.0.0.1:9"}
    out = subprocess.run([sys.executable, "-m", "vidqa", "notebook", "audio_events", "--db",
                          str(project / "data" / "vidqa.db"), "--reports", str(project / "reports"), "-p", "force",
                          "true"], capture_output=True, text=True, env=env, cwd=project, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    run_dir = Path(re.search(r"notebook: (.*)\n", out.stdout).group(1)).parent
    html = run_dir / "audio_events.html"
    assert html.exists() and (run_dir / "audio_events.ipynb").exists()
    haystack = [out.stdout, out.stderr]
    for path in [*project.rglob("*")]:
        if path.is_file():
            haystack.append(path.read_bytes().decode("latin-1"))
    assert not any(key in text for text in haystack), "the planted key leaked"


def test_the_html_report_is_self_contained_and_shows_figures_and_finished_bars(project):
    result = run_notebook(Store(project / "data" / "vidqa.db"), "audio_events", {"force": True},
                          reports=project / "reports")
    assert result.status == "done", result.error
    page = result.html.read_text()
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']https?://", page), "a resource from the network"
    assert "Plotly.newPlot" in page and "plotly.js v" in page  # the figure, drawn by the inline plotly.js
    assert "application/vnd.plotly.v1+json" not in page
    assert "100%" in page and "0/49" not in page  # the YAMNet bar as it finished, not as it started
    store = Store(project / "data" / "vidqa.db", readonly=True)
    run = store.run(result.run_id)
    assert run.stage == "notebook:audio_events" and run.status == "done"
    assert run.settings["versions"]["vidqa"] and run.settings["parameters"]["force"] is True


def test_the_html_report_draws_its_figure_in_a_browser_with_no_network(project):
    if not Path(CHROMIUM).exists():
        missing("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    result = run_notebook(Store(project / "data" / "vidqa.db"), "audio_events", {}, reports=project / "reports")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(offline=True)
        page = context.new_page()
        page.goto(result.html.as_uri())
        page.wait_for_selector(".plotly .main-svg", timeout=30_000)
        assert page.locator(".plotly").count() >= 1
        browser.close()


def test_secrets_are_never_notebook_parameters(project):
    with pytest.raises(VidqaError, match="keys come from the environment only"):
        run_notebook(Store(project / "data" / "vidqa.db"), "audio_events", {"groq_api_key": "x"})
    with pytest.raises(VidqaError, match="the notebooks are: .*audio_events"):
        run_notebook(Store(project / "data" / "vidqa.db"), "no_such_notebook")


def test_vidqa_serve_answers_json_over_http_read_only(project):
    import json
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = project / "data" / "vidqa.db"
    before = db.stat().st_mtime_ns
    proc = subprocess.Popen([sys.executable, "-m", "vidqa", "serve", "--db", str(db), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        rows = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and rows is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/vidqa/videos.json?_shape=array", timeout=5) as r:
                    rows = json.loads(r.read())
            except OSError:
                time.sleep(0.5)
        assert rows is not None, proc.stderr.read() if proc.poll() is not None else "no answer"
        assert [r["title"] for r in rows] == ["sample.mp4"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/vidqa.json?sql=select+count(*)+as+n+from+runs"
                                    "&_shape=array", timeout=5) as r:
            assert json.loads(r.read())[0]["n"] >= 0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert db.stat().st_mtime_ns == before  # served, never written

"""End to end in a real browser: JupyterLab (and Voilà) + headless Chromium with a fake microphone that speaks.

JupyterLab runs on 127.0.0.1 with private config/runtime/data dirs and serves a temp copy of
``notebooks/annotate.ipynb`` pointed at a generated clip and a tmp database *outside* the served folder (so the
player must link the media under the notebook folder). Chromium plays it, SPACE stamps + records (the fake mic
plays an espeak-ng WAV), SPACE stops; the note row is read from SQLite (read-only) and checked against the video
time at the keypress; the transcript must hold the spoken words. Then: click a note -> seek; edit a note's text to
HTML through the UI -> shown as literal text; a Range request for the video got a 206 (Range) answer.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from needs import missing
from player_media import KEY_WORDS, SPOKEN, cached, espeak_wav, make_clip

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
HOSTILE = "<img src=x onerror=alert(1)>"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _playwright():
    try:
        import playwright.sync_api
    except ImportError:
        missing("the playwright package is not installed (pip install -e '.[test]')")
    return playwright.sync_api


def jupyter_env(tmp: Path) -> dict[str, str]:
    """Environment for a private Jupyter: own config/runtime/data/IPython dirs, offline models."""
    env = dict(os.environ)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "JUPYTER_DATA_DIR"):
        path = tmp / name.lower()
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    env.update(HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1", TQDM_DISABLE="1")
    for key in ("GROQ_API_KEY", "GROQ_BASE_URL"):
        env.pop(key, None)
    return env


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"server did not answer {url} in {timeout} s:\n{log.read_text()[-3000:]}")


def _wait_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s:\n{log.read_text()[-3000:]}")


@contextmanager
def jupyter_lab(root: Path, tmp: Path):
    """Yield the base URL of a JupyterLab serving ``root``; stops it (and its kernels) afterwards."""
    env = jupyter_env(tmp)
    # The "Jupyter news" toast can cover the page: disable it in this test's own config dir only (`jupyter
    # labextension disable` would write to the Python environment's sys-prefix config).
    labconfig = Path(env["JUPYTER_CONFIG_DIR"]) / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    (labconfig / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    port = _free_port()
    log = tmp / "lab.log"
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
           "--ServerApp.token=", "--ServerApp.password=", "--allow-root", f"--ServerApp.root_dir={root}",
           "--LabApp.expose_app_in_browser=True", "--ServerApp.open_browser=False"]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_http(f"http://127.0.0.1:{port}/api/status", proc, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@contextmanager
def voila_server(notebook: Path, tmp: Path):
    """Yield the URL of a standalone Voilà rendering ``notebook`` (mp4/webm allow-listed)."""
    env = jupyter_env(tmp)
    port = _free_port()
    log = tmp / "voila.log"
    cmd = [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
           "--VoilaConfiguration.file_allowlist=['.*\\.(mp4|webm|png)']"]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=notebook.parent, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_port(port, proc, log)  # not GET /: that would render (run) the notebook once
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def chromium_args(fake_wav: Path) -> list[str]:
    return ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={fake_wav}%noloop",
            "--autoplay-policy=no-user-gesture-required"]


def write_notebook(dest: Path, source: str, db: str, **player_kw: object) -> Path:
    """A copy of notebooks/annotate.ipynb with its parameters cell pointed at ``source``/``db``."""
    nb = json.loads((REPO / "notebooks" / "annotate.ipynb").read_text())
    for cell in nb["cells"]:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            cell["source"] = f"source = {source!r}\ndb = {db!r}\n"
        elif cell["cell_type"] == "code" and player_kw:
            extra = "".join(f", {k}={v!r}" for k, v in player_kw.items())
            cell["source"] = "".join(cell["source"]).replace("store=db)", f"store=db{extra})")
    dest.write_text(json.dumps(nb))
    return dest


def note_rows(db: Path) -> list[dict]:
    """Notes read through a read-only connection (the kernel keeps writing meanwhile)."""
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM notes WHERE deleted_at IS NULL ORDER BY id")]
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def poll(fn, timeout: float, step: float = 0.25, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# Installed before the widget's own handler (capture phase on window), independent of the widget: the video time
# when the key event was created (currentTime now, minus the playback since event.timeStamp), and currentTime as
# read during the dispatch.
KEY_OBSERVER = """() => {
  window.__vidqaKeys = [];
  window.addEventListener('keydown', (e) => {
    const v = document.querySelector('.vidqa-player video');
    if (e.key !== ' ' || e.repeat || !v) return;
    const now = v.currentTime, lag = (performance.now() - e.timeStamp) / 1000;
    window.__vidqaKeys.push({t: v.paused ? now : now - lag * v.playbackRate, current: now, lag,
                             paused: v.paused, wall: Date.now()});
  }, true);
}"""


def open_lab_notebook(page, base: str, nb_name: str, timeout_s: float = 120.0) -> None:
    page.goto(f"{base}/lab/tree/{nb_name}", wait_until="domcontentloaded")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell && "
                           "document.querySelector('.jp-Notebook')", timeout=timeout_s * 1000)
    # wait for the kernel to be idle before running everything
    page.wait_for_selector(".jp-Notebook", timeout=timeout_s * 1000)
    page.wait_for_function("""() => {
        const w = window.jupyterapp.shell.currentWidget;
        return w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel &&
               w.sessionContext.session.kernel.status === 'idle';
    }""", timeout=timeout_s * 1000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_selector(".vidqa-player video", timeout=timeout_s * 1000)
    page.wait_for_function("() => { const v = document.querySelector('.vidqa-player video');"
                           " return v && v.readyState >= 2 && v.duration > 0; }", timeout=timeout_s * 1000)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    clip = cached("clip.mp4", make_clip)
    fake_mic = cached("mic.wav", lambda p: espeak_wav(SPOKEN, p, rate=48000, lead=0.5, tail=3.0))
    return clip, fake_mic


def test_player_in_jupyterlab(tmp_path, media, artifacts_dir):
    playwright = _playwright()
    if not Path(CHROMIUM).exists():
        missing("needs /usr/bin/chromium")
    clip, fake_mic = media
    root = tmp_path / "lab"
    root.mkdir()
    data = tmp_path / "data"  # outside the served folder: the player must link the media under the notebook
    db = data / "vidqa.db"
    write_notebook(root / "annotate.ipynb", str(clip), str(db), backend="local")

    with jupyter_lab(root, tmp_path) as base, playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=chromium_args(fake_mic))
        try:
            ctx = browser.new_context(viewport={"width": 1280, "height": 900})
            page = ctx.new_page()
            responses, dialogs, console = [], [], []
            page.on("response", lambda r: responses.append((r.url, r.status, r.request.headers.get("range"))))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            open_lab_notebook(page, base, "annotate.ipynb")
            player = page.locator(".vidqa-player")
            assert player.get_attribute("data-lm-suppress-shortcuts") == "true"
            src = page.evaluate("() => document.querySelector('.vidqa-player video').currentSrc")
            assert "/files/vidqa_media/" in src, src  # linked under the served root
            assert (root / "vidqa_media").is_dir()
            assert "vidqa_media" in player.locator(".vidqa-status").inner_text()
            page.evaluate(KEY_OBSERVER)

            page.click(".vidqa-player .vidqa-play")
            page.wait_for_function("() => document.querySelector('.vidqa-player video').currentTime > 1.0",
                                   timeout=20_000)
            page.keyboard.press(" ")
            page.wait_for_timeout(4000)
            page.keyboard.press(" ")
            press = page.evaluate("() => window.__vidqaKeys[0]")
            assert press and not press["paused"]

            done = poll(lambda: [r for r in note_rows(db) if r["status"] in ("done", "error")], 90,
                        what="the voice note to be transcribed")
            note = done[0]
            assert note["status"] == "done", note["error"]
            fps = 25.0
            assert abs(note["t"] - press["t"]) <= 1.0 / fps, (note["t"], press["t"])
            assert abs(note["frame_index"] - press["t"] * fps) <= 1.0
            assert note["audio_path"] and (data / note["audio_path"]).stat().st_size > 1000
            assert sum(w in note["text"].lower() for w in KEY_WORDS) >= 3, note["text"]
            # the transcript shows in the list
            row = page.locator(f".vidqa-note[data-note-id='{note['id']}']")
            row.locator(".vidqa-note-text").filter(has_text="car").wait_for(timeout=20_000)
            assert row.get_attribute("data-status") == "done"

            # pause (K); screenshot for the README (note transcribed, timer on the paused frame)
            page.keyboard.press("k")
            page.wait_for_function("() => document.querySelector('.vidqa-player video').paused", timeout=5000)
            page.wait_for_timeout(300)
            shot = artifacts_dir / "player.png"
            player.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000  # the README's picture is made by scripts/screenshot_player.py

            # seek away, then click the note: the video goes back to its time
            page.keyboard.press("l")
            page.wait_for_function(f"() => Math.abs(document.querySelector('.vidqa-player video').currentTime - "
                                   f"{note['t']}) > 2", timeout=5000)
            row.locator(".vidqa-note-time").click()
            page.wait_for_function(f"() => Math.abs(document.querySelector('.vidqa-player video').currentTime - "
                                   f"{note['t']}) < 0.05", timeout=5000)

            # frame stepping (paused) moves exactly one frame and the timer follows; [ ] change the speed
            k = int(page.evaluate("() => document.querySelector('.vidqa-player video').currentTime") * fps + 1e-3)
            page.keyboard.press(".")
            page.wait_for_function(f"() => Math.floor(document.querySelector('.vidqa-player video').currentTime * "
                                   f"{fps} + 1e-3) === {k + 1}", timeout=5000)
            player.locator(".vidqa-timer").filter(has_text=f"frame {k + 1}").wait_for(timeout=5000)
            page.keyboard.press(",")
            page.keyboard.press(",")
            page.wait_for_function(f"() => Math.floor(document.querySelector('.vidqa-player video').currentTime * "
                                   f"{fps} + 1e-3) === {k - 1}", timeout=5000)
            page.keyboard.press("]")
            assert page.evaluate("() => document.querySelector('.vidqa-player video').playbackRate") == 1.25
            page.keyboard.press("[")
            page.keyboard.press("[")
            assert page.evaluate("() => document.querySelector('.vidqa-player video').playbackRate") == 0.75

            # edit the text to HTML through the UI: it must stay literal text
            row.locator(".vidqa-note-text").click()
            edit = row.locator("input.vidqa-edit-text")
            edit.fill(HOSTILE)
            edit.press("Enter")
            poll(lambda: [r for r in note_rows(db) if r["id"] == note["id"] and r["text"] == HOSTILE], 15,
                 what="the edit to reach the database")
            row.locator(".vidqa-note-text").filter(has_text="onerror").wait_for(timeout=10_000)
            assert row.locator(".vidqa-note-text").inner_text() == HOSTILE
            assert page.evaluate("() => document.querySelectorAll('.vidqa-player img').length") == 0
            page.wait_for_timeout(500)
            assert dialogs == []

            # Range requests work on the route the player uses (what lets a long video seek without loading it
            # whole). Chrome's first request is "bytes=0-", which Tornado answers 200 with the whole (small) file,
            # so ask for a middle range from the page itself (same origin, Referer and cookies as the <video>).
            media_hits = [r for r in responses if "/files/vidqa_media/" in r[0]]
            assert media_hits and media_hits[0][2] == "bytes=0-", media_hits
            ranged = page.evaluate("""async (src) => {
                const r = await fetch(src, {headers: {Range: 'bytes=1000-1999'}});
                const b = await r.arrayBuffer();
                return {status: r.status, length: b.byteLength, range: r.headers.get('content-range')};
            }""", src)
            assert ranged["status"] == 206 and ranged["length"] == 1000, ranged
            assert ranged["range"].startswith("bytes 1000-1999/"), ranged
            assert page.locator(".vidqa-error").is_hidden(), player.locator(".vidqa-error").inner_text()

        finally:
            browser.close()


def test_player_in_voila(tmp_path, media):
    playwright = _playwright()
    if not Path(CHROMIUM).exists():
        missing("needs /usr/bin/chromium")
    clip, fake_mic = media
    nb_dir = tmp_path / "nb"
    nb_dir.mkdir()
    db = tmp_path / "data" / "vidqa.db"
    notebook = write_notebook(nb_dir / "annotate.ipynb", str(clip), str(db), backend="local")
    with voila_server(notebook, tmp_path) as url, playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=chromium_args(fake_mic))
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            responses = []
            page.on("response", lambda r: responses.append((r.url, r.status)))
            page.goto(url, wait_until="domcontentloaded", timeout=120_000)
            page.wait_for_function("() => { const v = document.querySelector('.vidqa-player video');"
                                   " return v && v.readyState >= 2 && v.duration > 0; }", timeout=150_000)
            src = page.evaluate("() => document.querySelector('.vidqa-player video').currentSrc")
            assert "/voila/files/vidqa_media/" in src, src
            page.evaluate(KEY_OBSERVER)
            page.click(".vidqa-player .vidqa-play")
            page.wait_for_function("() => document.querySelector('.vidqa-player video').currentTime > 0.5",
                                   timeout=20_000)
            page.keyboard.press(" ")
            page.wait_for_timeout(4000)
            page.keyboard.press(" ")
            press = page.evaluate("() => window.__vidqaKeys[0]")
            rows = poll(lambda: [r for r in note_rows(db) if r["status"] in ("done", "error")], 90,
                        what="the voice note to be transcribed in Voilà")
            assert rows[0]["status"] == "done", rows[0]["error"]
            assert abs(rows[0]["t"] - press["t"]) <= 1 / 25
            assert sum(w in rows[0]["text"].lower() for w in KEY_WORDS) >= 3, rows[0]["text"]
            ranged = page.evaluate("""async (src) => {
                const r = await fetch(src, {headers: {Range: 'bytes=100-199'}});
                return {status: r.status, length: (await r.arrayBuffer()).byteLength};
            }""", src)
            assert ranged == {"status": 206, "length": 100}, ranged
            assert any("/voila/files/" in u and s in (200, 206) for u, s in responses)
        finally:
            browser.close()

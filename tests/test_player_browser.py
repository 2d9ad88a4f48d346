"""End to end in a real browser: JupyterLab (and Voilà) + headless Chromium with a fake microphone that speaks.

JupyterLab runs on 127.0.0.1 with private config/runtime/data dirs and serves a temp copy of
``notebooks/annotate.ipynb`` pointed at a generated clip and a tmp database *outside* the served folder (so the
player must link the media under the notebook folder). The notebook is run with "Run All" (no click): the player
must have the keys at once. Every frame of the clip carries its index as a barcode (tests/player_media.py), so
stamps and the time overlay are checked against the pixels on screen, not against the player's own arithmetic.

One JupyterLab (module fixture) serves the tests below; each test makes the notes it needs, so ``-k`` picks any
one of them. Run them one file at a time: they are CPU-heavy.
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from needs import missing
from player_media import (
    CLIP,
    KEY_WORDS,
    SPOKEN,
    cached,
    decode_png,
    espeak_wav,
    make_clip,
    read_frame_code,
    video_picture,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
HOSTILE = "<img src=x onerror=alert(1)>"
FPS = 25.0
VIDEO = ".vidqa-player video"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _playwright():
    try:
        import playwright.sync_api
    except ImportError:
        missing("the playwright package is not installed (pip install -e '.[test]')")
    if not Path(CHROMIUM).exists():
        missing("needs /usr/bin/chromium")
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


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@contextmanager
def jupyter_lab(root: Path, tmp: Path, *, clean_dirs: list[Path] | None = None):
    """Yield the base URL of a JupyterLab serving ``root``; stops it (and its kernels) afterwards.

    ``clean_dirs``: notebooks saved in these folders go through the player's clean-on-save hook (as the repository's
    own ``notebooks/`` do with ``vidqa.widgets.serving.clean_notebook_on_save``).
    """
    env = jupyter_env(tmp)
    # The "Jupyter news" toast can cover the page: disable it in this test's own config dir only (`jupyter
    # labextension disable` would write to the Python environment's sys-prefix config).
    labconfig = Path(env["JUPYTER_CONFIG_DIR"]) / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    (labconfig / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    if clean_dirs:
        (Path(env["JUPYTER_CONFIG_DIR"]) / "jupyter_server_config.py").write_text(
            "from vidqa.widgets.serving import clean_on_save\n"
            f"c.FileContentsManager.pre_save_hook = clean_on_save({[str(d) for d in clean_dirs]!r})\n")
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
        _stop(proc)


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
        _stop(proc)


def chromium_args(fake_wav: Path | None = None) -> list[str]:
    """Flags for headless Chromium; with ``fake_wav`` a fake microphone plays it, without one there is no mic."""
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--use-fake-ui-for-media-stream",
            "--autoplay-policy=no-user-gesture-required"]
    if fake_wav is not None:
        args += ["--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={fake_wav}%noloop"]
    return args


def write_notebook(dest: Path, source: str | None, db: str, **player_kw: object) -> Path:
    """A copy of notebooks/annotate.ipynb with its parameters cell pointed at ``source``/``db`` (and more keyword
    arguments for the player)."""
    nb = json.loads((REPO / "notebooks" / "annotate.ipynb").read_text())
    for cell in nb["cells"]:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            cell["source"] = f"source = {source!r}\ndb = {db!r}\n"
        elif cell["cell_type"] == "code" and player_kw:
            extra = "".join(f", {k}={v!r}" for k, v in player_kw.items())
            src = "".join(cell["source"])
            cell["source"] = re.sub(r"(player = VideoPlayer\(.*)\)", lambda m: m.group(1) + extra + ")", src)
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


# Installed before the widget's own handler (capture phase on window), independent of the widget's arithmetic:
# - `seen`: the pixels of the frame on screen when the key event was created (each presented frame is drawn to a
#   canvas in a requestVideoFrameCallback, which gives exactly that frame; the key picks the last one displayed at
#   or before event.timeStamp);
# - `png`: the pixels of the <video> when the handler ran (its current frame, maybe already the next one queued);
# - `lag`: how long after its creation the event was dispatched.
KEY_OBSERVER = """() => {
  window.__vidqaKeys = [];
  const v = document.querySelector('.vidqa-player video');
  const grab = () => {
    const c = document.createElement('canvas');
    c.width = v.videoWidth; c.height = v.videoHeight;
    c.getContext('2d').drawImage(v, 0, 0);
    return c.toDataURL('image/png');
  };
  const log = [];
  const onFrame = (now, meta) => {
    log.push({disp: meta.expectedDisplayTime, png: grab()});
    if (log.length > 30) log.shift();
    v.requestVideoFrameCallback(onFrame);
  };
  v.requestVideoFrameCallback(onFrame);
  window.addEventListener('keydown', (e) => {
    if (e.key !== ' ' || e.repeat) return;
    const now = v.currentTime, lag = (performance.now() - e.timeStamp) / 1000;
    let seen = null;
    for (const x of log) if (x.disp <= e.timeStamp) seen = x.png;
    window.__vidqaKeys.push({current: now, lag, rate: v.playbackRate, paused: v.paused, wall: Date.now(),
                             png: grab(), seen});
  }, true);
}"""


def png_code(data_url: str) -> int | None:
    return read_frame_code(decode_png(base64.b64decode(data_url.split(",", 1)[1])))


def open_lab_notebook(page, base: str, nb_name: str, timeout_s: float = 120.0, workspace: str | None = None) -> None:
    """Open ``nb_name`` and run all its cells (through the command, no click on the page); wait for the video.

    ``workspace``: a JupyterLab workspace of its own (another page must not restore the first page's tabs).
    """
    where = f"/lab/workspaces/{workspace}/tree/" if workspace else "/lab/tree/"
    page.goto(f"{base}{where}{nb_name}", wait_until="domcontentloaded")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell && "
                           "document.querySelector('.jp-Notebook')", timeout=timeout_s * 1000)
    page.wait_for_function("""() => {
        const w = window.jupyterapp.shell.currentWidget;
        return w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel &&
               w.sessionContext.session.kernel.status === 'idle';
    }""", timeout=timeout_s * 1000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_selector(VIDEO, timeout=timeout_s * 1000)
    page.wait_for_function(f"() => {{ const v = document.querySelector('{VIDEO}');"
                           " return v && v.readyState >= 2 && v.duration > 0; }", timeout=timeout_s * 1000)


def video_time(page) -> float:
    return page.evaluate(f"() => document.querySelector('{VIDEO}').currentTime")


def seek_and_settle(page, t: float) -> None:
    """Pause, seek to ``t`` and wait until the frame is presented."""
    page.evaluate("""(t) => new Promise((resolve) => {
        const v = document.querySelector('.vidqa-player video');
        v.pause();
        const done = () => v.requestVideoFrameCallback(() => setTimeout(resolve, 60));
        v.addEventListener('seeked', done, {once: true});
        v.currentTime = t;
        setTimeout(resolve, 2000);
    })""", t)


def rect(page, selector: str) -> dict:
    return page.evaluate("(s) => { const r = document.querySelector(s).getBoundingClientRect();"
                         " return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width,"
                         " height: r.height}; }", selector)


def overlaps(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


def give_keys(page) -> None:
    """Click the player (its title) so it has the keys."""
    page.click(".vidqa-player .vidqa-title")
    page.wait_for_function("() => document.querySelector('.vidqa-player').dataset.keys === 'on'", timeout=5000)


@dataclass
class Lab:
    page: Any
    browser: Any
    pw: Any
    base: str
    root: Path
    db: Path
    data: Path
    clean_dir: Path
    mic: Path
    tmp: Path
    after_render: dict = field(default_factory=dict)
    dialogs: list = field(default_factory=list)
    responses: list = field(default_factory=list)


@pytest.fixture(scope="module")
def media():
    clip = cached(CLIP, make_clip)
    fake_mic = cached("mic.wav", lambda p: espeak_wav(SPOKEN, p, rate=48000, lead=0.5, tail=3.0))
    return clip, fake_mic


@pytest.fixture(scope="module")
def pw():
    """One Playwright per module (the sync API cannot nest)."""
    playwright = _playwright()
    with playwright.sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def lab(tmp_path_factory, media, pw):
    """JupyterLab + Chromium (fake mic) with the annotate notebook run by "Run All"; records the focus right after."""
    clip, fake_mic = media
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "lab"
    clean_dir = root / "clean"
    clean_dir.mkdir(parents=True)
    data = tmp / "data"  # outside the served folder: the player must link the media under the notebook
    db = data / "vidqa.db"
    write_notebook(root / "annotate.ipynb", str(clip), str(db), backend="local")
    with jupyter_lab(root, tmp, clean_dirs=[clean_dir]) as base:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=chromium_args(fake_mic))
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            state = Lab(page, browser, pw, base, root, db, data, clean_dir, fake_mic, tmp)
            page.on("response", lambda r: state.responses.append((r.url, r.status, r.request.headers.get("range"))))
            page.on("dialog", lambda d: (state.dialogs.append(d.message), d.dismiss()))
            open_lab_notebook(page, base, "annotate.ipynb")
            t0 = time.monotonic()
            try:
                page.wait_for_function("() => document.activeElement === document.querySelector('.vidqa-player')",
                                       timeout=10_000)
                state.after_render["focused"] = True
            except Exception:  # noqa: BLE001 - the test reports it
                state.after_render["focused"] = False
            state.after_render["seconds"] = time.monotonic() - t0
            page.wait_for_timeout(1500)  # JupyterLab finishing "Run All" must not take the keys back
            state.after_render.update(page.evaluate("""() => ({
                still: document.activeElement === document.querySelector('.vidqa-player'),
                active: document.activeElement && document.activeElement.className,
                keys: document.querySelector('.vidqa-keys').textContent,
                cell: window.jupyterapp.shell.currentWidget.content.activeCellIndex,
                mode: window.jupyterapp.shell.currentWidget.content.mode})"""))
            yield state
        finally:
            browser.close()


def record_note(lab: Lab, *, at: float = 1.0, seconds: float = 3.5) -> dict:
    """Play from ``at``, SPACE, speak (the fake mic), SPACE; return the transcribed row."""
    page = lab.page
    give_keys(page)
    before = {r["id"] for r in note_rows(lab.db)}
    page.evaluate(f"(t) => {{ const v = document.querySelector('{VIDEO}'); v.currentTime = t; v.play(); }}", at)
    page.wait_for_function(f"(t) => document.querySelector('{VIDEO}').currentTime > t + 0.3", arg=at, timeout=20_000)
    page.keyboard.press(" ")
    page.wait_for_timeout(int(seconds * 1000))
    page.keyboard.press(" ")
    row = poll(lambda: [r for r in note_rows(lab.db) if r["id"] not in before and r["status"] in ("done", "error")],
               90, what="the voice note to be transcribed")[0]
    page.evaluate(f"() => document.querySelector('{VIDEO}').pause()")
    assert row["status"] == "done", row["error"]
    page.locator(f".vidqa-note[data-note-id='{row['id']}'][data-status='done']").wait_for(timeout=20_000)
    return row


def a_voice_note(lab: Lab) -> dict:
    rows = [r for r in note_rows(lab.db) if r["audio_path"] and r["status"] == "done"]
    return rows[-1] if rows else record_note(lab)


# ---------------------------------------------------------------------------------------------------------------
# JupyterLab
# ---------------------------------------------------------------------------------------------------------------
def test_player_has_the_keys_after_run_all(lab):
    """Issue 13.2: after "Run All" (no click) the player has the keyboard and says so; K/J drive the video."""
    page = lab.page
    state = lab.after_render
    assert state["focused"], f"the player never got the focus after Run All: {state}"
    assert state["still"], f"JupyterLab took the focus back after Run All: {state}"
    assert state["keys"] == "⌨ keys active"
    assert page.get_attribute(".vidqa-player", "data-lm-suppress-shortcuts") == "true"
    cell, mode = state["cell"], state["mode"]
    page.keyboard.press("k")  # first key after Run All: plays the video, does not move JupyterLab's selection
    page.wait_for_function(f"() => !document.querySelector('{VIDEO}').paused", timeout=5000)
    page.keyboard.press("k")
    page.wait_for_function(f"() => document.querySelector('{VIDEO}').paused", timeout=5000)
    page.keyboard.press("j")
    after = page.evaluate("() => ({cell: window.jupyterapp.shell.currentWidget.content.activeCellIndex,"
                          " mode: window.jupyterapp.shell.currentWidget.content.mode})")
    assert after == {"cell": cell, "mode": mode}


def test_space_and_player_keys_never_reach_jupyterlab(lab):
    """Issue 13.2: while the player has the keys, SPACE (and its other keys) neither scroll nor edit the notebook."""
    page = lab.page
    give_keys(page)
    page.evaluate("""() => {
        window.__leaked = [];
        const spy = (e) => window.__leaked.push(e.type + ':' + e.key);
        for (const t of [window, document]) for (const type of ['keydown', 'keyup', 'keypress'])
            t.addEventListener(type, spy, false);   // bubbling: what JupyterLab's own handlers would see
        const nb = window.jupyterapp.shell.currentWidget.content;
        const sc = document.querySelector('.jp-WindowedPanel-outer') || nb.node;
        window.__before = {cell: nb.activeCellIndex, cells: nb.widgets.length, mode: nb.mode, scroll: sc.scrollTop,
                           page: document.scrollingElement.scrollTop};
    }""")
    n_before = len(note_rows(lab.db))
    for key in [" ", "k", "k", "j", "l", ",", ".", "[", "]", "o", "o", "o", "o", "o", " "]:
        page.keyboard.press(key)
        page.wait_for_timeout(120)
    page.wait_for_timeout(300)
    leaked = page.evaluate("() => window.__leaked")
    now = page.evaluate("""() => {
        const nb = window.jupyterapp.shell.currentWidget.content;
        const sc = document.querySelector('.jp-WindowedPanel-outer') || nb.node;
        return {cell: nb.activeCellIndex, cells: nb.widgets.length, mode: nb.mode, scroll: sc.scrollTop,
                page: document.scrollingElement.scrollTop};
    }""")
    assert leaked == [], f"keys reached JupyterLab: {leaked}"
    assert now == page.evaluate("() => window.__before")
    assert page.get_attribute(".vidqa-player", "data-overlay") == "top-left"  # five O presses: round trip
    # the two SPACEs stamped one note (they reached the player, not the page)
    poll(lambda: len(note_rows(lab.db)) == n_before + 1, 30, what="the SPACE stamp")


def test_voice_note_stamp_matches_the_frame_on_screen(lab, artifacts_dir):
    """The stamp against an independent truth: the barcode of the frame on screen at each keypress (ten quick
    stamps and one spoken note); the REC badge never covers the frame number; the transcript arrives."""
    page = lab.page
    give_keys(page)
    page.evaluate(KEY_OBSERVER)
    before = {r["id"] for r in note_rows(lab.db)}
    page.evaluate(f"() => {{ const v = document.querySelector('{VIDEO}'); v.currentTime = 0.2; v.play(); }}")
    page.wait_for_function(f"() => document.querySelector('{VIDEO}').currentTime > 0.5", timeout=20_000)
    for _ in range(10):  # quick stamps: SPACE starts a recording, SPACE stops it
        page.keyboard.press(" ")
        page.wait_for_timeout(250)
        page.keyboard.press(" ")
        page.wait_for_timeout(150)
    page.keyboard.press(" ")
    page.locator(".vidqa-rec.on").wait_for(timeout=10_000)
    page.wait_for_timeout(600)
    frame_box, time_box, rec_box = rect(page, ".vidqa-frame"), rect(page, ".vidqa-time"), rect(page, ".vidqa-rec")
    assert rec_box["width"] > 0 and not overlaps(rec_box, frame_box) and not overlaps(rec_box, time_box)
    assert "REC" in page.inner_text(".vidqa-rec")
    page.wait_for_timeout(3000)
    page.keyboard.press(" ")
    presses = page.evaluate("() => window.__vidqaKeys")[0::2]  # every other SPACE stamps (the others stop)
    assert len(presses) == 11 and not any(p["paused"] for p in presses)
    rows = poll(lambda: (r := [x for x in note_rows(lab.db) if x["id"] not in before]) and len(r) == 11 and
                all(x["status"] in ("done", "error") for x in r) and r, 120, what="the notes to be transcribed")
    wrong = []
    for press, stamp in zip(presses, sorted(rows, key=lambda r: r["id"])):
        seen, dispatched = png_code(press["seen"]), png_code(press["png"])
        assert seen is not None and dispatched is not None, "a frame barcode could not be read from the captures"
        # the stamp lies in the frame on screen when the key went down (2 ms of slack: a key at the very flip of a
        # frame), and never names a frame later than the one in the <video> when the handler ran
        k = stamp["t"] * FPS
        if not (seen - 0.05 <= k < seen + 1.05 and stamp["frame_index"] in (seen, seen + (k >= seen + 0.95))
                and stamp["frame_index"] <= dispatched):
            wrong.append((round(stamp["t"] * FPS, 2), stamp["frame_index"], seen, dispatched, round(press["lag"], 4)))
    assert not wrong, f"(stamp in frames, frame_index, frame on screen, frame at dispatch, lag): {wrong}"
    row = max(rows, key=lambda r: r["id"])
    assert row["status"] == "done", row["error"]
    assert row["audio_path"] and (lab.data / row["audio_path"]).stat().st_size > 1000
    assert row["end"] and row["end"] > row["t"] + 2.0
    assert sum(w in row["text"].lower() for w in KEY_WORDS) >= 3, row["text"]
    note = page.locator(f".vidqa-note[data-note-id='{row['id']}']")
    note.locator(".vidqa-note-text").filter(has_text="car").wait_for(timeout=20_000)
    assert note.get_attribute("data-status") == "done"
    assert re.fullmatch(r"\d\d:\d\d\.\d{3}–\d\d:\d\d\.\d{3}", note.locator(".vidqa-note-time").inner_text())
    seek_and_settle(page, (row["t"] + row["end"]) / 2)  # the note under the playhead, for the picture
    page.wait_for_timeout(300)
    page.locator(".vidqa-player").screenshot(path=str(artifacts_dir / "player.png"))


def test_note_time_end_and_text_edited_and_saved(lab):
    """Issue 13.4: start and end are shown and editable, the text box shows a long multi-line text whole."""
    page = lab.page
    row = a_voice_note(lab)
    note = page.locator(f".vidqa-note[data-note-id='{row['id']}']")
    note.locator(".vidqa-note-edit").click()
    box = note.locator(".vidqa-edit")
    box.wait_for(timeout=5000)
    assert page.evaluate("() => document.activeElement.tagName") == "TEXTAREA"
    assert page.locator(".vidqa-player").get_attribute("data-keys") == "typing"
    start, end, text = box.locator(".vidqa-edit-start"), box.locator(".vidqa-edit-end"), box.locator("textarea")
    assert abs(_seconds(start.input_value()) - row["t"]) < 0.001 and abs(_seconds(end.input_value()) - row["end"]) < 0.001
    # a refused edit: end before start, nothing saved
    start.fill("00:05.000")
    end.fill("00:04.000")
    box.locator(".vidqa-edit-save").click()
    assert "after the start" in box.locator(".vidqa-edit-msg").inner_text()
    long_text = "the striker " * 20 + "\nshoots " + HOSTILE
    start.fill("00:01.200")
    end.fill("2.8")
    text.fill(long_text)
    shown = page.evaluate("() => { const t = document.querySelector('.vidqa-edit textarea');"
                          " return {scroll: t.scrollHeight, client: t.clientHeight}; }")
    assert shown["scroll"] <= shown["client"] + 2, f"part of the text is hidden: {shown}"
    box.locator(".vidqa-edit-tags").fill("shot, #var")
    box.locator(".vidqa-edit-save").click()
    saved = poll(lambda: [r for r in note_rows(lab.db) if r["id"] == row["id"] and r["text"] == long_text], 15,
                 what="the edit to reach the database")[0]
    assert saved["t"] == pytest.approx(1.2) and saved["end"] == pytest.approx(2.8) and saved["frame_index"] == 30
    assert json.loads(saved["tags"]) == ["shot", "var"]
    note.locator(".vidqa-note-time").filter(has_text="00:01.200–00:02.800").wait_for(timeout=10_000)
    assert note.locator(".vidqa-note-text").inner_text() == long_text  # literal: no HTML ran
    assert page.evaluate("() => document.querySelectorAll('.vidqa-player img').length") == 0
    assert lab.dialogs == []
    assert page.locator(".vidqa-player").get_attribute("data-keys") == "on"  # back to the keys after saving
    # clear the end: shown as a bare start again
    note.locator(".vidqa-note-edit").click()
    box.locator(".vidqa-edit-end").fill("")
    box.locator(".vidqa-edit-end").press("Enter")
    poll(lambda: [r for r in note_rows(lab.db) if r["id"] == row["id"] and r["end"] is None], 15, what="end cleared")


def _seconds(text: str) -> float:
    out = 0.0
    for part in text.split(":"):
        out = out * 60 + float(part)
    return out


def test_voice_clip_is_replayed(lab):
    """Issue 13.4: ▶ on a voice note plays its recording (the very bytes stored next to the database)."""
    page = lab.page
    row = a_voice_note(lab)
    note = page.locator(f".vidqa-note[data-note-id='{row['id']}']")
    note.locator(".vidqa-note-play").click()
    page.wait_for_function("() => { const a = document.querySelector('.vidqa-player .vidqa-clip');"
                           " return a && !a.paused && a.currentTime > 0.5; }", timeout=15_000)
    assert note.locator(".vidqa-note-play").inner_text() == "■"
    played = page.evaluate("""async () => {
        const a = document.querySelector('.vidqa-player .vidqa-clip');
        const b = await (await fetch(a.src)).arrayBuffer();
        return {bytes: b.byteLength, src: a.src, note: a.dataset.noteId,
                video_paused: document.querySelector('.vidqa-player video').paused};
    }""")
    assert played["src"].startswith("blob:") and played["note"] == str(row["id"]) and played["video_paused"]
    assert played["bytes"] == (lab.data / row["audio_path"]).stat().st_size
    note.locator(".vidqa-note-play").click()  # ■ stops it
    page.wait_for_function("() => document.querySelector('.vidqa-player .vidqa-clip').paused", timeout=5000)


def test_note_under_the_playhead_is_highlighted(lab):
    page = lab.page
    a_voice_note(lab)
    rows = [r for r in note_rows(lab.db)]
    target = rows[-1]
    end = target["end"] if target["end"] and target["end"] > target["t"] else target["t"] + 2.0
    seek_and_settle(page, (target["t"] + end) / 2)
    page.locator(f".vidqa-note.current[data-note-id='{target['id']}']").wait_for(timeout=5000)
    covered = [(r["t"], (r["end"] if r["end"] and r["end"] > r["t"] else r["t"] + 2.0)) for r in rows]
    free = next(x / 10 for x in range(0, 100) if not any(s <= x / 10 < e for s, e in covered))
    seek_and_settle(page, free)
    page.wait_for_function("() => !document.querySelector('.vidqa-note.current')", timeout=5000)


def test_overlay_stays_out_of_the_way_and_shows_one_time_per_frame(lab, artifacts_dir):
    """Issue 13.3: the overlay moves to any corner or outside the picture; one time per frame, the frame on screen
    (read from a screenshot of the video) is the frame the overlay names."""
    page = lab.page
    give_keys(page)
    player = page.locator(".vidqa-player")
    assert player.get_attribute("data-overlay") == "top-left"
    seen = []
    for _ in range(4):
        page.keyboard.press("o")
        seen.append(player.get_attribute("data-overlay"))
    assert seen == ["top-right", "bottom-left", "bottom-right", "outside"]
    hud, picture = rect(page, ".vidqa-hud"), rect(page, VIDEO)
    assert hud["bottom"] <= picture["top"] + 0.5 and not overlaps(hud, picture)  # outside: covers nothing
    page.click(".vidqa-hud-move")
    assert player.get_attribute("data-overlay") == "top-left"
    hud, picture = rect(page, ".vidqa-hud"), rect(page, VIDEO)
    assert hud["top"] >= picture["top"] and hud["left"] >= picture["left"] and hud["width"] < picture["width"] / 1.5

    size = page.evaluate(f"() => {{ const v = document.querySelector('{VIDEO}'); return [v.videoWidth, v.videoHeight]; }}")
    for k in (10, 37, 38, 121):
        texts = set()
        for frac in (0.15, 0.85):
            seek_and_settle(page, (k + frac) / FPS)
            texts.add(page.inner_text(".vidqa-timer"))
            box = rect(page, VIDEO)
            shot = decode_png(page.locator(VIDEO).screenshot())
            code = read_frame_code(video_picture(shot, box["width"], box["height"], *size))
            assert code == k, (k, frac, code)
        assert texts == {f"00:00:{k / FPS:06.3f}\nframe {k}"} or texts == {f"00:00:{k / FPS:06.3f}frame {k}"}, texts
    # frame stepping moves exactly one frame, and the overlay follows
    page.keyboard.press(".")
    page.locator(".vidqa-frame").filter(has_text="frame 122").wait_for(timeout=5000)
    page.keyboard.press(",")
    page.keyboard.press(",")
    page.locator(".vidqa-frame").filter(has_text="frame 120").wait_for(timeout=5000)
    # while playing: every sampled frame's overlay names the frame whose barcode is on screen
    samples = page.evaluate("""() => new Promise((resolve) => {
        const v = document.querySelector('.vidqa-player video');
        const c = document.createElement('canvas'); c.width = v.videoWidth; c.height = v.videoHeight;
        const out = [];
        const cb = (now, meta) => {
            c.getContext('2d').drawImage(v, 0, 0);
            out.push({frame: document.querySelector('.vidqa-player .vidqa-frame').textContent,
                      time: document.querySelector('.vidqa-player .vidqa-time').textContent,
                      png: c.toDataURL('image/png')});
            if (out.length < 25) v.requestVideoFrameCallback(cb); else { v.pause(); resolve(out); }
        };
        v.currentTime = 2.0;
        v.requestVideoFrameCallback(cb);
        v.play();
    })""")
    wrong = []
    for s in samples:
        code = png_code(s["png"])
        if s["frame"] != f"frame {code}" or s["time"] != f"00:00:{code / FPS:06.3f}":
            wrong.append((s["frame"], s["time"], code))
    assert len(samples) == 25 and not wrong, wrong
    # paused after playing (K), the frame on screen may be ahead of currentTime: the overlay names the one shown
    for _ in range(3):
        page.keyboard.press("k")
        page.wait_for_timeout(700)
        page.keyboard.press("k")
        page.wait_for_function(f"() => document.querySelector('{VIDEO}').paused", timeout=5000)
        page.wait_for_timeout(400)
        box = rect(page, VIDEO)
        code = read_frame_code(video_picture(decode_png(page.locator(VIDEO).screenshot()), box["width"],
                                             box["height"], *size))
        assert page.inner_text(".vidqa-frame") == f"frame {code}", (page.inner_text(".vidqa-timer"), code)
    player.screenshot(path=str(artifacts_dir / "player-overlay.png"))


def test_transport_keys_seek_and_range_requests(lab):
    page = lab.page
    row = a_voice_note(lab)
    give_keys(page)
    src = page.evaluate(f"() => document.querySelector('{VIDEO}').currentSrc")
    assert "/files/vidqa_media/" in src, src  # linked under the served root
    assert (lab.root / "vidqa_media").is_dir()
    status = page.inner_text(".vidqa-status")
    assert "vidqa_media" in status and len(status) < 80
    seek_and_settle(page, 5.0)
    page.keyboard.press("j")
    page.wait_for_function(f"() => Math.abs(document.querySelector('{VIDEO}').currentTime - 0.0) < 0.05", timeout=5000)
    page.keyboard.press("l")
    page.wait_for_function(f"() => Math.abs(document.querySelector('{VIDEO}').currentTime - 5.0) < 0.05", timeout=5000)
    page.locator(f".vidqa-note[data-note-id='{row['id']}'] .vidqa-note-time").click()
    page.wait_for_function(f"(t) => Math.abs(document.querySelector('{VIDEO}').currentTime - t) < 0.05",
                           arg=row["t"], timeout=5000)
    page.keyboard.press("]")
    assert page.evaluate(f"() => document.querySelector('{VIDEO}').playbackRate") == 1.25
    page.keyboard.press("[")
    page.keyboard.press("[")
    assert page.evaluate(f"() => document.querySelector('{VIDEO}').playbackRate") == 0.75
    page.keyboard.press("]")
    media_hits = [r for r in lab.responses if "/files/vidqa_media/" in r[0]]
    assert media_hits and media_hits[0][2] == "bytes=0-", media_hits
    ranged = page.evaluate("""async (src) => {
        const r = await fetch(src, {headers: {Range: 'bytes=1000-1999'}});
        const b = await r.arrayBuffer();
        return {status: r.status, length: b.byteLength, range: r.headers.get('content-range')};
    }""", src)
    assert ranged["status"] == 206 and ranged["length"] == 1000 and ranged["range"].startswith("bytes 1000-1999/")
    assert page.locator(".vidqa-error").is_hidden(), page.inner_text(".vidqa-error")


def test_keys_hint_when_the_player_does_not_have_them(lab):
    page = lab.page
    give_keys(page)
    page.click(".jp-MarkdownCell")  # the notebook takes the keys
    player = page.locator(".vidqa-player")
    page.wait_for_function("() => document.querySelector('.vidqa-player').dataset.keys === 'off'", timeout=5000)
    assert player.locator(".vidqa-keys").inner_text() == "Click the player to use the keys"
    paused = page.evaluate(f"() => document.querySelector('{VIDEO}').paused")
    page.keyboard.press("Escape")
    page.keyboard.press("k")  # JupyterLab's key now (select the cell above): the player must not react
    assert page.evaluate(f"() => document.querySelector('{VIDEO}').paused") == paused
    page.click(".vidqa-player .vidqa-notes-title")
    page.wait_for_function("() => document.querySelector('.vidqa-player').dataset.keys === 'on'", timeout=5000)
    assert player.locator(".vidqa-keys").inner_text() == "⌨ keys active"


def test_no_overflow_in_a_250px_notebook_column(lab, artifacts_dir):
    """Issue 13.5: 800 px window with the file browser open; the player fits, its status line stays one line."""
    page = lab.page
    page.set_viewport_size({"width": 800, "height": 900})
    try:
        page.evaluate("() => window.jupyterapp.commands.execute('filebrowser:activate')")
        page.wait_for_timeout(800)
        column = page.evaluate("() => document.querySelector('.jp-Notebook .jp-Cell').getBoundingClientRect().width")
        if column > 260:  # widen the file browser (drag its split handle) until the column is as narrow as reported
            handle = page.evaluate("""() => {
                const hs = [...document.querySelectorAll('#jp-main-split-panel > .lm-SplitPanel-handle')]
                    .filter((h) => !h.classList.contains('lm-mod-hidden') && h.getBoundingClientRect().width > 0);
                const r = hs[0].getBoundingClientRect();
                return {x: r.left + r.width / 2, y: r.top + r.height / 2};
            }""")
            page.mouse.move(handle["x"], handle["y"])
            page.mouse.down()
            page.mouse.move(handle["x"] + (column - 250), handle["y"], steps=8)
            page.mouse.up()
            page.wait_for_timeout(800)
            column = page.evaluate(
                "() => document.querySelector('.jp-Notebook .jp-Cell').getBoundingClientRect().width")
        assert column <= 300, f"the notebook column is {column} px: not the narrow case"
        page.wait_for_timeout(500)
        report = page.evaluate("""() => {
            const root = document.querySelector('.vidqa-player');
            const r = root.getBoundingClientRect();
            const out = document.querySelector('.jp-OutputArea-output:has(.vidqa-player)') || root.parentElement;
            const bad = [];
            for (const e of root.querySelectorAll('*')) {
                const b = e.getBoundingClientRect();
                if (!b.width || !b.height || getComputedStyle(e).display === 'none') continue;
                if (b.right > r.right + 1 || b.left < r.left - 1) bad.push(`${e.className || e.tagName} ${b.left}-${b.right}`);
            }
            const st = document.querySelector('.vidqa-status');
            return {width: r.width, rootScroll: root.scrollWidth - root.clientWidth,
                    outScroll: out.scrollWidth - out.clientWidth, bad,
                    statusLines: st.getBoundingClientRect().height / (parseFloat(getComputedStyle(st).lineHeight) ||
                                 1.25 * parseFloat(getComputedStyle(st).fontSize)),
                    seek: document.querySelector('.vidqa-seek').getBoundingClientRect().width,
                    timer: document.querySelector('.vidqa-timer').getBoundingClientRect().width,
                    notes: document.querySelector('.vidqa-notes').getBoundingClientRect().width};
        }""")
        assert report["width"] <= 300 and report["rootScroll"] <= 1 and report["outScroll"] <= 1, report
        assert report["bad"] == [], report["bad"]
        assert report["seek"] > 40 and report["timer"] > 40 and report["notes"] > 100, report
        assert report["statusLines"] < 1.6, report
        page.locator(".vidqa-player").screenshot(path=str(artifacts_dir / "player-250px.png"))
        more = page.locator(".vidqa-status-more")
        if more.is_visible():  # the long story (a path) on demand, wrapped inside the player
            more.click()
            detail = rect(page, ".vidqa-status-detail")
            assert detail["height"] > 0 and detail["right"] <= rect(page, ".vidqa-player")["right"] + 1
            more.click()
    finally:
        page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
        page.set_viewport_size({"width": 1280, "height": 900})
        page.wait_for_timeout(500)


def test_typed_notes_pause_the_video_and_never_say_recording(lab, artifacts_dir):
    """Issue 13.4: without a microphone SPACE opens a text field at the stamp; the video waits, the row says typing."""
    db = lab.data / "typed.db"
    write_notebook(lab.root / "typed.ipynb", str(cached(CLIP, make_clip)), str(db), backend="local")
    browser = lab.pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=chromium_args(None))
    try:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        open_lab_notebook(page, lab.base, "typed.ipynb", workspace="typed")
        give_keys(page)
        page.evaluate(f"() => document.querySelector('{VIDEO}').play()")
        page.wait_for_function(f"() => document.querySelector('{VIDEO}').currentTime > 1.0", timeout=20_000)
        page.keyboard.press(" ")  # the mic fails (no device): the stamp becomes a typed note
        page.locator(".vidqa-typed.on").wait_for(timeout=10_000)
        assert page.evaluate(f"() => document.querySelector('{VIDEO}').paused")
        row_el = page.locator(".vidqa-note")
        row_el.locator(".vidqa-st-typing").wait_for(timeout=10_000)
        rows = poll(lambda: note_rows(db), 10, what="the stamp")
        assert rows[0]["status"] == "typed" and rows[0]["kind"] == "typed"
        assert "recording" not in page.inner_text(".vidqa-notes")
        t_paused = video_time(page)
        page.wait_for_timeout(1200)
        assert video_time(page) == t_paused  # the video waits while you type
        page.screenshot(path=str(artifacts_dir / "player-typed.png"))
        page.keyboard.type("offside, flag up")
        page.keyboard.press("Shift+Enter")
        page.keyboard.type("second line")
        page.keyboard.press("Enter")
        page.wait_for_function(f"() => !document.querySelector('{VIDEO}').paused", timeout=5000)  # resumes
        saved = poll(lambda: [r for r in note_rows(db) if r["text"] == "offside, flag up\nsecond line"], 15,
                     what="the typed text")[0]
        assert saved["status"] == "typed" and saved["id"] == rows[0]["id"]
        assert page.locator(".vidqa-player").get_attribute("data-keys") == "on"
        # the second time the text field opens at once; Esc drops the empty stamp and the video plays on
        page.keyboard.press(" ")
        page.locator(".vidqa-typed.on").wait_for(timeout=5000)
        assert page.evaluate(f"() => document.querySelector('{VIDEO}').paused")
        poll(lambda: len(note_rows(db)) == 2, 10, what="the second stamp (saved at the key press)")
        page.keyboard.press("Escape")
        page.wait_for_function(f"() => !document.querySelector('{VIDEO}').paused", timeout=5000)
        poll(lambda: len(note_rows(db)) == 1, 10, what="the dismissed stamp to be dropped")
        assert "No microphone" in page.inner_text(".vidqa-status")
    finally:
        browser.close()


def test_shipped_notebook_stays_clean_after_run_and_save(lab):
    """Issue 13.8: run the annotate notebook in JupyterLab and save it: the saved file has no outputs and the
    tracked metadata (the clean-on-save hook, as for the repository's notebooks/)."""
    nb_path = write_notebook(lab.clean_dir / "annotate.ipynb", str(cached(CLIP, make_clip)),
                             str(lab.data / "clean.db"), backend="local")
    original = json.loads(nb_path.read_text())
    page = lab.browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    try:
        open_lab_notebook(page, lab.base, "clean/annotate.ipynb", workspace="clean")
        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=15_000)
        saved = json.loads(nb_path.read_text())
        assert saved["metadata"] == original["metadata"]
        for cell in saved["cells"]:
            assert set(cell.get("metadata", {})) <= {"tags"}
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None
        assert [c["source"] for c in saved["cells"]] == [c["source"] for c in original["cells"]] or \
            ["".join(c["source"]) for c in saved["cells"]] == ["".join(c["source"]) for c in original["cells"]]
        # the repository's own notebook is clean as tracked
        tracked = json.loads((REPO / "notebooks" / "annotate.ipynb").read_text())
        assert set(tracked["metadata"]) == {"kernelspec", "language_info"}
        assert tracked["metadata"]["language_info"] == {"name": "python"}
    finally:
        page.close()


# ---------------------------------------------------------------------------------------------------------------
# Voilà
# ---------------------------------------------------------------------------------------------------------------
def test_voila_app_picks_a_second_video_and_database(tmp_path, media, pw, artifacts_dir):
    """Issue 13.6: the app shows no setup text; a reviewer picks another video, records a note on it, and picks
    another database."""
    from vidqa.pipeline.ingest import ingest
    from vidqa.store import Store

    clip, fake_mic = media
    clip_b = cached("clip-b.mp4", lambda p: make_clip(p, seconds=6.0, speech="a whistle and a yellow card"))
    clip_c = cached("clip-c.mp4", lambda p: make_clip(p, seconds=4.0, speech="the goalkeeper waits"))
    data = tmp_path / "data"
    db = data / "vidqa.db"
    with Store(db) as store:
        first = ingest(str(clip), store, progress=False)
        second = ingest(str(clip_b), store, progress=False)
    # another data folder: each database owns the media folder beside it (ingest sweeps files of no stored video)
    other_db = tmp_path / "other" / "other.db"
    with Store(other_db) as other:
        third = ingest(str(clip_c), other, progress=False)
    nb_dir = tmp_path / "nb"
    nb_dir.mkdir()
    notebook = write_notebook(nb_dir / "annotate.ipynb", first.id, str(db), backend="local",
                              databases=[str(other_db)])
    with voila_server(notebook, tmp_path) as url:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=chromium_args(fake_mic))
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(url, wait_until="domcontentloaded", timeout=120_000)
            page.wait_for_function(f"() => {{ const v = document.querySelector('{VIDEO}');"
                                   " return v && v.readyState >= 2 && v.duration > 0; }", timeout=150_000)
            body = page.inner_text("body")
            for dev in ("allow", "voila.json", "VoilaConfiguration", "VideoPlayer", "parameters", "store=db"):
                assert dev not in body, f"developer text {dev!r} in the app"
            assert page.evaluate("() => document.activeElement === document.querySelector('.vidqa-player')")
            options = page.eval_on_selector_all(".vidqa-pick-video option", "os => os.map(o => o.value)")
            assert options == [first.id, second.id]
            first_src = page.evaluate(f"() => document.querySelector('{VIDEO}').currentSrc")
            page.select_option(".vidqa-pick-video", second.id)
            page.wait_for_function(f"(s) => {{ const v = document.querySelector('{VIDEO}');"
                                   " return v.currentSrc && v.currentSrc !== s && v.readyState >= 2 &&"
                                   " Math.abs(v.duration - 6) < 0.2; }", arg=first_src, timeout=30_000)
            assert "/voila/files/vidqa_media/" in page.evaluate(f"() => document.querySelector('{VIDEO}').currentSrc")
            assert page.locator(".vidqa-player").get_attribute("data-keys") == "on"  # still has the keys
            page.evaluate(f"() => document.querySelector('{VIDEO}').play()")
            page.wait_for_function(f"() => document.querySelector('{VIDEO}').currentTime > 0.5", timeout=20_000)
            page.keyboard.press(" ")
            page.wait_for_timeout(3500)
            page.keyboard.press(" ")
            row = poll(lambda: [r for r in note_rows(db) if r["status"] in ("done", "error")], 90,
                       what="the voice note in Voilà")[0]
            assert row["status"] == "done", row["error"]
            assert row["video_id"] == second.id
            assert sum(w in row["text"].lower() for w in KEY_WORDS) >= 3, row["text"]
            page.locator(".vidqa-note[data-status='done']").wait_for(timeout=20_000)
            page.screenshot(path=str(artifacts_dir / "voila-app.png"))
            # another database: its videos replace the list
            dbs = page.eval_on_selector_all(".vidqa-pick-db option", "os => os.map(o => o.value)")
            assert dbs == [str(db.resolve()), str(other_db.resolve())], dbs
            page.select_option(".vidqa-pick-db", str(other_db.resolve()))
            page.wait_for_function(f"() => Math.abs(document.querySelector('{VIDEO}').duration - 4) < 0.2 &&"
                                   f" document.querySelector('{VIDEO}').readyState >= 2", timeout=30_000)
            assert page.eval_on_selector_all(".vidqa-pick-video option", "os => os.map(o => o.value)") == [third.id]
            assert page.locator(".vidqa-note").count() == 0
            ranged = page.evaluate("""async () => {
                const r = await fetch(document.querySelector('.vidqa-player video').currentSrc,
                                      {headers: {Range: 'bytes=100-199'}});
                return {status: r.status, length: (await r.arrayBuffer()).byteLength};
            }""")
            assert ranged == {"status": 206, "length": 100}, ranged
            assert page.locator(".vidqa-error").is_hidden(), page.inner_text(".vidqa-error")
        finally:
            browser.close()

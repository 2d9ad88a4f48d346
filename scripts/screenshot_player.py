#!/usr/bin/env python
"""Take the README's picture: the player in JupyterLab on the bundled sample, a voice note transcribed and
highlighted under the playhead, the player holding the keys (it takes them after "Run All").

Uses the browser-test machinery (tests/test_player_browser.py: JupyterLab on 127.0.0.1, Debian Chromium with an
espeak-ng fake microphone). Writes docs/player.png.

    python scripts/screenshot_player.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from player_media import espeak_wav  # noqa: E402
from test_player_browser import (  # noqa: E402
    CHROMIUM, _playwright, chromium_args, jupyter_lab, note_rows, open_lab_notebook, poll, write_notebook,
)

SAID = "The referee blows the whistle next to the black dog."


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="vidqa-shot-"))
    mic = espeak_wav(SAID, tmp / "mic.wav", rate=48000, lead=0.5, tail=3.0)
    root = tmp / "lab"
    root.mkdir()
    db = tmp / "data" / "vidqa.db"
    write_notebook(root / "annotate.ipynb", str(ROOT / "data" / "samples" / "sample.mp4"), str(db), backend="local")
    playwright = _playwright()
    with jupyter_lab(root, tmp) as base, playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=chromium_args(mic))
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        open_lab_notebook(page, base, "annotate.ipynb")
        page.click(".vidqa-player .vidqa-play")
        page.wait_for_function("() => document.querySelector('.vidqa-player video').currentTime > 1.2",
                               timeout=20_000)
        page.keyboard.press(" ")
        page.wait_for_timeout(4500)
        page.keyboard.press(" ")
        (note,) = poll(lambda: [r for r in note_rows(db) if r["status"] == "done"], 90, what="the note")
        page.locator(".vidqa-note-text").filter(has_text="whistle").wait_for(timeout=20_000)
        t = min(max(3.9, note["t"] + 0.2), (note["end"] or note["t"] + 2) - 0.1)
        page.evaluate("(t) => { const v = document.querySelector('.vidqa-player video'); v.pause();"
                      " v.currentTime = t; }", t)  # the whistle moment, dog and bicycle on screen
        page.locator(".vidqa-note.current").wait_for(timeout=5000)
        page.click(".vidqa-player .vidqa-title")  # it has the keys
        page.wait_for_timeout(800)
        out = ROOT / "docs" / "player.png"
        page.locator(".vidqa-player").screenshot(path=str(out))
        browser.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

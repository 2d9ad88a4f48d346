"""The package installs as a wheel with the widgets' front-end inside, and the console script works."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    (whl,) = out.glob("vidqa-*.whl")
    return whl


def test_wheel_ships_the_widget_front_end_and_the_console_script(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        assert {"vidqa/_widgets/player.js", "vidqa/_widgets/player.css", "vidqa/_widgets/review.js",
                "vidqa/_widgets/tiers.js", "vidqa/_widgets/dom.js"} <= names
        assert {"vidqa/questions/ontology.yaml", "vidqa/py.typed"} <= names  # package data
        assert (ROOT / "widgets" / "player.js").read_bytes() == z.read("vidqa/_widgets/player.js")
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        assert "vidqa = vidqa.cli:main" in z.read(entry_points).decode()
        # no test data or notebooks outputs leak into the wheel
        assert not any(n.startswith(("tests/", "data/")) for n in names)


def test_installed_wheel_loads_the_widget_files_from_the_package(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    code = ("import vidqa.widgets.assets as a, vidqa.widgets.player as p; print(a.widget_file('player.js')); "
            "print(p.VideoPlayer._esm[:200] if isinstance(p.VideoPlayer._esm, str) else p.VideoPlayer._esm)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(target)})
    assert out.returncode == 0, out.stderr
    first = out.stdout.splitlines()[0]
    assert first.startswith(str(target)) and first.endswith("vidqa/_widgets/player.js")


def test_editable_checkout_finds_the_top_level_widgets():
    from vidqa.widgets.assets import widget_file

    assert widget_file("player.js").read_text() == (ROOT / "widgets" / "player.js").read_text()
    es_module = (ROOT / "widgets" / "player.js").read_text()
    assert "export default" in es_module
    # offline: no CDN (or any remote) imports, static or dynamic
    assert not re.search(r"""(from|import)\s*\(?\s*['"](https?:)?//""", es_module)

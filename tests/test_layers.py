"""The package map is a rule, not a wish: every ``vidqa`` import (module level and inside functions) is checked.

- kernel (``errors``, ``config``, ``records``) imports nothing of vidqa but the kernel;
- ``store`` and ``providers`` import only the kernel, never each other;
- the pure stages (media → analyze → annotate → questions → review → evaluate → score) import the kernel,
  ``providers`` and earlier stages only, never ``store``, ``pipeline`` or a face;
- ``pipeline`` (the only writer) imports anything but a face;
- the faces (``widgets``, ``report``, ``cli``, ``demo``) never import each other;
- ``testing`` (sample media for tests) is imported by no library code (the CLI's ``sample`` command aside);
- notebooks import only ``vidqa`` and ``vidqa.report``.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "vidqa"

KERNEL = {"errors", "config", "records", "__init__", "__main__", "_version"}
STAGES = ["media", "analyze", "annotate", "questions", "review", "evaluate", "score"]
FACES = {"widgets", "report", "cli", "demo"}


def layer_of(module: str) -> str:
    """``vidqa.analyze.ocr`` -> ``analyze``; ``vidqa`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def allowed(src: str, dst: str) -> bool:
    if src == dst:
        return True
    if dst == "__init__":
        # the package's front door re-exports; only faces and pipeline may lean on it
        return src in FACES | {"pipeline", "testing"}
    if src in KERNEL - {"__init__", "__main__"}:
        return dst in KERNEL
    if src in {"__init__", "__main__"}:
        return True
    if src in {"store", "providers"}:
        return dst in KERNEL
    if src in STAGES:
        return dst in KERNEL or dst == "providers" or (dst in STAGES and STAGES.index(dst) < STAGES.index(src))
    if src == "pipeline":
        return dst not in FACES and dst != "testing"
    if src == "testing":
        return dst not in FACES and dst != "pipeline"
    if src in FACES:
        if dst in FACES:
            return False
        if dst == "testing":
            return src == "cli"
        return True
    raise AssertionError(f"vidqa.{src} is in no layer: add it to tests/test_layers.py")


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "vidqa"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "vidqa":
                continue
            if target == "vidqa":  # from vidqa import x: x may be a subpackage
                for a in node.names:
                    sub = PKG / a.name
                    found.append((node.lineno, f"vidqa.{a.name}" if sub.exists() or sub.with_suffix(".py").exists()
                                  else "vidqa"))
            else:
                found.append((node.lineno, target))
    return found


def library_files() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if "_widgets" not in p.parts)


def test_every_import_follows_the_package_map():
    broken = []
    for path in library_files():
        src = layer_of(module_name(path))
        for line, target in imports_of(path):
            dst = layer_of(target)
            if not allowed(src, dst):
                broken.append(f"{path.relative_to(ROOT)}:{line} ({src}) imports {target} ({dst})")
    assert not broken, "imports that break the package map:\n" + "\n".join(broken)


def test_the_rules_themselves_reject_what_they_should():
    assert not allowed("store", "providers") and not allowed("providers", "store")
    assert not allowed("analyze", "store") and not allowed("analyze", "pipeline")
    assert not allowed("media", "analyze") and allowed("analyze", "media")
    assert not allowed("cli", "widgets") and not allowed("report", "cli") and not allowed("demo", "cli")
    assert not allowed("errors", "store") and not allowed("pipeline", "report")
    assert not allowed("analyze", "testing") and allowed("cli", "testing")


@pytest.mark.parametrize("notebook", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_use_only_the_public_api(notebook):
    nb = json.loads(notebook.read_text())
    bad = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        try:
            tree = ast.parse(src)
        except SyntaxError:  # IPython magics
            tree = ast.parse("\n".join(line for line in src.splitlines() if not line.lstrip().startswith(("%", "!"))))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            bad += [n for n in names if n.startswith("vidqa") and n not in {"vidqa", "vidqa.report"}]
        if "execute(" in src or "SELECT " in src.upper():
            bad.append("raw SQL")
    assert not bad, f"{notebook.name} reaches past the public API: {bad}"


def test_no_test_module_imports_another():
    """Shared test helpers live in support modules (media_factory, fake_llm, eval_media ...), never in a test_*.py."""
    bad = []
    for path in sorted((ROOT / "tests").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            bad += [f"{path.name} imports {n}" for n in names if n.split(".")[0].startswith("test_")]
    assert not bad, bad

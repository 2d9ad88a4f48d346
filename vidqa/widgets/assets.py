"""Front-end assets of the widgets: find the ES module files and inline local imports into one module.

anywidget loads exactly one ES module per widget (no bundler, no second request), so a widget that shares code with
another (``widgets/tiers.js``: the cue tiers of the review widget and, later, of the player) inlines it:
:func:`inline_modules` replaces ``import { a, b } from "./tiers.js";`` in the main module by the dependency's source
wrapped in a function scope (its top-level ``export`` keywords dropped, its exported names returned).

Example::

    from vidqa.widgets.assets import widget_module
    _esm = widget_module("review.js", deps=["tiers.js"])
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from vidqa.config import package_root, repo_root
from vidqa.errors import VidqaError

__all__ = ["inline_modules", "widget_file", "widget_module"]

_IMPORT = re.compile(r'^import\s*\{([^}]*)\}\s*from\s*["\']\./([\w.-]+\.js)["\']\s*;?[ \t]*$', re.MULTILINE)
_EXPORT_DECL = re.compile(r"^export\s+((?:async\s+)?function\*?|const|let|class)\s+([A-Za-z_$][\w$]*)", re.MULTILINE)
_EXPORT_LIST = re.compile(r"^export\s*\{([^}]*)\}\s*;?[ \t]*$", re.MULTILINE)


def widget_file(name: str) -> Path:
    """The front-end file ``name`` (``player.js``, ``review.css`` ...): ``vidqa/_widgets/`` in a wheel, else the
    checkout's top-level ``widgets/`` (editable install)."""
    candidates = [package_root() / "_widgets" / name]
    root = repo_root()
    if root is not None:
        candidates.append(root / "widgets" / name)
    candidates.append(package_root().parent / "widgets" / name)
    for c in candidates:
        if c.is_file():
            return c
    raise VidqaError(f"The widgets' front-end file {name} is missing (looked in {', '.join(map(str, candidates))}); "
                     "reinstall vidqa.")



def _names(spec: str) -> list[tuple[str, str]]:
    """``a, b as c`` -> [(a, a), (b, c)]."""
    out = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        bits = re.split(r"\s+as\s+", part)
        out.append((bits[0].strip(), bits[-1].strip()))
    return out


def _wrap(name: str, source: str) -> tuple[str, str]:
    """The dependency as ``const <var> = (() => { ...; return {exports}; })();`` and the variable's name."""
    if re.search(r"^\s*import\s", source, re.MULTILINE):
        raise VidqaError(f"widgets/{name} imports other modules; an inlined module must be self-contained.")
    if re.search(r"^export\s+default\b", source, re.MULTILINE):
        raise VidqaError(f"widgets/{name} has a default export; an inlined module may only have named exports.")
    exported = [m.group(2) for m in _EXPORT_DECL.finditer(source)]
    for m in _EXPORT_LIST.finditer(source):
        exported += [alias for _orig, alias in _names(m.group(1))]
    body = _EXPORT_DECL.sub(lambda m: f"{m.group(1)} {m.group(2)}", source)
    body = _EXPORT_LIST.sub("", body)
    var = "__vidqa_" + re.sub(r"\W", "_", name)
    returned = ", ".join(exported)
    return f"const {var} = (() => {{\n{body}\nreturn {{ {returned} }};\n}})();\n", var


def inline_modules(main: str, deps: dict[str, str]) -> str:
    """``main`` with each ``import { ... } from "./NAME.js";`` replaced by the inlined ``deps[NAME.js]``.

    >>> inline_modules('import { f } from "./a.js";\\nexport default { render() { f(); } };',
    ...                {"a.js": "export function f() { return 1; }"}).count("import")
    0
    """
    pieces: list[str] = []
    done: dict[str, str] = {}

    def replace(m: re.Match[str]) -> str:
        name = m.group(2)
        if name not in deps:
            raise VidqaError(f"The widget module imports ./{name}, which was not given to inline_modules.")
        if name not in done:
            code, var = _wrap(name, deps[name])
            pieces.append(code)
            done[name] = var
        binds = ", ".join(orig if orig == alias else f"{orig}: {alias}" for orig, alias in _names(m.group(1)))
        return f"const {{ {binds} }} = {done[name]};"

    body = _IMPORT.sub(replace, main)
    if re.search(r"^\s*import\s", body, re.MULTILINE):
        raise VidqaError("The widget module still has an import that cannot be inlined (only `import { ... } from "
                         "\"./NAME.js\";` lines are).")
    return "".join(pieces) + body


def widget_module(main: str, deps: Iterable[str] = ()) -> str:
    """The front-end file ``main`` (see :func:`widget_file`) with ``deps`` inlined."""
    sources = {name: widget_file(name).read_text(encoding="utf-8") for name in deps}
    return inline_modules(widget_file(main).read_text(encoding="utf-8"), sources)

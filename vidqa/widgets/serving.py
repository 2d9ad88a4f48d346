"""Serving cached media to the browser through the Jupyter server that runs the kernel.

The player never hands video bytes to the widget model: the browser streams the file (with HTTP Range requests,
so seeking does not load it whole) from the server's own file routes:

- JupyterLab / Notebook: ``{baseUrl}files/<path relative to the server root>``
- Voilà: ``{baseUrl}voila/files/<path relative to Voilà's root>``; Voilà serves only allow-listed names, so run it
  with ``--VoilaConfiguration.file_allowlist="['.*\\.(mp4|webm|png)']"`` or put that setting in ``voila.json`` in
  the Jupyter config dir (see ``notebooks/voila.json``).

The media lives in the data folder (``store.root/media/...``), which may be outside the folder the server serves.
:func:`serve_media` then makes a hard link (fallback: symlink, then copy) in ``<kernel cwd>/vidqa_media/`` and
reports it. :func:`media_urls` is the pure URL computation (unit-tested); :func:`find_server` reads the running
servers' runtime files to learn the server root.

Example::

    served = serve_media(store.abspath(video.play_path), page={"base_url": "/", "app_url": "/lab",
                                                              "pathname": "/lab/tree/annotate.ipynb"})
    served.urls      # ['/files/data/media/ab/abcdef.mp4']
"""

from __future__ import annotations

import os
import posixpath
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

__all__ = ['LINK_DIR', 'ServerInfo', 'ServedMedia', 'find_server', 'relative_posix', 'is_voila_page', 'media_urls',
           'serve_media', 'link_into', 'KEEP_CELL_METADATA', 'clean_notebook', 'clean_on_save',
           'clean_notebook_on_save']

LINK_DIR = "vidqa_media"


@dataclass
class ServerInfo:
    """A running Jupyter server (from its ``jpserver-*.json`` runtime file)."""

    root_dir: Path
    base_url: str = "/"
    url: str | None = None
    pid: int | None = None


@dataclass
class ServedMedia:
    """Where the browser can fetch a media file."""

    file: Path
    """The file the server reads (the original, or a link to it)."""
    urls: list[str]
    """Candidate URLs, best first (the player lists them all as ``<source>`` elements)."""
    linked: str | None = None
    """``hardlink``, ``symlink`` or ``copy`` when the file had to be put under the served folder."""
    message: str = ""
    """What happened, in full (the player shows it on demand)."""
    rel_root: str | None = None
    rel_cwd: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    short: str = ""
    """:attr:`message` in a few words, for the player's one-line status."""


def find_server(cwd: str | Path | None = None, servers: list[dict[str, Any]] | None = None) -> ServerInfo | None:
    """The running Jupyter server whose root folder holds ``cwd`` (the kernel's working folder).

    ``servers`` defaults to :func:`jupyter_server.serverapp.list_running_servers` (runtime files in
    ``$JUPYTER_RUNTIME_DIR``, which the kernel inherits from its server). When several roots hold ``cwd`` the
    deepest wins. Returns ``None`` when no server is found (e.g. a standalone Voilà, a remote kernel).
    """
    cwd = Path(cwd or os.getcwd()).resolve()
    if servers is None:
        try:
            from jupyter_server.serverapp import list_running_servers

            servers = list(list_running_servers())
        except Exception:  # noqa: BLE001 - no jupyter_server, unreadable runtime dir: as if none ran
            servers = []
    best: ServerInfo | None = None
    for info in servers:
        root = info.get("root_dir") or info.get("notebook_dir")
        if not root:
            continue
        root_p = Path(root).expanduser().resolve()
        if not _is_within(cwd, root_p):
            continue
        if best is None or len(root_p.parts) > len(best.root_dir.parts):
            best = ServerInfo(root_p, info.get("base_url") or "/", info.get("url"), info.get("pid"))
    return best


def relative_posix(path: str | Path, root: str | Path) -> str:
    """``path`` relative to ``root`` as a POSIX string (may start with ``..``); both are made absolute."""
    return Path(os.path.relpath(os.path.abspath(path), os.path.abspath(root))).as_posix()


def is_voila_page(app_url: str = "", pathname: str = "") -> bool:
    """True when the page that shows the widget is a Voilà page (``appUrl`` ``voila/`` or a ``/voila/`` URL)."""
    return app_url.strip("/").startswith("voila") or "/voila/" in pathname


def media_urls(
    *,
    base_url: str = "/",
    app_url: str = "",
    pathname: str = "",
    rel_root: str | None = None,
    rel_cwd: str | None = None,
) -> list[str]:
    """Candidate URLs for a media file, best first. Pure: no I/O.

    Parameters
    ----------
    base_url, app_url, pathname:
        From the page: ``baseUrl`` and ``appUrl`` of the ``jupyter-config-data`` page config and
        ``location.pathname``.
    rel_root:
        The file relative to the Jupyter server root (``None`` when unknown).
    rel_cwd:
        The file relative to the kernel's working folder, i.e. the notebook's folder.

    A candidate is left out when its path escapes the served root or has a hidden (``.name``) part, which the
    servers refuse.

    Example::

        >>> media_urls(base_url="/", app_url="voila/", pathname="/voila/render/nb/a.ipynb", rel_cwd="m/v.mp4")
        ['/voila/files/nb/m/v.mp4']
    """
    base = base_url if base_url.endswith("/") else base_url + "/"
    path = unquote(pathname or "")
    out: list[str] = []

    def add(route: str, rel: str | None) -> None:
        clean = _clean_rel(rel)
        if clean is not None:
            url = base + route + quote(clean)
            if url not in out:
                out.append(url)

    if is_voila_page(app_url, path):
        # Voilà's root is the folder it was started on; the page URL names the notebook relative to it.
        marker = "/voila/render/"
        nb_dir = posixpath.dirname(path.split(marker, 1)[1]) if marker in path else ""
        add("voila/files/", _join(nb_dir, rel_cwd))
        return out
    if rel_root is not None:
        add("files/", rel_root)
        return out
    # Server root unknown: the notebook's folder from the URL, else guess the server started in that folder.
    for marker in ("/lab/tree/", "/notebooks/", "/doc/tree/", "/tree/"):
        if marker in path:
            nb_path = path.split(marker, 1)[1]
            nb_dir = posixpath.dirname(nb_path) if nb_path.endswith(".ipynb") else nb_path.strip("/")
            add("files/", _join(nb_dir, rel_cwd))
            break
    add("files/", rel_cwd)
    return out


def serve_media(
    media: str | Path,
    *,
    page: dict[str, Any] | None = None,
    cwd: str | Path | None = None,
    server: ServerInfo | None | bool = True,
    link_dir: str | Path | None = None,
) -> ServedMedia:
    """Make ``media`` reachable through the server that shows the page and return its URLs.

    ``page`` holds what the front-end reported (``base_url``, ``app_url``, ``pathname``). ``server=True``
    looks the server up with :func:`find_server`; pass a :class:`ServerInfo` or ``None`` to skip the lookup.
    When no URL can reach the file (outside every served root, or under a hidden folder) it is linked into
    ``link_dir`` (default ``<cwd>/vidqa_media``) and the URLs are computed for the link.
    """
    media = Path(media).resolve()
    page = page or {}
    cwd = Path(cwd or os.getcwd()).resolve()
    if server is True:
        server = find_server(cwd)
    server_root = server.root_dir if isinstance(server, ServerInfo) else None
    base_url = page.get("base_url") or (server.base_url if isinstance(server, ServerInfo) else "/")
    voila = is_voila_page(page.get("app_url", ""), page.get("pathname", ""))
    if voila:
        server_root = None  # Voilà's URL names the notebook relative to Voilà's own root

    def compute(path: Path) -> tuple[list[str], str | None, str]:
        rel_root = relative_posix(path, server_root) if server_root else None
        rel_cwd = relative_posix(path, cwd)
        urls = media_urls(base_url=base_url, app_url=page.get("app_url", ""), pathname=page.get("pathname", ""),
                          rel_root=rel_root, rel_cwd=rel_cwd)
        return urls, rel_root, rel_cwd

    urls, rel_root, rel_cwd = compute(media)
    if urls:
        return ServedMedia(media, urls, None, "", rel_root, rel_cwd, {"voila": voila})
    folder = Path(link_dir) if link_dir else cwd / LINK_DIR
    target, how = link_into(media, folder)
    urls, rel_root, rel_cwd = compute(target)
    msg = (f"The video is outside the folder Jupyter serves; it was {_how_words(how)} {target} "
           f"(delete that folder to free it).")
    short = f"Video {_how_words(how).split()[0]} into {folder.name}/ (outside the served folder)."
    if not urls:
        msg = (f"Cannot serve {media} to the browser: no URL of this Jupyter server reaches it, even after "
               f"linking it to {target}. Start Jupyter in a folder that holds the notebook.")
        short = "Cannot serve the video to the browser."
    return ServedMedia(target, urls, how, msg, rel_root, rel_cwd, {"voila": voila}, short=short)


def link_into(media: str | Path, folder: str | Path) -> tuple[Path, str]:
    """Put ``media`` into ``folder`` as a hard link (fallback symlink, then copy); returns (path, how).

    An existing entry of the same name is reused when it is the same file (same inode or same size).
    """
    media = Path(media).resolve()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / media.name
    if target.exists():
        try:
            if os.path.samefile(target, media):
                return target, "hardlink" if not target.is_symlink() else "symlink"
            if target.stat().st_size == media.stat().st_size:
                return target, "copy"
        except OSError:
            pass
        target.unlink()
    tmp = folder / f".{media.name}.tmp-{os.getpid()}"
    for how in ("hardlink", "symlink", "copy"):
        try:
            if tmp.exists() or tmp.is_symlink():
                tmp.unlink()
            if how == "hardlink":
                os.link(media, tmp)
            elif how == "symlink":
                os.symlink(media, tmp)
            else:
                shutil.copy2(media, tmp)
            os.replace(tmp, target)
            return target, how
        except OSError:
            continue
    raise OSError(f"Could not link or copy {media} into {folder}.")


# --- helpers ---------------------------------------------------------------------------------------------------
def _is_within(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def _join(a: str, b: str | None) -> str | None:
    if b is None:
        return None
    return posixpath.normpath(posixpath.join(a, b)) if a else posixpath.normpath(b)


def _clean_rel(rel: str | None) -> str | None:
    """A normalised relative path the servers will serve, or ``None`` (escapes the root / hidden part)."""
    if rel is None:
        return None
    norm = posixpath.normpath(rel)
    if norm.startswith("/") or norm == "." or norm.split("/")[0] == "..":
        return None
    if any(part.startswith(".") for part in norm.split("/")):
        return None
    return norm


def _how_words(how: str) -> str:
    return {"hardlink": "hard-linked to", "symlink": "symlinked to", "copy": "copied to"}.get(how, how)


# --- keeping the shipped notebooks clean -------------------------------------------------------------------------
KEEP_CELL_METADATA = ("tags",)


def clean_notebook(nb: dict[str, Any], original: dict[str, Any] | None = None) -> dict[str, Any]:
    """``nb`` without outputs, execution counts, widget state or volatile metadata (in place; also returned).

    The notebook-level metadata is ``original``'s when given (what the tracked file had), else only ``kernelspec``
    and ``language_info.name``; cells keep only their ``tags``.
    """
    for cell in nb.get("cells", []):
        meta = cell.get("metadata") or {}
        cell["metadata"] = {k: meta[k] for k in KEEP_CELL_METADATA if k in meta}
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    if original is not None:
        nb["metadata"] = original.get("metadata", {})
    else:
        meta = nb.get("metadata") or {}
        clean: dict[str, Any] = {}
        if "kernelspec" in meta:
            clean["kernelspec"] = meta["kernelspec"]
        lang = (meta.get("language_info") or {}).get("name")
        if lang:
            clean["language_info"] = {"name": lang}
        nb["metadata"] = clean
    return nb


def clean_on_save(folders: list[str | Path]):
    """A Jupyter ``FileContentsManager.pre_save_hook`` that saves notebooks directly in ``folders`` clean
    (:func:`clean_notebook`, keeping the notebook metadata the file had); other notebooks are saved untouched.

    In a ``jupyter_server_config.py``::

        from vidqa.widgets.serving import clean_on_save
        c.FileContentsManager.pre_save_hook = clean_on_save(["/path/to/notebooks"])
    """
    import json

    roots = {Path(f).expanduser().resolve() for f in folders}

    def hook(model: dict[str, Any], path: str, contents_manager: Any, **_kw: Any) -> None:
        if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
            return
        file = (Path(getattr(contents_manager, "root_dir", ".")) / path).resolve()
        if file.parent not in roots:
            return
        original = None
        if file.is_file():
            try:
                original = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                original = None
        clean_notebook(model["content"], original)

    return hook


def clean_notebook_on_save(model: dict[str, Any], path: str, contents_manager: Any, **kw: Any) -> None:
    """A ``FileContentsManager.pre_save_hook`` for the repository's own ``notebooks/``: they are saved clean.

    Opening and running ``notebooks/annotate.ipynb`` in JupyterLab would otherwise write outputs and the kernel's
    ``language_info`` into the tracked file (autosave). Other notebooks are saved untouched::

        jupyter lab --FileContentsManager.pre_save_hook=vidqa.widgets.serving.clean_notebook_on_save
    """
    from vidqa.config import repo_root

    root = repo_root()
    if root is not None:
        clean_on_save([root / "notebooks"])(model, path, contents_manager, **kw)

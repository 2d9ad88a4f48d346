"""On-screen text: a cheap "is there text?" gate, a change test, and tesseract OCR of video frames.

OCR costs ~0.2-0.7 s a frame (tesseract via :mod:`pytesseract`, one thread), so it runs only where it can pay:
:func:`ocr_frames` reads a frame when it starts a new shot (``reason == "cut"``) or when :func:`likely_has_text`
sees text-like strokes, and skips frames whose text regions did not change (:func:`text_changed`), extending the
time span of the text it already read instead.

- :func:`text_regions` / :func:`likely_has_text` (~10-20 ms at 720p): on a 640-px-wide grey image, morphological
  top-hat and black-hat (light-on-dark and dark-on-light strokes), Otsu threshold, connected components shaped
  like characters, chained left to right when they have similar heights, share a centre line and sit close
  together. A chain of at least 4 high-contrast characters of consistent height is a text line. Regular natural
  textures (windows, animal spots) mostly fail the contrast or height-consistency test; a few slip through,
  which only costs an OCR call.
- :func:`ocr_image`: grayscale (upscaled ×2 when the text or the frame is small), tesseract ``--psm 11`` (sparse
  text: scoreboards, captions, signs anywhere in the frame), words below ``min_confidence`` dropped, words
  grouped into lines by tesseract's block/paragraph/line numbers and then by geometry, so ``HOME 2 - 1 AWAY``
  comes back as one :class:`TextBox`. If nothing confident is read, an Otsu-binarised, inverted variant is tried
  too and the better-scoring reading is kept (tesseract 5 already copes with most light-on-dark text).

Example::

    from vidqa.analyze.ocr import ocr_image, ocr_frames
    for tb in ocr_image(frame_bgr):
        print(tb.text, tb.confidence, tb.box)     # 'HOME 2 - 1 AWAY' 0.94 (0.18, 0.44, 0.82, 0.56)
    events = ocr_frames(sample_frames("match.mp4"))   # VisualEvent(kind="text", ...)
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from vidqa.errors import ModelUnavailableError, StageError

__all__ = ["TextBox", "TextSpanReader", "likely_has_text", "ocr_frames", "ocr_image", "read_text", "text_changed",
           "text_regions"]

_GATE_WIDTH = 640
_KERNEL = cv2.getStructuringElement(cv2.MORPH_RECT, (15, 15))
_MIN_CHARS = 4
_MIN_CONTRAST = 90.0
_MAX_HEIGHT_CV = 0.15


@dataclass
class TextBox:
    """One line of text read from an image."""

    text: str
    confidence: float
    """Mean tesseract confidence of the line's words, 0..1."""
    box: tuple[float, float, float, float]
    """(x0, y0, x1, y1) normalised to 0..1 of the image."""
    words: list[tuple[str, float, tuple[float, float, float, float]]] = field(default_factory=list)
    """(word, confidence 0..1, normalised box) in reading order."""
    readings: dict[str, Any] = field(default_factory=dict)
    """Each recogniser's own reading ``[text, confidence]`` (PP-OCR lines only)."""
    source: str = "tesseract"
    """Which reader produced the text: ``tesseract`` (full frame), or for :func:`read_text` with PP-OCR lines
    ``both`` (the two recognisers agree), ``both~`` (agree up to O/0-like confusions), ``ppocr``, ``tesseract``."""

    @property
    def box_norm(self) -> tuple[float, float, float, float]:
        """Alias of :attr:`box`."""
        return self.box


# --- gate ------------------------------------------------------------------------------------------------------
def _gray(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim == 2:
        return img if img.dtype == np.uint8 else np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim != 3 or img.shape[0] == 0 or img.shape[1] == 0:
        raise ValueError(f"expected an image (H, W[, 3]), got shape {img.shape}")
    if img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    if img.shape[2] == 1:
        return img[:, :, 0]
    return cv2.cvtColor(img[:, :, :3], cv2.COLOR_BGR2GRAY)


def _find(parent: np.ndarray, a: int) -> int:
    """Union-find root with path halving."""
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = int(parent[a])
    return a


def _chains(gray: np.ndarray) -> list[tuple[float, float, float, float, int, float]]:
    """Text-line candidates in ``gray`` pixels: (x0, y0, x1, y1, n_chars, char_height)."""
    out: list[tuple[float, float, float, float, int, float]] = []
    for op in (cv2.MORPH_TOPHAT, cv2.MORPH_BLACKHAT):
        th = cv2.morphologyEx(gray, op, _KERNEL)
        t, bw = cv2.threshold(th, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        if t < 40:
            _, bw = cv2.threshold(th, 40, 255, cv2.THRESH_BINARY)
        n, _lab, st, _ = cv2.connectedComponentsWithStats(bw, connectivity=8)
        if n <= 2:
            continue
        st = st[1:]
        _, _, w, h, area = st.T
        # bold and serif letters touch: a component may hold a few characters (counted as w / 0.75 h below)
        ok = (h >= 7) & (h <= 80) & (w >= 2) & (w <= 4.0 * h) & (area >= 0.15 * w * h)
        c = st[ok]
        if len(c) < 2:
            continue
        # stroke contrast ~ mean top/black-hat response over the component (its bounding box sum, from an
        # integral image, over its pixel count: the hat response is ~0 off the strokes)
        ii = cv2.integral(th)
        cx0, cy0, cx1, cy1 = c[:, 0], c[:, 1], c[:, 0] + c[:, 2], c[:, 1] + c[:, 3]
        box_sum = ii[cy1, cx1] - ii[cy0, cx1] - ii[cy1, cx0] + ii[cy0, cx0]
        cc = box_sum / np.maximum(c[:, 4], 1)
        keep = cc >= 40
        c, cc = c[keep], cc[keep]
        if len(c) < 2:
            continue
        if len(c) > 600:  # busy texture: keep the largest blobs, bound the pairwise test
            sel = np.argsort(-c[:, 4])[:600]
            c, cc = c[sel], cc[sel]
        x0 = c[:, 0].astype(np.float64)
        y0 = c[:, 1].astype(np.float64)
        hc = c[:, 3].astype(np.float64)
        x1, cy = x0 + c[:, 2], y0 + hc / 2
        mh = np.maximum(hc[:, None], hc[None, :])
        adj = (mh / np.minimum(hc[:, None], hc[None, :]) < 1.4)
        adj &= np.abs(cy[:, None] - cy[None, :]) < 0.25 * mh
        gap = x0[None, :] - x1[:, None]
        adj &= (gap > -0.15 * mh) & (gap < 0.9 * mh)
        adj |= adj.T
        m = len(c)
        parent = np.arange(m)
        for a, b in zip(*np.nonzero(np.triu(adj, 1))):
            ra, rb = _find(parent, int(a)), _find(parent, int(b))
            if ra != rb:
                parent[ra] = rb
        roots = np.array([_find(parent, a) for a in range(m)])
        n_chars = np.clip(np.round(c[:, 2] / (0.75 * np.maximum(c[:, 3], 1))), 1, 6)
        for r in np.unique(roots):
            mem = np.nonzero(roots == r)[0]
            if n_chars[mem].sum() < _MIN_CHARS or len(mem) < 2:
                continue
            bx0, by0, bx1, by1 = x0[mem].min(), y0[mem].min(), x1[mem].max(), (y0[mem] + hc[mem]).max()
            if bx1 - bx0 < 2 * (by1 - by0):
                continue
            if cc[mem].mean() < _MIN_CONTRAST or hc[mem].std() / hc[mem].mean() > _MAX_HEIGHT_CV:
                continue
            out.append((bx0, by0, bx1, by1, int(n_chars[mem].sum()), float(np.median(hc[mem]))))
    return out


_analysis_cache: list[tuple[np.ndarray, list[tuple[float, float, float, float, int, float]], np.ndarray]] = []


def _analyse(image: np.ndarray) -> tuple[list[tuple[float, float, float, float, int, float]], np.ndarray]:
    """(text-line candidates with normalised boxes and char height in original pixels, small edge map)."""
    for img, regions, edges in _analysis_cache:
        if img is image:
            return regions, edges
    gray = _gray(image)
    h, w = gray.shape
    s = min(1.0, _GATE_WIDTH / w)
    small = cv2.resize(gray, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA) if s < 1 \
        else gray
    sh, sw = small.shape
    regions = [(x0 / sw, y0 / sh, x1 / sw, y1 / sh, n, ch / s) for x0, y0, x1, y1, n, ch in _chains(small)]
    grad = cv2.morphologyEx(small, cv2.MORPH_GRADIENT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    edges = grad >= 40
    _analysis_cache.append((image, regions, edges))
    del _analysis_cache[:-4]
    return regions, edges


def text_regions(image: np.ndarray) -> list[tuple[float, float, float, float]]:
    """Boxes (normalised x0, y0, x1, y1) of likely text lines in a BGR or grey image, by stroke analysis only.

    >>> import numpy as np, cv2
    >>> img = np.zeros((360, 640, 3), np.uint8)
    >>> _ = cv2.putText(img, "HOME 2 - 1 AWAY", (40, 200), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 4)
    >>> len(text_regions(img)) >= 1
    True
    """
    return [r[:4] for r in _analyse(image)[0]]


def likely_has_text(image: np.ndarray) -> bool:
    """Cheap test (~10-20 ms for 720p) whether ``image`` probably shows text worth OCR-ing.

    >>> likely_has_text(np.full((360, 640, 3), 90, np.uint8))
    False
    """
    return bool(_analyse(image)[0])


def _box_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two binary edge maps (1 = the same strokes)."""
    union = int((a | b).sum())
    return float((a & b).sum()) / union if union else 1.0


def text_changed(prev_image: np.ndarray | None, image: np.ndarray, *, threshold: float = 0.15) -> bool:
    """Whether the text-like regions of ``image`` differ from ``prev_image`` (so OCR must run again).

    Compares the stroke (edge) maps of both frames inside the union of both frames' text regions, in cells about
    one character wide: if the strokes of any cell overlap less than ``1 - threshold`` (intersection over
    union), the text changed. A static
    caption over moving video is "unchanged"; a new, moved or edited line (one digit of a score) is "changed". With
    no text region in either frame nothing changed. ``prev_image=None`` is always a change.

    >>> a = np.zeros((360, 640, 3), np.uint8)
    >>> _ = cv2.putText(a, "HOME 2 - 1 AWAY", (40, 200), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 4)
    >>> b = np.zeros_like(a)
    >>> _ = cv2.putText(b, "HOME 3 - 1 AWAY", (40, 200), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 4)
    >>> text_changed(a, a.copy()), text_changed(a, b), text_changed(a, np.zeros_like(a))
    (False, True, True)
    """
    if prev_image is None:
        return True
    r1, e1 = _analyse(prev_image)
    r2, e2 = _analyse(image)
    if not r1 and not r2:
        return False
    if e1.shape != e2.shape:
        return True
    sh, sw = e2.shape
    for x0, y0, x1, y1, *_ in r1 + r2:
        px0, py0 = max(0, int(x0 * sw) - 2), max(0, int(y0 * sh) - 2)
        px1, py1 = min(sw, int(np.ceil(x1 * sw)) + 2), min(sh, int(np.ceil(y1 * sh)) + 2)
        cell = max(4, (py1 - py0) * 2 // 3)
        for cx in range(px0, px1, cell):
            a = e1[py0:py1, cx:min(px1, cx + cell)]
            b = e2[py0:py1, cx:min(px1, cx + cell)]
            if a.sum() + b.sum() < 6:
                continue
            if _box_similarity(a, b) < 1.0 - threshold:
                return True
    return False


# --- OCR -------------------------------------------------------------------------------------------------------
_ENV_LOCK = threading.Lock()


_WRAPPERS: dict[str, str] = {}


def _one_thread_wrapper(real: str) -> str:
    """A tiny script that runs ``real`` (tesseract) with ``OMP_THREAD_LIMIT=1`` set for that child only."""
    import hashlib
    import shlex
    import shutil
    import stat
    import tempfile

    from vidqa.config import settings

    found = shutil.which(real) or real
    if found in _WRAPPERS and os.path.exists(_WRAPPERS[found]):
        return _WRAPPERS[found]
    folder = settings().cache_dir / "bin"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"tesseract-1thread-{hashlib.sha256(found.encode()).hexdigest()[:12]}"
    script = f'#!/bin/sh\nOMP_THREAD_LIMIT=1 exec {shlex.quote(found)} "$@"\n'
    if not path.exists() or path.read_text() != script:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tesseract-")
        with os.fdopen(fd, "w") as f:
            f.write(script)
        os.chmod(tmp, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
        os.replace(tmp, path)
    _WRAPPERS[found] = str(path)
    return str(path)


@contextlib.contextmanager
def _one_thread_env():
    """One thread per tesseract run, for the tesseract child process only.

    Parallelism belongs to the caller, and OpenMP oversubscribes 2 cores. ``OMP_THREAD_LIMIT`` must never be set in
    this process's environment, not even for a moment: an OpenMP runtime initialised meanwhile (CTranslate2 behind
    faster-whisper, onnxruntime, OpenCV) keeps the limit for good and then transcribes differently, or nothing. So
    pytesseract is pointed at a wrapper script that sets it for the child alone.
    """
    import pytesseract

    with _ENV_LOCK:
        module = pytesseract.pytesseract
        old = module.tesseract_cmd
        if os.name == "posix":
            module.tesseract_cmd = _one_thread_wrapper(old)
        try:
            yield
        finally:
            module.tesseract_cmd = old


def _tesseract(image: np.ndarray, lang: str, psm: int) -> dict[str, list[Any]]:
    try:
        import pytesseract
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ModelUnavailableError("pytesseract is not installed: pip install pytesseract") from exc
    try:
        with _one_thread_env():
            return pytesseract.image_to_data(image, lang=lang, config=f"--psm {int(psm)}",
                                             output_type=pytesseract.Output.DICT)
    except pytesseract.TesseractNotFoundError as exc:
        raise ModelUnavailableError(
            "tesseract is not installed: apt-get install tesseract-ocr tesseract-ocr-eng (or disable OCR)"
        ) from exc
    except pytesseract.TesseractError as exc:
        msg = str(exc)
        if "Failed loading language" in msg or "Error opening data file" in msg:
            raise ModelUnavailableError(
                f"tesseract has no language data for {lang!r}: apt-get install tesseract-ocr-{lang.split('+')[0]}"
            ) from exc
        raise StageError(f"tesseract failed: {msg[-300:]}") from exc


_ALNUM = re.compile(r"[0-9A-Za-z\u00C0-\uFFFF]")


def _lines(data: dict[str, list[Any]], scale: float, w: int, h: int, min_conf: float) -> list[TextBox]:
    """Group tesseract words into lines; boxes normalised to the original ``w`` × ``h`` image."""
    groups: dict[tuple[int, int, int], list[tuple[str, float, float, float, float, float]]] = {}
    for i, txt in enumerate(data.get("text", [])):
        word = (txt or "").strip()
        try:
            conf = float(data["conf"][i])
        except (TypeError, ValueError):
            conf = -1.0
        if not word or conf < max(0.0, min_conf - 30.0):
            continue
        x0, y0 = data["left"][i] / scale, data["top"][i] / scale
        x1, y1 = x0 + data["width"][i] / scale, y0 + data["height"][i] / scale
        key = (int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i]))
        groups.setdefault(key, []).append((word, conf, x0, y0, x1, y1))
    lines = []
    for ws in groups.values():
        ws = sorted(ws, key=lambda t: t[2])
        strong = [i for i, t in enumerate(ws) if t[1] >= min_conf]
        if not strong:
            continue
        # a weak word (e.g. a "0" tesseract half-suspects is an "O") is kept only between two confident ones
        ws = [t for i, t in enumerate(ws) if t[1] >= min_conf or strong[0] < i < strong[-1]]
        lines.append(ws)
    # merge fragments of one visual line that tesseract put in different blocks (sparse mode does this)
    lines.sort(key=lambda ws: (min(t[3] for t in ws), min(t[2] for t in ws)))
    merged: list[list[tuple[str, float, float, float, float, float]]] = []
    for ws in lines:
        lx0, ly0 = min(t[2] for t in ws), min(t[3] for t in ws)
        lx1, ly1 = max(t[4] for t in ws), max(t[5] for t in ws)
        for m in merged:
            mx0, my0 = min(t[2] for t in m), min(t[3] for t in m)
            mx1, my1 = max(t[4] for t in m), max(t[5] for t in m)
            hh = max(ly1 - ly0, my1 - my0)
            overlap = min(ly1, my1) - max(ly0, my0)
            gap = max(lx0 - mx1, mx0 - lx1)
            if overlap > 0.5 * min(ly1 - ly0, my1 - my0) and gap < 1.5 * hh:
                m.extend(ws)
                m.sort(key=lambda t: t[2])
                break
        else:
            merged.append(list(ws))
    out: list[TextBox] = []
    for ws in merged:
        text = " ".join(t[0] for t in ws)
        n_alnum = len(_ALNUM.findall(text))
        conf = float(np.mean([t[1] for t in ws])) / 100.0
        if n_alnum == 0 or (n_alnum == 1 and len(text) <= 2 and conf < 0.85):
            continue  # stray marks: "|", "¢", a lone letter in texture
        x0, y0 = min(t[2] for t in ws), min(t[3] for t in ws)
        x1, y1 = max(t[4] for t in ws), max(t[5] for t in ws)
        if n_alnum <= 2 and not any(c.isdigit() for c in text) and y1 - y0 < 12:
            continue  # a tiny two-letter "word" in photo texture ("is" in fur); digits (scores) are kept
        box = (max(0.0, x0 / w), max(0.0, y0 / h), min(1.0, x1 / w), min(1.0, y1 / h))
        words = [(t[0], round(t[1] / 100.0, 3), (t[2] / w, t[3] / h, t[4] / w, t[5] / h)) for t in ws]
        out.append(TextBox(text=text, confidence=round(conf, 3), box=box, words=words))
    out.sort(key=lambda tb: (round(tb.box[1], 2), tb.box[0]))
    return out


def _score(lines: Sequence[TextBox]) -> float:
    return sum(len(_ALNUM.findall(tb.text)) * tb.confidence for tb in lines)


def ocr_image(
    image_bgr: np.ndarray,
    *,
    lang: str = "eng",
    psm: int = 11,
    min_confidence: float = 60,
    upscale: bool | None = None,
    try_inverted: bool = True,
) -> list[TextBox]:
    """Lines of text in a BGR (or grey) image, top to bottom, each with its normalised box.

    ``min_confidence`` is tesseract's per-word confidence (0..100); :attr:`TextBox.confidence` is 0..1.
    ``upscale=None`` doubles the image when its text (estimated by :func:`text_regions`) is under 20 px tall, or
    when there is no estimate and the frame is under 480 px tall. ``psm`` 11 = sparse text (6 = one uniform block,
    7 = one line). Raises :class:`~vidqa.errors.ModelUnavailableError` when tesseract or the language is missing.
    Each tesseract run gets ``OMP_THREAD_LIMIT=1`` (one thread), without leaving it in this process' environment.

    >>> import numpy as np, cv2
    >>> img = np.full((200, 900, 3), 255, np.uint8)
    >>> _ = cv2.putText(img, "HOME 2 - 1 AWAY", (30, 120), cv2.FONT_HERSHEY_SIMPLEX, 2.2, (0, 0, 0), 5)
    >>> [tb.text for tb in ocr_image(img)]
    ['HOME 2 - 1 AWAY']
    """
    gray = _gray(image_bgr)
    h, w = gray.shape
    if upscale is None:
        regions = _analyse(image_bgr)[0] if np.asarray(image_bgr).ndim == 3 else _analyse(gray)[0]
        if regions:
            upscale = float(np.median([r[5] for r in regions])) < 20.0
        else:
            upscale = h < 480
    scale = 2.0 if upscale else 1.0
    src = cv2.resize(gray, (w * 2, h * 2), interpolation=cv2.INTER_CUBIC) if upscale else gray
    best = _lines(_tesseract(src, lang, psm), scale, w, h, min_confidence)
    if try_inverted and not any(tb.confidence >= 0.75 for tb in best):
        _, binar = cv2.threshold(src, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        if binar.mean() < 127:  # light text on dark: make it dark on light, as tesseract prefers
            binar = 255 - binar
        alt = _lines(_tesseract(binar, lang, psm), scale, w, h, min_confidence)
        if _score(alt) > _score(best):
            best = alt
    return best


def _norm_text(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip().lower()


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def read_text(image_bgr: np.ndarray, *, lang: str = "eng", engine: str = "auto", psm: int = 11,
              min_confidence: float = 60) -> list[TextBox]:
    """Lines of text in one frame with the chosen ``engine``.

    ``auto``: PP-OCR line detection + per-line recognition (:mod:`vidqa.analyze.textlines`) when
    ``rapidocr-onnxruntime`` is installed, else full-frame tesseract; ``rapidocr``: the former (raises if missing);
    ``tesseract``: :func:`ocr_image`. ``min_confidence`` is 0..100 as in :func:`ocr_image`.
    """
    from vidqa.analyze import textlines

    if engine == "tesseract" or (engine == "auto" and not textlines.available()):
        return ocr_image(image_bgr, lang=lang, psm=psm, min_confidence=min_confidence)
    if engine not in ("auto", "rapidocr"):
        raise StageError(f"Unknown OCR engine {engine!r}: use 'auto', 'rapidocr' or 'tesseract'.")
    return textlines.read_lines(image_bgr, lang=lang, min_confidence=min_confidence / 100.0)


# the span reader lives in its own module; re-exported here (it imports this one)
from vidqa.analyze.textspans import TextSpanReader, ocr_frames  # noqa: E402

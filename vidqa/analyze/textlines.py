"""Text lines found by a real text detector, then read line by line: PP-OCR detection + two recognisers.

Full-frame tesseract (``--psm 11``) misses panels on plain backgrounds and garbles lines over footage; photo
texture gives spurious reads. This module first **finds** the text lines with the PP-OCRv4 detection model that
the PyPI package ``rapidocr-onnxruntime`` ships (a DB segmentation net, ONNX, one thread, ≈ 0.25 s a 720p frame),
then **reads** every line crop with

- PP-OCRv4's recogniser (CRNN, ≈ 10 ms a line: good on any background, but it sometimes drops spaces and reads
  ``0`` as ``O``), and
- tesseract on the crop as one line (``--psm 7``, polarity normalised, ≈ 0.1 s a line: good spacing and digits on
  clean crops),

and keeps, per line, the reading both agree on (ignoring spaces), else the more confident, else nothing.
Boxes that lie on one visual line close together are joined into one line. Lines whose reading has fewer than
two letters or digits, or whose confidence is below ``min_confidence``, are dropped (photo texture).

Example::

    from vidqa.analyze.textlines import read_lines
    [(tb.text, tb.confidence) for tb in read_lines(frame_bgr)]   # [('VIKINGS 3 - 1 PUMAS', 0.97)]
"""

from __future__ import annotations

import difflib
import importlib.util
import re
import threading
from typing import Any

import cv2
import numpy as np

from vidqa.errors import ModelUnavailableError

__all__ = ["available", "read_lines", "recheck"]

_ENGINE: Any = None
_LOCK = threading.Lock()
_ALNUM = re.compile(r"[0-9A-Za-z]")


def available() -> bool:
    """Whether the PP-OCR models (``rapidocr-onnxruntime``) are installed."""
    return importlib.util.find_spec("rapidocr_onnxruntime") is not None


def _engine() -> Any:
    global _ENGINE
    with _LOCK:
        if _ENGINE is None:
            try:
                import logging

                from rapidocr_onnxruntime import RapidOCR
            except ImportError as exc:
                raise ModelUnavailableError(
                    "The PP-OCR text detector ships in the PyPI package 'rapidocr-onnxruntime': "
                    "`pip install rapidocr-onnxruntime==1.4.4` (or use ocr_engine='tesseract')."
                ) from exc
            _ENGINE = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1, use_cls=False,
                               det_limit_side_len=960, det_limit_type="max")
            logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        return _ENGINE


def _order(box: np.ndarray) -> np.ndarray:
    return np.asarray(box, np.float32).reshape(4, 2)


def _crop(img: np.ndarray, quad: np.ndarray, pad: float = 0.0) -> np.ndarray:
    q = _order(quad)
    w = int(max(np.linalg.norm(q[0] - q[1]), np.linalg.norm(q[2] - q[3])))
    h = int(max(np.linalg.norm(q[0] - q[3]), np.linalg.norm(q[1] - q[2])))
    w, h = max(w, 2), max(h, 2)
    p = pad * h
    dst = np.array([[p, p], [w + p, p], [w + p, h + p], [p, h + p]], np.float32)
    m = cv2.getPerspectiveTransform(q, dst)
    return cv2.warpPerspective(img, m, (int(w + 2 * p), int(h + 2 * p)), borderMode=cv2.BORDER_REPLICATE,
                               flags=cv2.INTER_CUBIC)


def _tesseract_line(crop_bgr: np.ndarray, lang: str) -> tuple[str, float]:
    """(text, confidence 0..1) of one line crop read by tesseract ``--psm 7``."""
    from vidqa.analyze.ocr import _tesseract

    g = cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2GRAY)
    h = g.shape[0]
    target = 56
    if h != target:
        f = target / max(1, h)
        g = cv2.resize(g, (max(2, round(g.shape[1] * f)), target),
                       interpolation=cv2.INTER_CUBIC if f > 1 else cv2.INTER_AREA)
    _, bw = cv2.threshold(g, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    edge = np.concatenate([bw[0], bw[-1], bw[:, 0], bw[:, -1]])
    if edge.mean() < 127:  # light text on a dark plate: tesseract prefers dark on light
        g = 255 - g
    g = cv2.copyMakeBorder(g, 16, 16, 16, 16, cv2.BORDER_REPLICATE)
    data = _tesseract(g, lang, 7)
    words, confs = [], []
    for txt, c in zip(data.get("text", []), data.get("conf", [])):
        txt = (txt or "").strip()
        try:
            c = float(c)
        except (TypeError, ValueError):
            c = -1.0
        if txt and c >= 0:
            words.append(txt)
            confs.append(c)
    if not words:
        return "", 0.0
    return " ".join(words), float(np.mean(confs)) / 100.0


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s).upper()


_TO_DIGIT = str.maketrans({"O": "0", "o": "0", "D": "0", "I": "1", "l": "1", "|": "1", "S": "5", "Z": "2", "B": "8"})


def _confusable(s: str) -> str:
    return _squash(s).translate(_TO_DIGIT)


def _respace_like(pp_text: str, tess_text: str) -> str:
    """PP-OCR's characters with tesseract's word breaks (PP-OCR drops spaces; tesseract keeps them)."""
    a, b = _confusable(tess_text), _confusable(pp_text)
    chars = re.sub(r"\s+", "", pp_text)
    cuts, k = [], 0
    for tok in tess_text.split()[:-1]:
        k += len(tok)
        cuts.append(k)
    mapping: dict[int, int] = {}
    for tag, i1, i2, j1, _j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            for d in range(i2 - i1):
                mapping[i1 + d] = j1 + d
    pcuts = set()
    for c in cuts:
        if c - 1 in mapping:
            pcuts.add(mapping[c - 1] + 1)
        elif c in mapping:
            pcuts.add(mapping[c])
    out = "".join(ch + (" " if (i + 1) in pcuts and i + 1 < len(chars) else "") for i, ch in enumerate(chars))
    return _respace(out)


def _fix_tokens(text: str) -> str:
    """Digits read as letters inside numbers (``3O`` -> ``30``; a lone ``O`` beside ``-`` -> ``0``)."""
    toks = text.split()
    out = []
    for i, tok in enumerate(toks):
        near_sep = any(0 <= j < len(toks) and (toks[j] in ("-", ":", "–") or toks[j].isdigit()) for j in (i - 1, i + 1))
        confusable_only = all(c in "OoDIl|SZB" or c.isdigit() for c in tok)
        if confusable_only and (any(c.isdigit() for c in tok) or (len(tok) <= 2 and near_sep)):
            tok = tok.translate(_TO_DIGIT)
        out.append(tok)
    return " ".join(out)


def _choose(pp: tuple[str, float], te: tuple[str, float]) -> tuple[str, float, str]:
    """Pick one reading of a line from PP-OCR's and tesseract's: (text, confidence, which)."""
    (pt, pc), (tt, tc) = pp, te
    pt, tt = re.sub(r"\s+", " ", pt).strip(), re.sub(r"\s+", " ", tt).strip()
    if not tt:
        return _fix_tokens(_respace(pt)), pc, "ppocr"
    if not pt:
        return _fix_tokens(tt), tc, "tesseract"
    if _squash(tt) == _squash(pt):
        return _fix_tokens(tt), max(pc, tc), "both"  # same characters: tesseract's spacing
    cp, ct = _confusable(pt), _confusable(tt)
    if cp == ct:  # O/0, I/1 confusions only: tesseract's spacing, characters from context
        return _fix_tokens(tt), 0.5 * (pc + tc), "both~"
    similar = difflib.SequenceMatcher(None, cp, ct, autojunk=False).ratio()
    if pc >= 0.8 and similar >= 0.75:  # PP-OCR's characters (the more reliable recogniser), tesseract's breaks
        return _fix_tokens(_respace_like(pt, tt)), pc * (0.5 + 0.5 * similar), "ppocr"
    if pc >= 0.8 and (tc < 0.75 or len(_ALNUM.findall(pt)) >= len(_ALNUM.findall(tt))):
        return _fix_tokens(_respace(pt)), pc, "ppocr"
    if tc >= 0.75:
        return _fix_tokens(tt), tc, "tesseract"
    return (_fix_tokens(_respace(pt)), pc, "ppocr") if pc >= tc else (_fix_tokens(tt), tc, "tesseract")


def _respace(pp_text: str) -> str:
    """Whitespace normalised, words glued to numbers split, a score's dash spaced (``2-1`` -> ``2 - 1``); words
    joined by hyphens (``real-world``) are left alone."""
    return _score_dash(_split_glued(re.sub(r"\s+", " ", pp_text).strip()))


def _score_dash(text: str) -> str:
    """A score's dash is spaced the same way however tight the font: ``1-1`` -> ``1 - 1``."""
    return re.sub(r"(?<=\d)\s*-\s*(?=\d)", " - ", text)


def _split_glued(text: str) -> str:
    """Spaces PP-OCR dropped between a word and a number: ``ROVERS2-3WOLVES`` -> ``ROVERS 2 - 3 WOLVES``,
    ``PLATFORM3`` -> ``PLATFORM 3``, ``COMETS 2 - OTIGERS`` -> ``COMETS 2 - 0 TIGERS`` (a word of at least three
    letters glued to digits; short codes such as ``B2`` or ``4K`` stay)."""
    s = re.sub(r"(?<=[A-Za-z]{3})(?=\d)", " ", text)
    s = re.sub(r"(?<=\d)(?=[A-Za-z]{3})", " ", s)
    s = re.sub(r"(?<=[0-9O])\s*-\s*(?=[0-9O])", " - ", s)
    s = re.sub(r"(?<=- )O(?=[A-Z]{3})", "0 ", s)
    s = re.sub(r"(?<=[A-Z]{3})O(?= - )", " 0", s)
    return re.sub(r"\s+", " ", s).strip()


def recheck(image_bgr: np.ndarray, boxes: list[tuple[float, float, float, float]]) -> list[tuple[str, float]]:
    """PP-OCR's recogniser alone on known line boxes (normalised): a cheap (~10 ms a line) test that the text
    there is still what it was. Returns (text, score) per box."""
    img = np.ascontiguousarray(np.asarray(image_bgr)[:, :, :3])
    h, w = img.shape[:2]
    crops = []
    for x0, y0, x1, y1 in boxes:
        q = np.array([[x0 * w, y0 * h], [x1 * w, y0 * h], [x1 * w, y1 * h], [x0 * w, y1 * h]], np.float32)
        crops.append(_crop(img, q))
    if not crops:
        return []
    eng = _engine()
    with _LOCK:
        rec, _ = eng.text_rec(crops)
    return [(str(t), float(c)) for t, c in rec]


def _merge_boxes(items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Group detected boxes that sit on one visual line, close together (left to right)."""
    items = sorted(items, key=lambda d: (d["y0"], d["x0"]))
    lines: list[list[dict[str, Any]]] = []
    for it in items:
        if it["slant"] > 4.0:  # a rotated line: its axis-aligned box overlaps the lines around it
            lines.append([it])
            continue
        for ln in lines:
            if any(d["slant"] > 4.0 for d in ln):
                continue
            ly0, ly1 = min(d["y0"] for d in ln), max(d["y1"] for d in ln)
            lx0, lx1 = min(d["x0"] for d in ln), max(d["x1"] for d in ln)
            hh = max(ly1 - ly0, it["y1"] - it["y0"])
            overlap = min(ly1, it["y1"]) - max(ly0, it["y0"])
            gap = max(it["x0"] - lx1, lx0 - it["x1"])
            similar = 0.7 < (it["y1"] - it["y0"]) / max(1e-6, ly1 - ly0) < 1.4
            if overlap > 0.6 * min(ly1 - ly0, it["y1"] - it["y0"]) and gap < 1.2 * hh and similar:
                ln.append(it)
                break
        else:
            lines.append([it])
    for ln in lines:
        ln.sort(key=lambda d: d["x0"])
    return lines


def read_lines(
    image_bgr: np.ndarray,
    *,
    lang: str = "eng",
    min_confidence: float = 0.6,
    tesseract: bool = True,
) -> list[Any]:
    """Lines of text in a BGR frame as :class:`vidqa.analyze.ocr.TextBox` es, top to bottom.

    ``min_confidence`` (0..1) applies to the chosen reading; ``tesseract=False`` reads with PP-OCR only.
    Raises :class:`~vidqa.errors.ModelUnavailableError` when ``rapidocr-onnxruntime`` is missing.
    """
    from vidqa.analyze.ocr import TextBox

    img = np.asarray(image_bgr)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    img = np.ascontiguousarray(img[:, :, :3])
    h, w = img.shape[:2]
    eng = _engine()
    with _LOCK:
        boxes, _ = eng.text_det(img)
    if boxes is None or len(boxes) == 0:
        return []
    quads = [_order(b) for b in boxes]
    quads = [q for q in quads if np.linalg.norm(q[0] - q[3]) >= 6 and np.linalg.norm(q[0] - q[1]) >= 8]
    if not quads:
        return []
    crops = [_crop(img, q) for q in quads]
    with _LOCK:
        rec, _ = eng.text_rec(crops)
    items = []
    for q, crop, (text, score) in zip(quads, crops, rec):
        slant = abs(float(np.degrees(np.arctan2(q[1, 1] - q[0, 1], q[1, 0] - q[0, 0]))))
        items.append({"quad": q, "crop": crop, "pp": (str(text), float(score)), "slant": slant,
                      "x0": float(q[:, 0].min()), "y0": float(q[:, 1].min()),
                      "x1": float(q[:, 0].max()), "y1": float(q[:, 1].max())})
    out: list[TextBox] = []
    for ln in _merge_boxes(items):
        x0, y0 = min(d["x0"] for d in ln), min(d["y0"] for d in ln)
        x1, y1 = max(d["x1"] for d in ln), max(d["y1"] for d in ln)
        pp_text = " ".join(d["pp"][0] for d in ln)
        pp_conf = float(np.mean([d["pp"][1] for d in ln]))
        te = ("", 0.0)
        raw = _respace(pp_text)  # O/0-like single letters (a lone "O" in a score) need tesseract's opinion
        unsure = pp_conf < 0.95 or any(len(tok) <= 2 and all(c in "OoDIl|SZB" for c in tok) for tok in raw.split())
        if tesseract and unsure:  # a confident PP-OCR reading needs no second opinion (saves ~0.15 s a line)
            quad = ln[0]["quad"] if len(ln) == 1 else np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)
            te = _tesseract_line(_crop(img, quad, pad=0.15), lang)
        text, conf, source = _choose((pp_text, pp_conf), te)
        text = _score_dash(re.sub(r"\s+", " ", text).strip())
        if len(_ALNUM.findall(text)) < 2 or conf < min_confidence:
            continue
        if source in ("ppocr", "tesseract") and conf < 0.8:
            continue  # one recogniser alone, unsure: photo texture ("ae", "NN") more often than text
        box = (max(0.0, x0 / w), max(0.0, y0 / h), min(1.0, x1 / w), min(1.0, y1 / h))
        words = [(wd, round(conf, 3), box) for wd in text.split()]
        # what PP-OCR reads on the whole line box (what :func:`recheck` will compare with later)
        out.append(TextBox(text=text, confidence=round(float(conf), 3), box=box, words=words, source=source,
                           readings={"ppocr": [pp_text, round(pp_conf, 3)], "tesseract": [te[0], round(te[1], 3)]}))
    out.sort(key=lambda tb: (round(tb.box[1], 2), tb.box[0]))
    return out

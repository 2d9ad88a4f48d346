"""Dataset exports: one record per question as JSON Lines, CSV or a JSON array (the published layout).

Each record is :meth:`~vidqa.records.questions.Question.to_record` (``id``, ``video_id``, ``video_sha256``,
``category``, ``template``, ``template_version``, ``question``, ``options``, ``answer``, ``answer_index``,
``answer_type``, ``t_start``, ``t_end``, ``audio_cue``, ``visual_cue``, ``evidence``, ``status``,
``drop_reason``, ``confidence``, ``source``, ``seed``, ``gate``, ``context``, ``created_at``, ``updated_at``). CSV
flattens the cues into ``audio_cue.kind`` ... columns and writes lists and mappings as JSON.

A file is written to a temporary name and renamed, so a failed export never leaves half a file.

Example::

    text = export_questions(store.questions(status="validated"), "jsonl")
    export_questions(questions, "csv", "dataset.csv")
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vidqa.annotate.exports import csv_cell
from vidqa.errors import VidqaError
from vidqa.records.questions import Question

__all__ = ["CSV_COLUMNS", "EXPORT_FORMATS", "export_questions", "flat_record"]

EXPORT_FORMATS = ("jsonl", "csv", "json")
CSV_COLUMNS = (
    "id", "video_id", "video_sha256", "category", "template", "template_version", "question", "options", "answer",
    "answer_index", "answer_type", "t_start", "t_end",
    "audio_cue.kind", "audio_cue.start", "audio_cue.end", "audio_cue.text", "audio_cue.confidence",
    "visual_cue.kind", "visual_cue.label", "visual_cue.colour", "visual_cue.shape", "visual_cue.text",
    "visual_cue.count", "visual_cue.start", "visual_cue.end", "visual_cue.box", "visual_cue.confidence",
    "evidence", "status", "drop_reason", "confidence", "source", "seed", "gate", "created_at", "updated_at",
)


def flat_record(q: Question) -> dict[str, Any]:
    """A question as one flat row (the CSV layout): cue fields as ``audio_cue.kind`` ..., lists as JSON."""
    rec = q.to_record()
    row: dict[str, Any] = {}
    for col in CSV_COLUMNS:
        if "." in col:
            head, key = col.split(".", 1)
            value = rec[head].get(key)
        else:
            value = rec.get(col)
        row[col] = json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict, tuple)) else value
    return row


def export_questions(questions: Sequence[Question], fmt: str, path: str | Path | None = None, *,
                     safe: bool = True) -> str:
    """``questions`` as ``jsonl``, ``csv`` or ``json`` text; also written (atomically) to ``path`` when given.

    In CSV a text cell that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR first) gets
    a leading ``'`` unless ``safe=False`` (on-screen text and model output can be anything)."""
    if fmt not in EXPORT_FORMATS:
        raise VidqaError(f"Unknown export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}.")
    if fmt == "jsonl":
        text = "".join(json.dumps(q.to_record(), ensure_ascii=False) + "\n" for q in questions)
    elif fmt == "json":
        text = json.dumps([q.to_record() for q in questions], ensure_ascii=False, indent=1) + "\n"
    else:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
        writer.writeheader()
        for q in questions:
            row = flat_record(q)
            writer.writerow({k: csv_cell(v, safe) if isinstance(v, str) else v for k, v in row.items()})
        text = buf.getvalue()
    if path is not None:
        target = Path(path)
        tmp = target.with_name(f".{target.name}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, target)
        except OSError as err:
            tmp.unlink(missing_ok=True)
            raise VidqaError(f"Cannot write {target}: {err.strerror or err}.") from None
    return text

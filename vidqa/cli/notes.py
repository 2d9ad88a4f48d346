"""`vidqa` commands: notes export / summarize."""

from __future__ import annotations

import click

from vidqa.cli import cli
from vidqa.cli.common import db_option, open_db

__all__ = ['notes', 'notes_export', 'notes_summarize', 'notes_list']

@cli.group()
def notes() -> None:
    """Annotation notes: export and summarise."""


@notes.command("export")
@click.argument("video")
@click.option("--format", "fmt", type=click.Choice(["srt", "vtt", "csv", "json", "eaf"]), default="srt",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File to write (default: stdout).")
@click.option("--raw-csv", is_flag=True,
              help="CSV: write cells exactly, without the ' that keeps =, +, -, @ cells from running as formulas.")
@db_option
def notes_export(video, fmt, output, raw_csv, db) -> None:
    """Export a video's notes as SRT, WebVTT, CSV, JSON or ELAN .eaf.

    CSV cells that a spreadsheet would run as a formula (starting with = + - @, tab or CR) get a leading ';
    --raw-csv writes them verbatim. The EAF links to the video file in the database's own folder.

    \b
    Example:
        vidqa notes export 3f2a9c1b7d4e --format eaf -o notes.eaf
    """
    from vidqa.annotate.exports import export_notes

    store = open_db(db)
    v = store.video(video)
    text = export_notes(store.notes(v.id), fmt, output, video=v, safe=not raw_csv,
                        media_path=store.abspath(v.play_path or v.path), data_dir=store.root)
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
    from vidqa.pipeline.summaries import summarize_video_notes

    store = open_db(db)
    click.echo(summarize_video_notes(store, store.video(video).id, model=model)["text"])


@notes.command("list")
@click.argument("videos", nargs=-1)
@click.option("--deleted", is_flag=True, help="Include deleted notes (marked in the STATUS column).")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
@db_option
def notes_list(videos, deleted, as_json, db) -> None:
    """List the notes of VIDEOS (ids, sources or paths; default: every video) with column headers.

    Read-only: a missing database is an error, never a new file.

    \b
    Example:
        vidqa notes list 3f2a9c1b7d4e
        vidqa notes list --json | jq .text
    """
    import json
    import shutil
    from dataclasses import asdict

    from vidqa.cli.common import pick_videos

    store = open_db(db, readonly=True, create=False)
    chosen = pick_videos(store, videos, not videos)
    rows = [(v, n) for v in chosen for n in store.notes(v.id, include_deleted=deleted)]
    if as_json:
        for _v, n in rows:
            click.echo(json.dumps(asdict(n), ensure_ascii=False))
        return
    if not rows:
        click.echo(f"No notes for {', '.join(v.id for v in chosen)} in {store.path}.")
        return

    def clock(t: float | None) -> str:
        if t is None:
            return "-"
        ms = round(t * 1000)
        return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"

    many = len(chosen) > 1
    deleted_ids = set()
    if deleted:
        live = {n.id for v in chosen for n in store.notes(v.id)}
        deleted_ids = {n.id for _v, n in rows if n.id not in live}
    table = [(["VIDEO"] if many else []) + ["ID", "START", "END", "STATUS", "KIND", "TAGS", "TEXT"]]
    for v, n in rows:
        text = (n.text or n.error or "").replace("\n", " ⏎ ")
        table.append(([v.id] if many else []) + [
            str(n.id), clock(n.t), clock(n.end), n.status + (" (deleted)" if n.id in deleted_ids else ""), n.kind,
            ",".join(n.tags) or "-", text])
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]) - 1)]
    room = max(20, shutil.get_terminal_size((120, 20)).columns - sum(widths) - 2 * len(widths))
    for k, r in enumerate(table):
        last = r[-1] if len(r[-1]) <= room else r[-1][: room - 1] + "…"
        line = "  ".join(c.ljust(w) for c, w in zip(r[:-1], widths)) + "  " + last
        click.echo(click.style(line, bold=True) if k == 0 else line.rstrip())

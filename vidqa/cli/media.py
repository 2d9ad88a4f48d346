"""`vidqa` commands: ingest, probe, videos, sample."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from vidqa.cli import cli
from vidqa.cli.common import db_option, open_db, print_video, quiet_option
from vidqa.errors import VidqaError

@cli.command()
@click.argument("sources", nargs=-1, required=True)
@db_option
@click.option("--title", help="Title for the video (one source only).")
@click.option("--no-proxy", is_flag=True, help="Do not make an H.264 copy for the browser.")
@click.option("--allow-private", is_flag=True,
              help="Allow URLs on loopback/private addresses (LAN servers); cloud metadata addresses stay blocked.")
@click.option("--max-bytes", type=int, help="Abort downloads larger than this (default 20 GB).")
@click.option("--min-rate", type=float, default=None, metavar="BYTES_PER_S",
              help="Give up a download averaging less than this over a minute (default 4096; 0: never).")
@click.option("--deadline", type=float, default=None, metavar="SECONDS",
              help="Give up a download that takes longer than this in all (default: no limit).")
@quiet_option
def ingest(sources, db, title, no_proxy, allow_private, max_bytes, min_rate, deadline, quiet) -> None:
    """Ingest videos: local paths, http(s) URLs or Google Drive share links.

    \b
    Examples:
        vidqa ingest clip.mp4
        vidqa ingest "https://drive.google.com/file/d/FILE_ID/view?usp=sharing"
        vidqa ingest https://example.org/match.mp4 --max-bytes 2000000000 --deadline 3600

    Content is stored once, by sha256, in media/ next to the database. A local file ingested again is looked
    up cheaply while unchanged; replaced bytes become a new video (with a warning). URLs are shown and stored
    without user:password or query values. An interrupted download resumes when the command is run again.
    """
    from vidqa.media.download import DownloadLimits
    from vidqa.media.sources import source_key
    from vidqa.pipeline.ingest import ingest as do_ingest

    limits = DownloadLimits(**{k: v for k, v in (("min_rate", min_rate), ("deadline", deadline)) if v is not None})
    store = open_db(db)
    failed = 0
    for source in sources:
        shown = source
        if "://" in source:  # never print a URL's user:password or tokens
            try:
                shown = source_key(source)
            except VidqaError:
                shown = source.split("://", 1)[0] + "://…"
        try:
            video = do_ingest(source, store, title=title, make_proxy=not no_proxy,
                              allow_private=True if allow_private else None, max_bytes=max_bytes,
                              progress=not quiet, limits=limits)
        except VidqaError as err:
            failed += 1
            click.secho(f"Error: {shown}: {err}", fg="red", err=True)
            continue
        click.echo(f"ingested {shown}")
        print_video(video)
    if failed:
        sys.exit(1)


@cli.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def probe(path) -> None:
    """Print what a media file holds (JSON), without ingesting it.

    \b
    Example:
        vidqa probe clip.mp4
    """
    from dataclasses import asdict

    from vidqa.media.probe import probe as do_probe

    click.echo(json.dumps(asdict(do_probe(path)), indent=2))


@cli.command()
@db_option
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
def videos(db, as_json) -> None:
    """List ingested videos.

    \b
    Example:
        vidqa videos --json > videos.jsonl
    """
    from dataclasses import asdict

    store = open_db(db)
    for v in store.videos():
        if as_json:
            click.echo(json.dumps(asdict(v)))
        else:
            click.echo(f"{v.id}  {v.duration:8.2f} s  {v.width}x{v.height}  audio={'yes' if v.has_audio else 'no'}"
                       f"  {v.title}")


@cli.command()
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Folder to write into.")
@click.option("--real", is_flag=True, help="Build the real-media sample from Debian packages instead.")
@click.option("--photos", type=click.Path(file_okay=False, exists=True),
              help="Folder with darknet's dog.jpg and person.jpg (default: draw shapes instead, offline).")
def sample(out, real, photos) -> None:
    """Generate the synthetic sample with its ground truth (or build the real-media one).

    \b
    Examples:
        vidqa sample --out /tmp/sample
        vidqa sample --real --out data/real
    The committed data/samples/ is made by scripts/make_sample.py (it fetches the photos).
    """
    from vidqa.testing import samples

    if real:
        path = samples.build_real_sample(Path(out))
    else:
        path = samples.generate_sample(Path(out), photos_dir=Path(photos) if photos else None)
    click.echo(f"wrote {path} and {path.with_suffix('.json')}")

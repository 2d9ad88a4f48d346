"""`vidqa` commands: ingest, probe, videos, sample."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from vidqa.cli import cli
from vidqa.cli.common import db_option, open_db, print_video, quiet_option
from vidqa.errors import VidqaError

__all__ = ['ingest', 'probe', 'videos', 'sample']

@cli.command()
@click.argument("sources", nargs=-1)
@click.option("--from", "from_file", type=click.File("r"), default=None,
              help="A file with one path, URL or Drive link a line (blank lines and # comments skipped; - = stdin).")
@click.option("--jobs", "-j", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Sources ingested at once (downloads are I/O-bound; probing and audio use a core each).")
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
def ingest(sources, from_file, jobs, db, title, no_proxy, allow_private, max_bytes, min_rate, deadline,
           quiet) -> None:
    """Ingest videos: local paths, http(s) URLs or Google Drive share links.

    \b
    Examples:
        vidqa ingest clip.mp4
        vidqa ingest "https://drive.google.com/file/d/FILE_ID/view?usp=sharing"
        vidqa ingest https://example.org/match.mp4 --max-bytes 2000000000 --deadline 3600
        vidqa ingest --from sources.txt --jobs 4      # resumable: done sources are cheap lookups

    Content is stored once, by sha256, in media/ next to the database. A local file ingested again is looked
    up cheaply while unchanged; replaced bytes become a new video (with a warning). URLs are shown and stored
    without user:password or query values. An interrupted download resumes when the command is run again.
    """
    from vidqa.media.download import DownloadLimits
    from vidqa.media.sources import source_key
    from vidqa.pipeline.ingest import ingest as do_ingest

    limits = DownloadLimits(**{k: v for k, v in (("min_rate", min_rate), ("deadline", deadline)) if v is not None})
    sources = list(sources)
    if from_file is not None:
        sources += [line.strip() for line in from_file if line.strip() and not line.lstrip().startswith("#")]
    if not sources:
        raise VidqaError("Nothing to ingest: name sources, or a file of them with --from FILE.")
    if title and len(sources) > 1:
        raise VidqaError("--title names one video: give one source with it.")
    store = open_db(db, create=True)

    def shown(source: str) -> str:
        if "://" not in source:  # never print a URL's user:password or tokens
            return source
        try:
            return source_key(source)
        except VidqaError:
            return source.split("://", 1)[0] + "://…"

    def one(source: str):
        try:
            return source, do_ingest(source, store, title=title, make_proxy=not no_proxy,
                                     allow_private=True if allow_private else None, max_bytes=max_bytes,
                                     progress=not quiet and jobs == 1, limits=limits), None
        except VidqaError as err:
            return source, None, err
        finally:
            if jobs > 1:
                store.release_thread()

    if jobs == 1:
        results = map(one, sources)
    else:
        from concurrent.futures import ThreadPoolExecutor, as_completed

        pool = ThreadPoolExecutor(max_workers=jobs)
        results = (f.result() for f in as_completed([pool.submit(one, s) for s in sources]))
    failed = 0
    for source, video, err in results:
        if err is not None:
            failed += 1
            click.secho(f"Error: {shown(source)}: {err}", fg="red", err=True)
            continue
        click.echo(f"ingested {shown(source)}")
        print_video(video)
    if len(sources) > 1:
        click.echo(f"{len(sources) - failed} of {len(sources)} source(s) ingested" + (f", {failed} failed" if failed else ""))
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

    store = open_db(db, readonly=True)
    rows = store.videos()
    if as_json:
        for v in rows:
            click.echo(json.dumps(asdict(v)))
        return
    if not rows:
        click.echo(f"No videos in {store.path} yet: `vidqa ingest SOURCE` adds one.")
        return
    click.secho(f"{'id':12s}  {'duration':>10s}  {'size':>9s}  {'audio':5s}  title", bold=True)
    for v in rows:
        click.echo(f"{v.id:12s}  {v.duration:8.2f} s  {f'{v.width}x{v.height}':>9s}  {'yes' if v.has_audio else 'no':5s}"
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

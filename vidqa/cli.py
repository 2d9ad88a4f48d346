"""The ``vidqa`` command line.

Every command takes ``--db`` (default ``$VIDQA_DB`` or ``./data/vidqa.db``); media and recordings live next to
the database. Errors are printed as one clear line (exit status 1), never as a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path

import click

from .errors import VidqaError


def _store(db: str | None, readonly: bool = False):
    from .store import Store

    return Store(db, readonly=readonly)


db_option = click.option("--db", type=click.Path(dir_okay=False), default=None, envvar="VIDQA_DB",
                         help="SQLite database (default ./data/vidqa.db).")
force_option = click.option("--force", is_flag=True, help="Redo work already done with the same settings.")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bars.")


class VidqaGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except VidqaError as err:
            click.secho(f"Error: {err}", fg="red", err=True)
            sys.exit(1)


@click.group(cls=VidqaGroup)
@click.version_option(package_name="vidqa")
def cli() -> None:
    """vidqa: turn videos into audio-visual questions that expose where multimodal LLMs fail.

    \b
    Typical session:
        vidqa ingest "https://drive.google.com/file/d/FILE_ID/view"
        vidqa process --all
        vidqa videos
    """


def _videos(store, keys: Iterable[str], all_: bool):
    keys = list(keys)
    if all_ or not keys:
        videos = store.videos()
        if not videos:
            raise VidqaError("No videos in the database yet: run `vidqa ingest SOURCE` first.")
        return videos
    return [store.video(k) for k in keys]


def _print_probe(video) -> None:
    click.echo(f"  video {video.id}  {video.title}")
    fps = f"{video.fps:.3f}" if video.fps else "?"
    click.echo(f"    duration {video.duration:.3f} s, {video.width}x{video.height}, {fps} fps"
               f"{' (VFR)' if video.is_vfr else ''}, rotation {video.rotation}")
    click.echo(f"    codecs: video {video.video_codec}, audio {video.audio_codec or '-'}"
               f" ({video.audio_tracks} audio track(s){', no audio: audio stages skip it' if not video.has_audio else ''})")
    click.echo(f"    original {video.path}")
    if video.play_path != video.path:
        click.echo(f"    browser proxy {video.play_path}")
    if video.audio_path:
        cov = f", coverage {video.audio_coverage:.0%}" if video.audio_coverage is not None else ""
        click.echo(f"    audio 16 kHz {video.audio_path} (track {video.audio_track}{cov})")
    for w in video.warnings:
        click.secho(f"    warning: {w}", fg="yellow")


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@db_option
@click.option("--title", help="Title for the video (one source only).")
@click.option("--no-proxy", is_flag=True, help="Do not make an H.264 copy for the browser.")
@click.option("--allow-private", is_flag=True, help="Allow URLs on loopback/private addresses (LAN servers).")
@click.option("--max-bytes", type=int, help="Abort downloads larger than this (default 20 GB).")
@quiet_option
def ingest(sources, db, title, no_proxy, allow_private, max_bytes, quiet) -> None:
    """Ingest videos: local paths, http(s) URLs or Google Drive share links.

    \b
    Examples:
        vidqa ingest clip.mp4
        vidqa ingest "https://drive.google.com/file/d/FILE_ID/view?usp=sharing"
        vidqa ingest https://example.org/match.mp4 --max-bytes 2000000000

    Content is stored once, by sha256, in media/ next to the database.
    """
    from .ingest import ingest as do_ingest

    store = _store(db)
    failed = 0
    for source in sources:
        try:
            video = do_ingest(source, store, title=title, make_proxy=not no_proxy,
                              allow_private=True if allow_private else None, max_bytes=max_bytes,
                              progress=not quiet)
        except VidqaError as err:
            failed += 1
            click.secho(f"Error: {source}: {err}", fg="red", err=True)
            continue
        click.echo(f"ingested {source}")
        _print_probe(video)
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

    from .probe import probe as do_probe

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

    store = _store(db)
    for v in store.videos():
        if as_json:
            click.echo(json.dumps(asdict(v)))
        else:
            click.echo(f"{v.id}  {v.duration:8.2f} s  {v.width}x{v.height}  audio={'yes' if v.has_audio else 'no'}"
                       f"  {v.title}")


def _report(results) -> None:
    failed = False
    for r in results:
        colour = {"done": "green", "skipped": None, "failed": "red"}[r.status]
        click.secho(f"  [{r.video_id}] {r.summary()}", fg=colour)
        failed |= r.status == "failed"
    if failed:
        sys.exit(1)


@cli.command()
@click.argument("videos", nargs=-1)
@db_option
@click.option("--all", "all_", is_flag=True, help="Every ingested video (the default when none is named).")
@click.option("--backend", type=click.Choice(["auto", "local", "groq"]), default="auto", show_default=True,
              help="auto = Groq when GROQ_API_KEY is set, else local faster-whisper.")
@click.option("--model", help="faster-whisper model name/path, or Groq model (default: bundled tiny.en / "
                              "whisper-large-v3-turbo).")
@click.option("--language", default="en", show_default=True)
@force_option
@quiet_option
def transcribe(videos, db, all_, backend, model, language, force, quiet) -> None:
    """Time-aligned transcript (segments and words) of ingested videos.

    \b
    Examples:
        vidqa transcribe                       # every video, bundled tiny.en, offline
        vidqa transcribe 3f2a9c1b7d4e --backend groq --model whisper-large-v3
    """
    from .pipeline import run_transcribe
    from .transcribe import TranscribeSettings

    store = _store(db)
    settings = TranscribeSettings(backend=backend, model=model, language=language)
    _report([run_transcribe(store, v, settings, force=force, progress=not quiet) for v in _videos(store, videos, all_)])


@cli.command("audio-events")
@click.argument("videos", nargs=-1)
@db_option
@click.option("--all", "all_", is_flag=True, help="Every ingested video (the default when none is named).")
@force_option
@quiet_option
def audio_events(videos, db, all_, force, quiet) -> None:
    """Audio events (whistle, buzzer, crowd, music, speech, silence) with YAMNet.

    \b
    Example:
        vidqa audio-events --all --force
    """
    from .pipeline import run_audio_events

    store = _store(db)
    _report([run_audio_events(store, v, force=force, progress=not quiet) for v in _videos(store, videos, all_)])


def _visual_options(f):
    f = click.option("--fps", type=float, default=1.0, show_default=True, help="Frames sampled per second.")(f)
    f = click.option("--detector", default="ssd-mobilenet-v2", show_default=True,
                     help="ssd-mobilenet-v2 (bundled) or a path to YOLO weights (.pt/.onnx).")(f)
    f = click.option("--min-confidence", type=float, default=0.4, show_default=True)(f)
    f = click.option("--no-ocr", is_flag=True, help="Skip OCR.")(f)
    f = click.option("--no-cuts", is_flag=True, help="Skip scene-cut detection.")(f)
    return f


def _visual_settings(fps, detector, min_confidence, no_ocr, no_cuts):
    from .pipeline import VisualSettings

    return VisualSettings(fps=fps, detector=detector, min_confidence=min_confidence, ocr=not no_ocr,
                          scene_cuts=not no_cuts)


@cli.command()
@click.argument("videos", nargs=-1)
@db_option
@click.option("--all", "all_", is_flag=True, help="Every ingested video (the default when none is named).")
@_visual_options
@force_option
@quiet_option
def detect(videos, db, all_, fps, detector, min_confidence, no_ocr, no_cuts, force, quiet) -> None:
    """Visual analysis: sampled frames, scene cuts, objects with colours, OCR.

    \b
    Examples:
        vidqa detect --fps 2
        vidqa detect --detector runs/train/weights/best.pt --no-ocr
    """
    from .pipeline import run_detect

    store = _store(db)
    settings = _visual_settings(fps, detector, min_confidence, no_ocr, no_cuts)
    _report([run_detect(store, v, settings, force=force, progress=not quiet) for v in _videos(store, videos, all_)])


@cli.command()
@click.argument("videos", nargs=-1)
@db_option
@click.option("--all", "all_", is_flag=True, help="Every ingested video (the default when none is named).")
@click.option("--stages", default="transcribe,audio-events,detect", show_default=True)
@_visual_options
@force_option
@quiet_option
def process(videos, db, all_, stages, fps, detector, min_confidence, no_ocr, no_cuts, force, quiet) -> None:
    """The whole processing core (transcript, audio events, visual analysis) on ingested videos.

    \b
    Example:
        vidqa process --all
    """
    from .pipeline import STAGES, CoreSettings, process as do_process

    chosen = [s.strip() for s in stages.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(STAGES))
    if unknown:
        raise VidqaError(f"Unknown stages {unknown}; known: {', '.join(STAGES)}.")
    store = _store(db)
    settings = CoreSettings(visual=_visual_settings(fps, detector, min_confidence, no_ocr, no_cuts))
    results = []
    for v in _videos(store, videos, all_):
        results += do_process(store, v, stages=chosen, settings=settings, force=force, progress=not quiet)
    _report(results)


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
    from .exports import export_notes

    store = _store(db)
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
    from .summarize import summarize_video_notes

    store = _store(db)
    click.echo(summarize_video_notes(store, store.video(video).id, model=model)["text"])


@cli.command()
@db_option
@click.option("--stage", help="Only runs of this stage.")
def runs(db, stage) -> None:
    """List stage runs with their timing.

    \b
    Example:
        vidqa runs --stage detect
    """
    store = _store(db)
    for r in store.runs(stage=stage):
        speed = f"{r.media_seconds / r.seconds:6.1f}x" if r.seconds and r.media_seconds else "      -"
        secs = f"{r.seconds:7.1f}s" if r.seconds is not None else "       -"
        click.echo(f"{r.id:5d}  {r.stage:13s} {r.video_id or '-':12s} {r.status:8s} {secs} {speed}"
                   f"  {r.n_records if r.n_records is not None else '-':>5}  {r.error or ''}")


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
    from . import samples

    if real:
        path = samples.build_real_sample(Path(out))
    else:
        path = samples.generate_sample(Path(out), photos_dir=Path(photos) if photos else None)
    click.echo(f"wrote {path} and {path.with_suffix('.json')}")


@cli.command()
@db_option
@quiet_option
def demo(db, quiet) -> None:
    """Ingest the bundled sample and run every stage on it; print where results went."""
    from .demo import run_demo

    run_demo(db, progress=not quiet)


def main() -> None:
    cli(prog_name="vidqa")


if __name__ == "__main__":
    main()

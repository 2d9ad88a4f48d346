"""`vidqa` commands: transcribe, audio-events, detect, process, runs."""

from __future__ import annotations

import sys

import click

from vidqa.cli import cli
from vidqa.cli.common import db_option, force_option, open_db, pick_videos, quiet_option
from vidqa.errors import VidqaError

__all__ = ['transcribe', 'audio_events', 'detect', 'process', 'run_cmd', 'runs']


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
    from vidqa.analyze.transcribe import TranscribeSettings
    from vidqa.pipeline.process import run_transcribe

    store = open_db(db, create=False)
    settings = TranscribeSettings(backend=backend, model=model, language=language)
    _report([run_transcribe(store, v, settings, force=force, progress=not quiet) for v in pick_videos(store, videos, all_)])


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
    from vidqa.pipeline.process import run_audio_events

    store = open_db(db, create=False)
    _report([run_audio_events(store, v, force=force, progress=not quiet) for v in pick_videos(store, videos, all_)])


def _visual_options(f):
    f = click.option("--fps", type=float, default=1.0, show_default=True, help="Frames sampled per second.")(f)
    f = click.option("--detector", default="ssd-mobilenet-v2", show_default=True,
                     help="ssd-mobilenet-v2 (bundled) or a path to YOLO weights (.pt/.onnx).")(f)
    f = click.option("--min-confidence", type=float, default=0.4, show_default=True)(f)
    f = click.option("--no-ocr", is_flag=True, help="Skip OCR.")(f)
    f = click.option("--no-cuts", is_flag=True, help="Skip scene-cut detection.")(f)
    return f


def _visual_settings(fps, detector, min_confidence, no_ocr, no_cuts):
    from vidqa.analyze.visual import VisualSettings

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
    from vidqa.pipeline.process import run_detect

    store = open_db(db, create=False)
    settings = _visual_settings(fps, detector, min_confidence, no_ocr, no_cuts)
    _report([run_detect(store, v, settings, force=force, progress=not quiet) for v in pick_videos(store, videos, all_)])


@cli.command()
@click.argument("videos", nargs=-1)
@db_option
@click.option("--all", "all_", is_flag=True, help="Every ingested video (the default when none is named).")
@click.option("--stages", default="transcribe,audio-events,detect", show_default=True,
              help="Comma-separated stages to run (see `vidqa run --help` for the list).")
@_visual_options
@click.option("--workers", type=click.IntRange(min=1), help="Run on a Dask LocalCluster of N worker processes "
              "on this machine (pip install dask distributed).")
@click.option("--threads-per-worker", type=click.IntRange(min=1), default=1, show_default=True,
              help="Threads of each --workers process.")
@click.option("--scheduler", metavar="tcp://HOST:8786", help="Run on a running Dask cluster (`dask scheduler` "
              "and `dask worker` on the machines); this process commits the results.")
@click.option("--media-root", metavar="PATH|URL", help="Where the workers read the data folder's media (a shared "
              "path or an fsspec URL such as s3://bucket/vidqa); default the database's folder.")
@click.option("--retries", type=click.IntRange(min=0), default=1, show_default=True,
              help="With Dask: extra attempts for a video whose worker died or whose stage crashed.")
@force_option
@quiet_option
def process(videos, db, all_, stages, fps, detector, min_confidence, no_ocr, no_cuts, workers, threads_per_worker,
            scheduler, media_root, retries, force, quiet) -> None:
    """The whole processing core (transcript, audio events, visual analysis) on ingested videos.

    \b
    Examples:
        vidqa process --all
        vidqa process --all --workers 2                       # Dask LocalCluster, 2 processes
        vidqa process --all --scheduler tcp://10.0.0.5:8786 --media-root /mnt/nfs/vidqa
    """
    from vidqa.pipeline.process import STAGES, CoreSettings
    from vidqa.pipeline.process import process as do_process

    chosen = [s.strip() for s in stages.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(STAGES))
    if unknown:
        raise VidqaError(f"Unknown stages {unknown}; known: {', '.join(STAGES)}.")
    store = open_db(db, create=False)
    settings = CoreSettings(visual=_visual_settings(fps, detector, min_confidence, no_ocr, no_cuts))
    if workers and scheduler:
        raise VidqaError("Give --workers (a cluster on this machine) or --scheduler (a running cluster), not both.")
    if media_root and not (workers or scheduler):
        raise VidqaError("--media-root is for Dask workers: add --workers N or --scheduler tcp://HOST:8786.")
    if workers or scheduler:
        try:
            import distributed  # noqa: F401

            from vidqa.pipeline.distributed import process_many
        except ImportError:
            raise VidqaError("--workers/--scheduler need Dask: pip install 'dask[distributed]'.") from None
        _report(process_many(store, pick_videos(store, videos, all_), stages=chosen, settings=settings,
                             scheduler=scheduler, workers=workers, threads_per_worker=threads_per_worker,
                             retries=retries, force=force, progress=not quiet, media_root=media_root))
        return
    results = []
    for v in pick_videos(store, videos, all_):
        results += do_process(store, v, stages=chosen, settings=settings, force=force, progress=not quiet)
    _report(results)


def _parse_sets(pairs: tuple[str, ...]) -> dict:
    import json

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise VidqaError(f"--set takes KEY=VALUE, not {pair!r}.")
        try:
            out[key.strip().replace("-", "_")] = json.loads(value)
        except ValueError:
            out[key.strip().replace("-", "_")] = value
    return out


@cli.command("run")
@click.argument("stage")
@click.argument("videos", nargs=-1)
@db_option
@click.option("--all", "all_", is_flag=True, help="Every ingested video (the default when none is named).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="A setting of the stage (repeatable); values are JSON when they parse, else text.")
@force_option
@quiet_option
def run_cmd(stage, videos, db, all_, sets, force, quiet) -> None:
    """Run one registered stage on ingested videos, with any of its settings.

    \b
    Stages: transcribe, audio-events, detect (the registry in vidqa.pipeline.registry).
    Examples:
        vidqa run detect --set fps=2 --set ocr=false
        vidqa run transcribe 3f2a9c1b7d4e --set beam_size=1 --force
    """
    from vidqa.pipeline.registry import get_stage
    from vidqa.pipeline.runner import run_stage

    found = get_stage(stage)
    settings = found.settings(_parse_sets(sets))
    store = open_db(db, create=False)
    _report([run_stage(store, found, v, settings, force=force, progress=not quiet)
             for v in pick_videos(store, videos, all_)])


@cli.command()
@db_option
@click.option("--stage", help="Only runs of this stage.")
def runs(db, stage) -> None:
    """List stage runs with their timing (a run whose process died shows as abandoned).

    \b
    Example:
        vidqa runs --stage detect
    """
    store = open_db(db, create=False)
    rows = store.runs(stage=stage)
    if not rows:
        click.echo("No runs yet: `vidqa process --all` runs the core stages.")
        return
    click.secho(f"{'run':>5}  {'stage':13s} {'unit':12s} {'status':9s} {'seconds':>8} {'speed':>7}  {'rows':>5}  error",
                bold=True)
    for r in rows:
        speed = f"{r.media_seconds / r.seconds:6.1f}x" if r.seconds and r.media_seconds else "      -"
        secs = f"{r.seconds:7.1f}s" if r.seconds is not None else "       -"
        click.echo(f"{r.id:5d}  {r.stage:13s} {(r.unit or r.video_id or '-')[:12]:12s} {r.status:9s} {secs} {speed}"
                   f"  {r.n_records if r.n_records is not None else '-':>5}  {r.error or ''}")

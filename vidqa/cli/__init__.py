"""The ``vidqa`` command line.

Every command takes ``--db`` (default ``$VIDQA_DB`` or ``./data/vidqa.db``); media and recordings live next to
the database. Errors are printed as one clear line (exit status 1), never as a traceback.
"""

from __future__ import annotations

import click

from vidqa.cli.common import VidqaGroup


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




def main() -> None:
    cli(prog_name="vidqa")


# Each module adds its commands to ``cli`` (one module per command family).
from vidqa.cli import evaluate, media, notes, questions, report, stages  # noqa: E402,F401

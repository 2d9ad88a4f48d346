"""Options and helpers shared by the command modules."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable

import click

from vidqa.errors import VidqaError

__all__ = ["open_db", "pick_videos", "print_video", "db_option", "force_option", "quiet_option", "VidqaGroup"]


def open_db(db: str | None, readonly: bool = False, *, create: bool = False):
    """The store named by ``--db``. Only ``vidqa ingest`` passes ``create=True``: for every other command a missing
    database is an error naming the path and the command that makes one, never a new empty file."""
    from vidqa.store import Store

    return Store(db, readonly=readonly, create=create)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings reach a terminal user as one line: the message, not our source line."""
    click.secho(f"warning: {message}", fg="yellow", err=True)


db_option = click.option("--db", type=click.Path(dir_okay=False), default=None, envvar="VIDQA_DB",
                         help="SQLite database (default ./data/vidqa.db).")
force_option = click.option("--force", is_flag=True, help="Redo work already done with the same settings.")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bars.")


class VidqaGroup(click.Group):
    """Prints a :class:`VidqaError` as one red line (exit status 1) and warnings as one yellow line."""

    def invoke(self, ctx: click.Context):
        previous = warnings.showwarning
        warnings.showwarning = _show_warning
        try:
            return super().invoke(ctx)
        except VidqaError as err:
            click.secho(f"Error: {err}", fg="red", err=True)
            sys.exit(1)
        finally:
            warnings.showwarning = previous


def pick_videos(store, keys: Iterable[str], all_: bool):
    keys = list(keys)
    if all_ or not keys:
        videos = store.videos()
        if not videos:
            raise VidqaError("No videos in the database yet: run `vidqa ingest SOURCE` first.")
        return videos
    return [store.video(k) for k in keys]


def print_video(video) -> None:
    for line in video.describe():
        if line.startswith("  warning:"):
            click.secho("  " + line, fg="yellow")
        else:
            click.echo("  " + line)

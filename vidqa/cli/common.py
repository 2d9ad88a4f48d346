"""Options and helpers shared by the command modules."""

from __future__ import annotations

import sys
from collections.abc import Iterable

import click

from vidqa.errors import VidqaError

def open_db(db: str | None, readonly: bool = False):
    from vidqa.store import Store

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

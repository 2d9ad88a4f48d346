"""`vidqa questions` commands: generate, list, export, stats."""

from __future__ import annotations

import sys

import click

from vidqa.cli import cli
from vidqa.cli.common import db_option, force_option, open_db, pick_videos
from vidqa.records.questions import QUESTION_STATUSES

__all__ = ['questions', 'questions_generate', 'questions_list', 'questions_export', 'questions_stats']

_status_option = click.option("--status", "statuses", multiple=True, type=click.Choice(QUESTION_STATUSES),
                              help="Only questions with this status (repeat for several; default: all).")


@cli.group()
def questions() -> None:
    """Audio-visual questions: generate them from the cues, list, export the dataset, check option bias."""


@questions.command("generate")
@click.argument("videos", nargs=-1)
@db_option
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same questions.")
@click.option("--ontology", type=click.Path(dir_okay=False, exists=True),
              help="YAML file merged over the shipped ontology (vidqa/questions/ontology.yaml).")
@click.option("--min-confidence", type=float, default=0.5, show_default=True,
              help="Cues less sure than this are not used.")
@click.option("--model", help="Provider spec for drafting questions from voice notes no template fits "
                              "(e.g. groq/llama-3.1-8b-instant).")
@force_option
def questions_generate(videos, db, seed, ontology, min_confidence, model, force) -> None:
    """Generate questions for processed videos (every video when none is named).

    Each question anchors on a sound (a spoken phrase or an event) and asks about something only the picture
    shows; candidates that leak their answer are kept as `dropped` with the reason.

    \b
    Examples:
        vidqa questions generate                          # every video, seed 0
        vidqa questions generate 3f2a9c1b7d4e --seed 7 --ontology my_templates.yaml
    """
    from vidqa.pipeline.questions import generate_all

    store = open_db(db)
    results = generate_all(store, pick_videos(store, videos, False), seed=seed, ontology=ontology, force=force,
                           min_confidence=min_confidence, model=model)
    failed = False
    for r in results:
        colour = {"done": "green", "skipped": None, "failed": "red"}[r.status]
        click.secho(f"  [{r.video_id}] {r.summary()}", fg=colour)
        if r.status != "failed":
            kept = store.questions(r.video_id, status="draft")
            dropped = store.questions(r.video_id, status="dropped")
            click.echo(f"    {len(kept)} draft(s), {len(dropped)} dropped candidate(s)")
        failed |= r.status == "failed"
    if failed:
        sys.exit(1)


def _select(store, videos, statuses, category=None):
    keys = [store.video(v).id for v in videos] if videos else [None]
    out = []
    for key in keys:
        out += store.questions(key, status=list(statuses) or None, category=category)
    return out


@questions.command("list")
@click.argument("videos", nargs=-1)
@db_option
@_status_option
@click.option("--category", help="Only this ontology category (e.g. counting).")
def questions_list(videos, db, statuses, category) -> None:
    """List questions: id, status, window, category, question -> answer (drop reasons for dropped ones).

    \b
    Examples:
        vidqa questions list --status draft
        vidqa questions list 3f2a9c1b7d4e --status dropped
    """
    store = open_db(db)
    rows = _select(store, videos, statuses, category)
    if not rows:
        click.echo("No questions: run `vidqa questions generate` first." if not statuses and not category
                   else "No questions match.")
        return
    for q in rows:
        click.echo(f"{q.id:>6}  {q.status:<9} {q.video_id}  {q.t_start:7.2f}-{q.t_end:7.2f}  {q.category:<22} "
                   f"{q.question}  -> {q.answer}")
        if q.options:
            click.echo(" " * 8 + " | ".join(("*" if i == q.answer_index else " ") + o for i, o in enumerate(q.options)))
        if q.drop_reason:
            click.secho(" " * 8 + q.drop_reason, fg="yellow")


@questions.command("export")
@click.argument("videos", nargs=-1)
@db_option
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "json"]), default="jsonl", show_default=True)
@_status_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File to write (default: stdout).")
def questions_export(videos, db, fmt, statuses, output) -> None:
    """Export questions as a dataset: one record per question (dropped ones with their drop_reason).

    \b
    Examples:
        vidqa questions export --format jsonl --status validated -o dataset.jsonl
        vidqa questions export --format csv --status draft --status dropped -o review.csv
    """
    from vidqa.questions.export import export_questions

    store = open_db(db)
    rows = _select(store, videos, statuses)
    text = export_questions(rows, fmt, output)
    if output:
        click.echo(f"wrote {len(rows)} question(s) to {output}")
    else:
        click.echo(text, nl=False)


@questions.command("stats")
@click.argument("videos", nargs=-1)
@db_option
@_status_option
@click.option("--by", type=click.Choice(["set", "video", "category"]), default="set", show_default=True,
              help="One line for the whole set, or one per video / category.")
def questions_stats(videos, db, statuses, by) -> None:
    """Position and length bias of the multiple-choice options, per set.

    Chance is 1/n per position; `longest` is how often the answer is the unique longest option, against the
    chance of that for a random option (published sets reach 38 % against 25 %).

    \b
    Examples:
        vidqa questions stats --status validated
        vidqa questions stats --by category
    """
    from vidqa.questions.options import bias_stats

    store = open_db(db)
    rows = _select(store, videos, statuses or ("draft", "validated"))
    groups: dict[str, list] = {}
    for q in rows:
        key = {"set": "all", "video": q.video_id, "category": q.category}[by]
        groups.setdefault(key, []).append(q)
    if not groups:
        click.echo("No questions: run `vidqa questions generate` first.")
        return
    for key, qs in sorted(groups.items()):
        s = bias_stats(qs)
        click.echo(f"{key}: {s['n']} multiple-choice question(s)")
        for n, p in s["positions"].items():
            shares = " ".join(f"{x:.0%}" for x in p["shares"])
            click.echo(f"  {n} options ({p['n']}): answer position {shares}  (chance {1 / n:.0%} each, "
                       f"max deviation {p['max_deviation']:.0%})")
        click.echo(f"  answer is the longest option {s['longest_share']:.0%} (chance {s['longest_chance']:.0%}), "
                   f"the shortest {s['shortest_share']:.0%} (chance {s['shortest_chance']:.0%}); "
                   f"length ratio {s['length_ratio']}")

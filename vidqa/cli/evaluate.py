"""`vidqa` commands: evaluate, results."""

from __future__ import annotations

import click

from vidqa.cli import cli
from vidqa.cli.common import db_option, force_option, open_db, quiet_option
from vidqa.errors import VidqaError

__all__ = ['TRANSPORT_CHOICES', 'evaluate', 'results']

TRANSPORT_CHOICES = ("native_video", "frames_audio", "frames_transcript", "text")


def _per_model(values, what: str, cast):
    """``("30", "groq/x=10")`` -> ``(30.0, {"groq/x": 10.0})``: a default and per-model values."""
    default, per = None, {}
    for v in values:
        spec, sep, num = v.rpartition("=")
        try:
            value = cast(num if sep else v)
        except ValueError:
            raise VidqaError(f"--{what} takes N or MODEL=N, not {v!r}.") from None
        if sep:
            per[spec] = value
        else:
            default = value
    return default, per


@cli.command()
@click.option("--model", "models", multiple=True, required=True, metavar="SPEC",
              help="groq/MODEL, gemini/MODEL, openai/MODEL@URL, local/smollm2, baseline/random|longest|"
                   "question-only|transcript-only (repeatable).")
@click.option("--transport", "transports", multiple=True, type=click.Choice(TRANSPORT_CHOICES),
              help="What the model receives (repeatable; default: each model's richest).")
@click.option("--gate", is_flag=True, help="Also ask deaf, blind and question-only; flag questions one modality "
                                           "answers under every option order.")
@click.option("--permutations", "-k", type=int, default=1, show_default=True,
              help="Rotations of the options (plain vs consistent accuracy).")
@click.option("--counterfactual", is_flag=True, help="Also ask with the audio cue muted and shifted (audio models).")
@click.option("--frames", type=int, default=None, help="Frames sampled per window (default 4; capped per provider).")
@click.option("--status", default="validated", show_default=True,
              type=click.Choice(["validated", "draft", "any"]), help="Which questions.")
@click.option("--video", "video_id", help="Only questions of this video.")
@click.option("--category", help="Only questions of this category.")
@click.option("--question", "question_ids", multiple=True, type=int, help="Only these question ids (repeatable).")
@click.option("--limit", type=int, help="At most this many questions.")
@click.option("--judge", metavar="SPEC", help="An LLM judge for open answers (stored beside the rules' verdict).")
@click.option("--rpm", multiple=True, metavar="[MODEL=]N", help="Requests per minute (default per provider).")
@click.option("--concurrency", multiple=True, metavar="[MODEL=]N", help="Calls in flight per model.")
@click.option("--temperature", type=float, default=0.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--max-cost", type=float, help="Refuse to start when the estimate is above this many US dollars.")
@click.option("--dry-run", is_flag=True, help="Print the plan and the cost estimate only (nothing is sent).")
@click.option("--shard-by", type=click.Choice(["provider"]), default=None,
              help="One process per provider (e.g. a local model beside remote APIs), all on this database.")
@db_option
@force_option
@quiet_option
def evaluate(models, transports, gate, permutations, counterfactual, frames, status, video_id, category,
             question_ids, limit, judge, rpm, concurrency, temperature, seed, max_cost, dry_run, shard_by, db, force,
             quiet) -> None:
    """Ask target models the stored questions, with their media, and score the answers.

    The cost estimate is printed before any call. Finished calls are kept: running the same command again does
    only what is left (errors, parked calls); a temperature-0 re-run is answered from the cache.

    \b
    Examples:
        vidqa evaluate --model local/smollm2 --model baseline/random --dry-run
        vidqa evaluate --model groq/meta-llama/llama-4-scout-17b-16e-instruct --transport frames_transcript -k 4
        vidqa evaluate --model gemini/gemini-2.0-flash --gate --permutations 4 --rpm 10
        vidqa evaluate --model local/smollm2 --model groq/llama-3.1-8b-instant --shard-by provider
    """
    from dataclasses import replace

    from vidqa.evaluate.plan import DEFAULT_LIMITS, EvalSettings, Limits
    from vidqa.evaluate.transports import TransportSettings
    from vidqa.pipeline.evaluate import evaluate_questions

    store = open_db(db)
    rpm_default, rpm_per = _per_model(rpm, "rpm", float)
    conc_default, conc_per = _per_model(concurrency, "concurrency", int)
    limits = {}
    for spec in models:
        base = DEFAULT_LIMITS.get(spec.split("/", 1)[0], Limits())
        r = rpm_per.get(spec, rpm_default)
        c = conc_per.get(spec, conc_default)
        if r is not None or c is not None:
            limits[spec] = replace(base, rpm=r if r is not None else base.rpm,
                                   concurrency=c if c is not None else base.concurrency)
    settings = EvalSettings(transports=tuple(transports) or None, permutations=permutations, gate=gate,
                            counterfactual=counterfactual, temperature=temperature, seed=seed,
                            media=TransportSettings(frames=frames) if frames else TransportSettings())

    def show(estimate) -> None:
        click.echo("Cost estimate:")
        for line in estimate.lines():
            click.echo(line)
        total = estimate.total_usd
        if max_cost is not None and not dry_run and total is not None and total > max_cost:
            raise VidqaError(f"The estimate (${total:.4f}) is above --max-cost ${max_cost:.4f}: nothing was sent.")

    kwargs = dict(settings=settings, status=None if status == "any" else status, video_id=video_id,
                  category=category, question_ids=list(question_ids) or None, limit=limit, judge=judge,
                  limits=limits, dry_run=dry_run, force=force, on_estimate=show)
    if shard_by and not dry_run:
        from vidqa.pipeline.evaluate_shards import evaluate_sharded

        shards = evaluate_sharded(store, list(models), **kwargs)
        for sh in shards:
            if sh.error:
                click.secho(f"[{sh.provider}] failed: {sh.error}", fg="red")
            elif sh.result is not None and sh.result.stats is not None:
                run = sh.result.eval_run
                click.echo(f"[{sh.provider}] {sh.result.stats.summary()}"
                           + (f" (evaluation run {run.id}: {run.status})" if run is not None else ""))
        if any(sh.error for sh in shards):
            raise VidqaError(f"{sum(bool(sh.error) for sh in shards)} of {len(shards)} provider shard(s) failed; "
                             "the others are stored. Run the same command again to retry what is left.")
        click.echo("See `vidqa results`.")
        return
    result = evaluate_questions(store, list(models), progress=not quiet, **kwargs)
    click.echo(f"{result.n_questions} question(s), {result.n_planned} call(s) planned")
    for m, t, c, r in result.skipped:
        click.secho(f"  left out: {m} {t} {c}: {r}", fg="yellow")
    if dry_run:
        click.echo("Dry run: nothing was sent or written.")
        return
    if result.n_questions == 0:
        click.secho(f"No {status if status != 'any' else ''} questions to evaluate.".replace("  ", " "), fg="yellow")
        return
    if result.stats is not None:
        click.echo(result.stats.summary())
    if result.gates:
        flagged = sorted(q for q, g in result.gates.items() if g.get("flagged"))
        click.echo(f"Gate: {len(flagged)} of {len(result.gates)} question(s) answered by one modality alone"
                   + (f": {', '.join(map(str, flagged))}" if flagged else ""))
    if result.eval_run is not None:
        click.echo(f"Evaluation run {result.eval_run.id}: {result.eval_run.status}. See `vidqa results`.")


@cli.command()
@db_option
@click.option("--by", default="model,category,transport", show_default=True,
              help="Group by these columns (model, category, transport, condition, answer_type, video_id).")
@click.option("--model", "models", multiple=True, help="Only these models (repeatable).")
@click.option("--condition", default="full", show_default=True,
              type=click.Choice(["full", "deaf", "blind", "question_only", "all"]))
@click.option("--run", "eval_run_id", type=int, help="Only responses of this evaluation run.")
@click.option("--errors", is_flag=True, help="Also the error categories of wrong answers.")
@click.option("--consistency", is_flag=True, help="Also plain vs consistent accuracy over option rotations.")
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
def results(db, by, models, condition, eval_run_id, errors, consistency, seed) -> None:
    """Accuracy with 95% bootstrap confidence intervals, and how many answers were left out (unscored).

    \b
    Examples:
        vidqa results
        vidqa results --by model,transport --consistency --errors
        vidqa results --by model,condition --condition all
    """
    from vidqa.score.stats import accuracy_table, consistency_table, error_breakdown, format_table

    store = open_db(db, readonly=True)
    keys = tuple(k.strip() for k in by.split(",") if k.strip())
    allowed = {"model", "category", "transport", "condition", "answer_type", "video_id", "counterfactual",
               "provider", "question_id"}
    bad = sorted(set(keys) - allowed)
    if bad:
        raise VidqaError(f"Cannot group by {bad}; choose from {', '.join(sorted(allowed))}.")
    rows = store.eval_results(model=list(models) or None, eval_run_id=eval_run_id)
    if not rows:
        click.echo("No evaluation results yet: run `vidqa evaluate --model ...` first.")
        return
    cond = None if condition == "all" else condition
    click.echo(format_table(accuracy_table(rows, by=keys, condition=cond, seed=seed)))
    if consistency:
        click.echo("\nPlain vs consistent accuracy (right under every option rotation):")
        for r in consistency_table(rows, condition=cond or "full"):
            plain = "-" if r["plain"] is None else f"{100 * r['plain']:.1f}%"
            cons = "-" if r["consistent"] is None else f"{100 * r['consistent']:.1f}%"
            click.echo(f"  {r['model']}  {r['transport']}: plain {plain} ({r['n_scored']} scored, "
                       f"{r['n_unscored']} unscored), consistent {cons} of {r['n_complete']} question(s) "
                       f"({r['n_incomplete']} left out)")
    if errors:
        click.echo("\nWrong answers by error category (and unscored):")
        for r in error_breakdown(rows, by=("model", "transport"), condition=cond):
            counts = ", ".join(f"{k} {v}" for k, v in r.items() if k not in ("model", "transport"))
            click.echo(f"  {r['model']}  {r['transport']}: {counts}")

"""`vidqa` commands: notebook (papermill runs with HTML reports), html."""

from __future__ import annotations

from pathlib import Path

import click

from vidqa.cli import cli
from vidqa.cli.common import db_option, open_db

__all__ = ['notebook', 'html_cmd', 'serve', 'dataset']


def _value(text: str):
    import json

    try:
        return json.loads(text)
    except ValueError:
        return text


@cli.command("notebook")
@click.argument("name")
@click.option("-p", "--parameter", "params", nargs=2, multiple=True, metavar="KEY VALUE",
              help="A notebook parameter (repeatable); values are JSON when they parse, else text.")
@db_option
@click.option("--reports", type=click.Path(file_okay=False), help="Folder for runs/<run_id>/ (default ./reports).")
@click.option("--no-html", is_flag=True, help="Skip the self-contained HTML report.")
def notebook(name, params, db, reports, no_html) -> None:
    """Execute a notebook of notebooks/ with papermill, recorded as a run, with an offline HTML report.

    The executed notebook and NAME.html go to reports/runs/<run_id>/; the run (parameters, versions, time,
    outcome) is in `vidqa runs`. Keys are never parameters: providers read them from the environment.

    \b
    Examples:
        vidqa notebook process
        vidqa notebook detect -p fps 2 -p force true
    """
    from vidqa.pipeline.notebooks import run_notebook

    store = open_db(db, create=False)
    result = run_notebook(store, name, {k.replace("-", "_"): _value(v) for k, v in params},
                          reports=reports, html=not no_html)
    click.echo(f"run {result.run_id}: {result.name} {result.status} in {result.seconds:.1f} s")
    click.echo(f"  notebook: {result.notebook}")
    if result.html:
        click.echo(f"  report:   {result.html}  (self-contained: opens offline)")
    if result.error:
        raise click.ClickException(result.error)


@cli.command("html")
@click.argument("executed", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="HTML file (default: beside the notebook).")
def html_cmd(executed, output) -> None:
    """Render an executed notebook as one self-contained HTML file (Plotly figures inline, no CDN).

    \b
    Example:
        vidqa html reports/process.ipynb -o reports/process.html
    """
    from vidqa.pipeline.html_report import notebook_html

    click.echo(str(notebook_html(Path(executed), output)))


@cli.command("serve")
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8001, show_default=True)
def serve(db, host, port) -> None:
    """Serve the database read-only over HTTP with Datasette: every table and view as JSON and CSV.

    Datasette opens the file read-only (no write plugins, no uploads): other tools read results with plain HTTP,
    e.g. /vidqa/videos.json?_shape=array or the SQL views of the evaluation results.

    \b
    Examples:
        vidqa serve --port 8001
        curl 'http://127.0.0.1:8001/vidqa/runs.json?_shape=array&status=done'
    """
    import shutil
    import subprocess
    import sys

    from vidqa.errors import VidqaError

    store = open_db(db, readonly=True)
    path = store.path.resolve()
    store.close()
    exe = shutil.which("datasette")
    cmd = [exe] if exe else [sys.executable, "-m", "datasette"]
    try:
        import datasette  # noqa: F401
    except ImportError:
        raise VidqaError("Datasette is not installed: pip install 'vidqa[serve]' (or pip install datasette).") from None
    click.echo(f"serving {path} read-only at http://{host}:{port}/{path.stem}  (Ctrl+C stops)")
    raise SystemExit(subprocess.call([*cmd, "serve", str(path), "--host", host, "--port", str(port),
                                      "--setting", "sql_time_limit_ms", "5000", "--setting", "allow_download", "off"]))


@cli.command("dataset")
@click.argument("folder", type=click.Path(file_okay=False))
@db_option
@click.option("--status", "statuses", multiple=True, default=("validated",), show_default=True,
              type=click.Choice(["validated", "draft", "rejected", "dropped"]),
              help="Which questions (repeatable). Drafts are unreviewed: publish them only knowingly.")
@click.option("--include-flagged", is_flag=True, help="Keep questions one modality alone answers (gate-flagged).")
@click.option("--name", default="vidqa audio-visual questions", show_default=True, help="Title of the dataset card.")
def dataset(folder, db, statuses, include_flagged, name) -> None:
    """Publish the question set: questions (JSONL, JSON, CSV), model results (JSONL) and a dataset card.

    The JSONL loads with datasets.load_dataset("json", data_files="FOLDER/questions.jsonl").

    \b
    Examples:
        vidqa dataset release/v1
        vidqa dataset release/drafts --status draft --include-flagged
    """
    from vidqa.pipeline.dataset import export_dataset

    store = open_db(db, readonly=True)
    done = export_dataset(store, folder, statuses=tuple(statuses), include_flagged=include_flagged, name=name)
    click.echo(f"{done.n_questions} question(s) and {done.n_results} model answer(s) in {done.folder}"
               + (f"; {done.n_flagged_left_out} gate-flagged question(s) left out" if done.n_flagged_left_out else ""))
    for f in done.files:
        click.echo(f"  {f}")

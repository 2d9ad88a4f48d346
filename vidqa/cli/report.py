"""`vidqa` commands: notebook (papermill runs with HTML reports), html."""

from __future__ import annotations

from pathlib import Path

import click

from vidqa.cli import cli
from vidqa.cli.common import db_option, open_db


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

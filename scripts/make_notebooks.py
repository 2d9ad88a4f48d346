"""Write the thin, papermill-parameterised stage notebooks in notebooks/ (run after changing them here).

Each notebook: a `parameters` cell, library calls, figures. No logic lives only in a notebook.
Run one with papermill, e.g.:
    papermill notebooks/detect.ipynb reports/detect.ipynb -p fps 2      (from the repo root or notebooks/)
"""

import dataclasses
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from vidqa.pipeline.registry import get_stage, stage_names

NB_DIR = Path(__file__).resolve().parent.parent / "notebooks"

COMMON_PARAMS = (
    "db = None        # the vidqa database: None means VIDQA_DB or the nearest data/vidqa.db\n"
    "videos = []      # video ids or sources (empty: every ingested video)\n"
    "force = False    # redo work already done with the same settings\n"
)

SELECT = ("store = open_store(locate_db(db), create=False)\n"
          "selected = [store.video(v) for v in videos] or store.videos()\n"
          "print(f\"{len(selected)} video(s) in {store.path}\")")

FIGURES = "for v in selected:\n    display({table}(store, v.id))\n    timeline_figure(store, v.id).show()"
TABLES = {"transcribe": "transcript_table", "audio-events": "audio_events_table", "detect": "visual_events_table"}
SKIP_FIELDS = {"groq_base_url"}  # endpoints come from the environment, not from a notebook


def stage_params(stage) -> str:
    """The stage's settings as notebook parameters (one line each, defaults from the settings dataclass)."""
    lines = []
    for f in dataclasses.fields(stage.settings_type.cls):
        if f.name in SKIP_FIELDS or not isinstance(f.default, (str, int, float, bool, type(None))):
            continue
        lines.append(f"{f.name} = {f.default!r}")
    return "\n".join(lines) + "\n"


def registry_notebooks() -> dict[str, dict]:
    """One notebook per registered stage, generated from the registry (its settings become parameters)."""
    out = {}
    for name in stage_names():
        stage = get_stage(name)
        names = [f.name for f in dataclasses.fields(stage.settings_type.cls)
                 if f.name not in SKIP_FIELDS and isinstance(f.default, (str, int, float, bool, type(None)))]
        out[name.replace("-", "_")] = dict(
            title=f"# Stage: {name}\n{stage.description[0].upper() + stage.description[1:]}. Run with papermill, "
                  f"e.g. `papermill notebooks/{name.replace('-', '_')}.ipynb reports/{name.replace('-', '_')}.ipynb"
                  " -p force True`.",
            params=COMMON_PARAMS + "# settings of the stage\n" + stage_params(stage),
            cells=[
                "from vidqa import locate_db, open_store, run_stage\n"
                f"from vidqa.report import {TABLES.get(name, 'runs_table')}, timeline_figure\n" + SELECT,
                "settings = dict(" + ", ".join(f"{n}={n}" for n in names) + ")\n"
                f"results = [run_stage(store, {name!r}, v, settings, force=force) for v in selected]\n"
                "for r in results:\n    print(r.video_id, r.summary())",
                FIGURES.format(table=TABLES.get(name, "runs_table")),
            ],
        )
    return out


STAGE_NOTEBOOKS = {
    "ingest": dict(
        title="# Ingest\nLocal paths, http(s) URLs and Google Drive share links become stored, probed videos.",
        params="db = None         # None means VIDQA_DB or the nearest data/vidqa.db (created if missing)\n"
               "sources = []      # paths, URLs or Drive links (empty: the bundled sample)\nmake_proxy = True\n",
        cells=[
            "from vidqa import bundled_sample, ingest, locate_db, open_store\nfrom vidqa.report import videos_table\n"
            "store = open_store(locate_db(db, must_exist=False))\n"
            "ingested = [ingest(s, store, make_proxy=make_proxy) for s in sources or [str(bundled_sample())]]",
            "videos_table(store)",
        ],
    ),
    "process": dict(
        title="# The processing core\nAll stages on every selected video, then a timeline per video and the"
              " speed of each stage.",
        params=COMMON_PARAMS
        + "scheduler = None # a Dask scheduler (tcp://HOST:8786) to run the videos on, or None\n"
          "workers = 0      # > 0: a Dask LocalCluster of this many worker processes here (0: this kernel)\n",
        cells=[
            "from vidqa import locate_db, open_store, process, process_many\n"
            "from vidqa.report import runs_figure, timeline_figure\n" + SELECT,
            "if scheduler or workers:  # on Dask: this kernel commits every result as it arrives\n"
            "    results = process_many(store, selected, scheduler=scheduler, workers=workers or None, force=force)\n"
            "else:\n    results = [r for v in selected for r in process(store, v, force=force)]\n"
            "for r in results:\n    print(r.video_id, r.summary())",
            "for v in selected:\n    timeline_figure(store, v.id).show()\nruns_figure(store).show()",
        ],
    ),
}


def stage_notebook(spec: dict) -> nbformat.NotebookNode:
    params = new_code_cell(spec["params"])
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[new_markdown_cell(spec["title"]), params, *map(new_code_cell, spec["cells"])])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def main() -> None:
    NB_DIR.mkdir(exist_ok=True)
    for name, spec in {**STAGE_NOTEBOOKS, **registry_notebooks()}.items():
        nbformat.write(stage_notebook(spec), NB_DIR / f"{name}.ipynb")
        print(f"wrote notebooks/{name}.ipynb")


if __name__ == "__main__":
    main()

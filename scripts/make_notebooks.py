"""Write the thin, papermill-parameterised stage notebooks in notebooks/ (run after changing them here).

Each notebook: a `parameters` cell, library calls, figures. No logic lives only in a notebook.
Run one with papermill, e.g.:
    papermill notebooks/detect.ipynb reports/detect.ipynb -p db data/vidqa.db -p fps 2
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NB_DIR = Path(__file__).resolve().parent.parent / "notebooks"

COMMON_PARAMS = 'db = "../data/vidqa.db"   # the vidqa database (media live next to it)\n' \
                'videos = []               # video ids or sources; empty = every ingested video\n' \
                'force = False             # redo work already done with the same settings\n'

SELECT = "store = open_store(db)\nselected = [store.video(v) for v in videos] or store.videos()\n" \
         "print(f\"{len(selected)} video(s) in {store.path}\")"

STAGE_NOTEBOOKS = {
    "ingest": dict(
        title="# Ingest\nLocal paths, http(s) URLs and Google Drive share links become stored, probed videos.",
        params='db = "../data/vidqa.db"\nsources = ["../data/samples/sample.mp4"]\nmake_proxy = True\n',
        cells=[
            "from vidqa import open_store, ingest\nstore = open_store(db)\n"
            "ingested = [ingest(s, store, make_proxy=make_proxy) for s in sources]",
            "store.dataframe('SELECT id, title, duration, fps, is_vfr, width, height, rotation, video_codec,"
            " audio_codec, audio_tracks, play_path FROM videos')",
        ],
    ),
    "transcribe": dict(
        title="# Transcribe\nTime-aligned transcript (segments + words): bundled faster-whisper tiny.en offline,"
              " or Groq Whisper when `GROQ_API_KEY` is set and `backend` is `auto`/`groq`.",
        params=COMMON_PARAMS + 'backend = "auto"          # auto | local | groq\nmodel = None\nlanguage = "en"\n',
        cells=[
            "from vidqa import open_store\nfrom vidqa.pipeline.process import run_transcribe\n"
            "from vidqa.analyze.transcribe import TranscribeSettings\nfrom vidqa.report.figures import timeline_figure\n" + SELECT,
            "settings = TranscribeSettings(backend=backend, model=model, language=language)\n"
            "results = [run_transcribe(store, v, settings, force=force) for v in selected]\n"
            "for r in results:\n    print(r.video_id, r.summary())",
            "for v in selected:\n    display(store.dataframe('SELECT start, end, text FROM transcript_segments"
            " WHERE video_id = ? ORDER BY start', (v.id,)))\n    timeline_figure(store, v.id).show()",
        ],
    ),
    "audio_events": dict(
        title="# Audio events\nWhistle, buzzer, crowd, music, speech and silence with YAMNet (bundled, offline).",
        params=COMMON_PARAMS,
        cells=[
            "from vidqa import open_store\nfrom vidqa.pipeline.process import run_audio_events\n"
            "from vidqa.report.figures import timeline_figure\n" + SELECT,
            "results = [run_audio_events(store, v, force=force) for v in selected]\n"
            "for r in results:\n    print(r.video_id, r.summary())",
            "for v in selected:\n    display(store.dataframe('SELECT kind, start, end, peak, confidence, labels"
            " FROM audio_events WHERE video_id = ? ORDER BY start', (v.id,)))\n    timeline_figure(store, v.id).show()",
        ],
    ),
    "detect": dict(
        title="# Visual analysis\nSampled frames + scene cuts, objects (SSD-MobileNet-v2 bundled, or YOLO weights you"
              " name) with colour attributes, and OCR.",
        params=COMMON_PARAMS + 'fps = 1.0\ndetector = "ssd-mobilenet-v2"\nmin_confidence = 0.4\nocr = True\n',
        cells=[
            "from vidqa import open_store\nfrom vidqa.pipeline.process import run_detect, VisualSettings\n"
            "from vidqa.report.figures import timeline_figure\n" + SELECT,
            "settings = VisualSettings(fps=fps, detector=detector, min_confidence=min_confidence, ocr=ocr)\n"
            "results = [run_detect(store, v, settings, force=force) for v in selected]\n"
            "for r in results:\n    print(r.video_id, r.summary())",
            "for v in selected:\n    display(store.dataframe('SELECT t, kind, label, confidence, attributes FROM"
            " visual_events WHERE video_id = ? ORDER BY t', (v.id,)))\n    timeline_figure(store, v.id).show()",
        ],
    ),
    "process": dict(
        title="# The processing core\nAll stages on every selected video, then a timeline per video and the"
              " speed of each stage.",
        params=COMMON_PARAMS,
        cells=[
            "from vidqa import open_store\nfrom vidqa.pipeline.process import process\n"
            "from vidqa.report.figures import timeline_figure, runs_figure\n" + SELECT,
            "for v in selected:\n    for r in process(store, v, force=force):\n        print(v.id, r.summary())",
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
    for name, spec in STAGE_NOTEBOOKS.items():
        nbformat.write(stage_notebook(spec), NB_DIR / f"{name}.ipynb")
        print(f"wrote notebooks/{name}.ipynb")


if __name__ == "__main__":
    main()

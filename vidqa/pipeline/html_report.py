"""Self-contained HTML reports from executed notebooks: open offline, no kernel, no CDN.

nbconvert on its own drops Plotly figures (their ``application/vnd.plotly.v1+json`` output has no HTML renderer),
fetches require.js, MathJax and the widget manager from CDNs, and shows saved progress bars as their first state
("0 %"). :func:`notebook_html` fixes all three:

- each Plotly figure becomes an HTML div drawn by one inline copy of plotly.js (the version installed here), with
  a static SVG-free fallback line naming the figure when scripts are blocked;
- widget views (tqdm bars and the like) become plain text of their last saved state;
- no ``<script src=...>`` or stylesheet points outside the file.

Example::

    from vidqa.pipeline.html_report import notebook_html
    notebook_html("reports/runs/12/process.ipynb", "reports/runs/12/process.html")
"""

from __future__ import annotations

import copy
import html
import json
import re
from pathlib import Path
from typing import Any

import nbformat

__all__ = ["notebook_html", "figure_html", "plotly_js"]

PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def plotly_js() -> str:
    """The installed plotly.js (minified), to inline once per report."""
    import plotly

    return (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_text(encoding="utf-8")


def figure_html(figure: Any, *, div_id: str | None = None) -> str:
    """One figure (a ``go.Figure`` or its JSON dict) as an HTML div that needs plotly.js on the page."""
    import plotly.io as pio

    fig = figure if hasattr(figure, "to_plotly_json") else pio.from_json(json.dumps(figure))
    title = fig.layout.title.text if fig.layout.title and fig.layout.title.text else "figure"
    div = pio.to_html(fig, include_plotlyjs=False, full_html=False, div_id=div_id,
                      config={"displaylogo": False, "responsive": True})
    return (f'<noscript><p>[{html.escape(str(title))}: interactive figure, needs JavaScript]</p></noscript>{div}')


def _widget_text(state: dict[str, Any], model_id: str, seen: set[str] | None = None) -> str:
    """Plain text of a widget's saved state (a tqdm bar is an HBox of HTML + FloatProgress + HTML)."""
    seen = seen or set()
    if model_id in seen or model_id not in state:
        return ""
    seen.add(model_id)
    st = state[model_id].get("state", {})
    name = state[model_id].get("model_name", "")
    if name in ("HBoxModel", "VBoxModel", "BoxModel"):
        kids = [c.removeprefix("IPY_MODEL_") for c in st.get("children", [])]
        bars = [k for k in kids if state.get(k, {}).get("model_name") in ("FloatProgressModel", "IntProgressModel")]
        if bars:  # a tqdm bar: its label, then the bar's final fill (the counters beside it may be stale)
            label = re.sub(r"\s*\d+%\s*$", "", _widget_text(state, kids[0], seen)) if kids[0] not in bars else ""
            return f"{label} {_widget_text(state, bars[0], seen)}".strip()
        parts = [_widget_text(state, k, seen) for k in kids]
        return " ".join(p for p in parts if p).strip()
    if name in ("FloatProgressModel", "IntProgressModel"):
        lo, hi, value = st.get("min", 0), st.get("max", 100) or 100, st.get("value", 0)
        share = min(1.0, max(0.0, (value - lo) / (hi - lo))) if hi != lo else 1.0
        fill = round(20 * share)
        return f"[{'#' * fill}{'.' * (20 - fill)}] {100 * share:.0f}% ({value:g}/{hi:g})"
    value = st.get("value", st.get("description", ""))
    text = html.unescape(re.sub(r"<[^>]+>", "", str(value)))
    return text.replace("\u2007", " ").strip()


def _static_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = copy.deepcopy(nb)
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data")
            if not data:
                continue
            if PLOTLY_MIME in data:
                data["text/html"] = figure_html(data[PLOTLY_MIME])
                del data[PLOTLY_MIME]
            if WIDGET_MIME in data:
                model = data[WIDGET_MIME].get("model_id", "")
                text = _widget_text(state, model) or data.get("text/plain", "")
                data.clear()
                data["text/plain"] = text
    nb.metadata.pop("widgets", None)
    return nb


def notebook_html(ipynb: str | Path, out: str | Path | None = None, *, title: str | None = None) -> Path:
    """Render an executed notebook to one self-contained HTML file (default: next to it, ``.html``)."""
    from nbconvert import HTMLExporter

    src = Path(ipynb)
    dest = Path(out) if out else src.with_suffix(".html")
    nb = _static_notebook(nbformat.read(src, as_version=4))
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    for url in ("mathjax_url", "require_js_url", "jquery_url", "widget_renderer_url", "jupyter_widgets_base_url",
                "mermaid_js_url", "mermaid_layout_elk_js_url"):
        if hasattr(exporter, url):
            setattr(exporter, url, "")
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title or src.stem}})
    body = _strip_remote(body)
    body = body.replace("</head>", f"<script>{plotly_js()}</script>\n</head>", 1)
    tmp = dest.with_name(f".{dest.name}.part")
    tmp.write_text(body, encoding="utf-8")
    tmp.replace(dest)
    return dest


_REMOTE_TAG = re.compile(r"<script[^>]+src=[\"']https?://[^>]*>\s*</script>|<link[^>]+href=[\"']https?://[^>]*>",
                         re.I)
_REMOTE_SCRIPT = re.compile(r"<script[^>]*>(?:(?!</script>).)*(?:https?://(?:cdn|unpkg)[^\s\"']*)(?:(?!</script>).)*"
                            r"</script>", re.I | re.S)


def _strip_remote(body: str) -> str:
    """Drop every script or stylesheet that would load from the network."""
    body = _REMOTE_TAG.sub("", body)
    return _REMOTE_SCRIPT.sub("", body)

"""The results dashboard as reviewers meet it: Voila serves notebooks/dashboard.ipynb over a seeded result set;
headless Chromium checks that the figures render, that a filter redraws them, and that HTML in a model's answer
is shown as text and never runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from needs import missing
from voila_app import poll, voila

from vidqa.report import failures_table, filter_results, results_frame
from vidqa.store import Store
from vidqa.testing.results import HOSTILE_ANSWER, synthetic_results

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"


def dashboard_notebook(dest: Path, db: Path) -> Path:
    nb = json.loads((REPO / "notebooks" / "dashboard.ipynb").read_text())
    for cell in nb["cells"]:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            cell["source"] = f"db = {str(db)!r}\neval_run = None\n"
    dest.write_text(json.dumps(nb))
    return dest


def test_the_dashboard_renders_filters_and_shows_answers_as_text(tmp_path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright package is not installed (pip install -e '.[test]')")
    if not Path(CHROMIUM).exists():
        missing("needs /usr/bin/chromium")
    store = Store(tmp_path / "data" / "vidqa.db")
    truth = synthetic_results(store, n_questions=40, seed=5)
    store.close()
    df = results_frame(Store(tmp_path / "data" / "vidqa.db", readonly=True))
    table = failures_table(filter_results(df, models=["model/a"]))
    hostile_at = next(i for i, t in enumerate(table["predicted_text"]) if t == HOSTILE_ANSWER)
    notebook = dashboard_notebook(tmp_path / "dashboard.ipynb", tmp_path / "data" / "vidqa.db")
    with voila(notebook, tmp_path) as (url, log), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.goto(url, timeout=120_000)
        page.wait_for_selector(".js-plotly-plot", timeout=120_000)
        def accuracy_traces() -> list[str]:  # the trace names plotly.js drew in the first figure
            return page.evaluate("() => (document.querySelector('.js-plotly-plot').data || []).map(t => t.name)")

        poll(lambda: sorted(accuracy_traces()) == sorted(truth.accuracy), 60, "a bar series per model")
        assert page.locator(".js-plotly-plot").count() >= 2  # accuracy and consistency on the first tab
        assert page.locator(".js-plotly-plot .main-svg").count() >= 2  # drawn, not just placed

        model = page.locator(".widget-dropdown").filter(has_text="model").locator("select")
        model.select_option(label="model/a")
        poll(lambda: accuracy_traces() == ["model/a"], 60, "the accuracy figure redrawn for one model")

        page.locator(".lm-TabBar-tabLabel", has_text="failures").click()
        page.locator(".widget-select select").select_option(index=hostile_at)
        detail = page.locator(".widget-textarea textarea")
        poll(lambda: HOSTILE_ANSWER in detail.input_value(), 60, "the failure's details")
        assert page.evaluate("window.__vidqaPwned") is None  # the answer's HTML never ran
        assert page.locator("img[src='x']").count() == 0
        page.screenshot(path=str(tmp_path / "dashboard.png"))
        browser.close()
    assert "Traceback" not in log.read_text()

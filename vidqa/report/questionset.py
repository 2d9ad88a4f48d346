"""Question-set health: option position and length bias, why candidates were dropped, review agreement.

Example::

    from vidqa import open_store
    from vidqa.report import question_health_figure
    question_health_figure(open_store("data/vidqa.db", readonly=True)).show()
"""

from __future__ import annotations

from collections import Counter

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vidqa.questions.options import bias_stats
from vidqa.review.agreement import agreement, pair_reviews
from vidqa.store import Store

__all__ = ["question_health", "question_health_figure", "questions_table"]


def question_health(store: Store) -> dict:
    """Counts, bias statistics, drop reasons and kappa of the stored question set (plain data)."""
    questions = store.questions()
    kept = [q for q in questions if q.status in ("draft", "validated")]
    drops = Counter((q.drop_reason or "unknown").split(":", 1)[0].strip() for q in questions
                    if q.status == "dropped")
    pairs = pair_reviews(store.reviews(), {q.id: q.category for q in questions if q.id is not None})
    report = agreement(pairs)
    return {
        "n": len(questions),
        "status": dict(Counter(q.status for q in questions)),
        "categories": dict(Counter(q.category for q in kept)),
        "bias": bias_stats(kept),
        "drops": dict(drops),
        "agreement": report.rows(),
    }


def question_health_figure(store: Store) -> go.Figure:
    """Four panels: answer position (per slot, chance line), answer length vs the other options, drop reasons,
    Cohen's kappa per category (second review)."""
    h = question_health(store)
    fig = make_subplots(rows=2, cols=2, subplot_titles=(
        "Where the right answer sits", "Is the right answer the longest option?", "Why candidates were dropped",
        "Review agreement (Cohen's kappa)"))
    for n, pos in h["bias"]["positions"].items():
        fig.add_trace(go.Bar(x=[chr(65 + i) for i in range(int(n))], y=pos["shares"], name=f"{n} options",
                             showlegend=False), row=1, col=1)
        fig.add_hline(y=1 / int(n), line_dash="dot", row=1, col=1)
    b = h["bias"]
    fig.add_trace(go.Bar(x=["longest: answer", "longest: chance", "shortest: answer", "shortest: chance"],
                         y=[b["longest_share"], b["longest_chance"], b["shortest_share"], b["shortest_chance"]],
                         showlegend=False), row=1, col=2)
    drops = h["drops"] or {"(none)": 0}
    fig.add_trace(go.Bar(x=list(drops.values()), y=list(drops.keys()), orientation="h", showlegend=False),
                  row=2, col=1)
    rows = [r for r in h["agreement"] if r["pairs"]]
    fig.add_trace(go.Bar(x=[r["category"] for r in rows], y=[r["kappa"] if r["kappa"] is not None else 0
                                                             for r in rows],
                         customdata=[[r["pairs"], r["note"]] for r in rows],
                         hovertemplate="%{x}: kappa %{y:.2f} over %{customdata[0]} pairs %{customdata[1]}"
                                       "<extra></extra>", showlegend=False), row=2, col=2)
    status = ", ".join(f"{k} {v}" for k, v in sorted(h["status"].items()))
    fig.update_layout(title=f"Question set: {h['n']} questions ({status})", height=620)
    fig.update_yaxes(tickformat=".0%", row=1, col=1)
    fig.update_yaxes(tickformat=".0%", row=1, col=2)
    return fig


def questions_table(store: Store, status: str | None = None) -> pd.DataFrame:
    """The questions as a table (one row each; options joined by ' | ')."""
    rows = []
    for q in store.questions(status=status):
        rows.append({"id": q.id, "video_id": q.video_id, "category": q.category, "status": q.status,
                     "question": q.question, "options": " | ".join(q.options), "answer": q.answer,
                     "t_start": q.t_start, "t_end": q.t_end, "confidence": q.confidence,
                     "drop_reason": q.drop_reason})
    return pd.DataFrame(rows)

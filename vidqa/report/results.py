"""Evaluation results as figures: where models fail, at a glance.

:func:`results_frame` reads the store's ``eval_results`` view (one row per model answer, with its score) joined
with the questions (window, wording, gold); every figure function takes that frame, so a dashboard filters once
and draws many. Accuracies always say how many answers were left out as unscored (errors, refusals, unreadable
answers): an error is never counted as a wrong answer.

Example::

    from vidqa import open_store
    from vidqa.report import results_frame, accuracy_figure
    df = results_frame(open_store("data/vidqa.db", readonly=True))
    accuracy_figure(df).show()
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from vidqa.score.stats import accuracy_table, consistency_table, error_breakdown
from vidqa.store import Store

__all__ = ["results_frame", "filter_results", "review_note", "accuracy_figure", "consistency_figure", "errors_figure",
           "gate_figure", "transport_figure", "cost_latency_figure", "failure_heatmap", "failures_table"]

_QUESTION_COLUMNS = "q.t_start, q.t_end, q.question, q.answer AS gold_answer, q.status AS question_status, q.gate"
CONDITIONS = ("full", "deaf", "blind", "question_only")


def results_frame(store: Store, *, eval_run: int | None = None) -> pd.DataFrame:
    """Every scored (or unscored) model answer with its question's window and wording (empty frame if none)."""
    tables = set(store.db.table_names()) | set(store.db.view_names())
    if "eval_results" not in tables:
        return pd.DataFrame()
    sql = (f"SELECT e.*, {_QUESTION_COLUMNS} FROM eval_results e LEFT JOIN questions q ON q.id = e.question_id")
    params: list[Any] = []
    if eval_run is not None:
        sql += " WHERE e.eval_run_id = ?"
        params.append(eval_run)
    return pd.DataFrame(store.query(sql, params))


def filter_results(df: pd.DataFrame, *, models: Sequence[str] | None = None, categories: Sequence[str] | None = None,
                   transports: Sequence[str] | None = None, eval_runs: Sequence[int] | None = None) -> pd.DataFrame:
    """Rows of ``df`` whose model / category / transport / eval run is among those given (``None`` keeps all)."""
    if df.empty:
        return df
    keep = np.ones(len(df), dtype=bool)
    for col, values in (("model", models), ("category", categories), ("transport", transports),
                        ("eval_run_id", eval_runs)):
        if values:
            keep &= df[col].isin(list(values)).to_numpy()
    return df[keep]


def _rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    return df.to_dict("records") if not df.empty else []


def _empty(title: str, why: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=title, xaxis={"visible": False}, yaxis={"visible": False}, height=220,
                      annotations=[{"text": why, "showarrow": False, "xref": "paper", "yref": "paper", "x": 0.5,
                                    "y": 0.5}])
    return fig


def review_note(df: pd.DataFrame) -> str:
    """``"UNREVIEWED: 4 of 4 questions are drafts no person has validated"`` (empty when all are validated)."""
    if df.empty or "question_status" not in df:
        return ""
    per_q = df.drop_duplicates("question_id")
    n = int((per_q["question_status"] != "validated").sum())
    return f"UNREVIEWED: {n} of {len(per_q)} questions are drafts no person has validated" if n else ""


def _left_out(df: pd.DataFrame) -> str:
    if df.empty:
        return ""
    n = int((df["status"] == "unscored").sum())
    return f" — {n} of {len(df)} answers unscored (errors/refusals), left out" if n else ""


def accuracy_figure(df: pd.DataFrame, *, seed: int = 0, n_boot: int = 1000) -> go.Figure:
    """Accuracy per category and model, with bootstrap 95 % intervals (question-level resampling)."""
    if df.empty:
        return _empty("Accuracy per category", "no evaluation results yet")
    table = accuracy_table(_rows(df), by=("model", "category"), seed=seed, n_boot=n_boot)
    fig = go.Figure()
    for model in sorted({r.keys["model"] for r in table}):
        rows = [r for r in table if r.keys["model"] == model and r.accuracy is not None]
        fig.add_trace(go.Bar(
            name=model, x=[r.keys["category"] for r in rows], y=[r.accuracy for r in rows],
            error_y={"type": "data", "symmetric": False, "array": [r.ci_high - r.accuracy for r in rows],
                     "arrayminus": [r.accuracy - r.ci_low for r in rows]},
            customdata=[[r.n_scored, r.n_unscored, r.n_questions] for r in rows],
            hovertemplate="%{x}: %{y:.1%}<br>%{customdata[0]} scored, %{customdata[1]} unscored, "
                          "%{customdata[2]} questions<extra>" + model + "</extra>"))
    note = review_note(df)
    fig.update_layout(title="Accuracy per category (95 % bootstrap interval)" + _left_out(df)
                      + (f"<br><sub>{note}</sub>" if note else ""), barmode="group",
                      yaxis={"title": "accuracy", "range": [0, 1], "tickformat": ".0%"}, legend_title="model")
    return fig


def consistency_figure(df: pd.DataFrame) -> go.Figure:
    """Plain accuracy vs consistent accuracy (right under every option order) per model and transport."""
    if df.empty:
        return _empty("Plain vs consistent accuracy", "no evaluation results yet")
    table = consistency_table(_rows(df), by=("model", "transport"))
    labels = [f"{r['model']} · {r['transport']}" for r in table]
    fig = go.Figure([
        go.Bar(name="plain (any option order)", x=labels, y=[r["plain"] for r in table]),
        go.Bar(name="consistent (every option order)", x=labels, y=[r["consistent"] for r in table]),
    ])
    fig.update_layout(title="Plain vs consistent accuracy: position bias is not skill", barmode="group",
                      yaxis={"range": [0, 1], "tickformat": ".0%"})
    return fig


def errors_figure(df: pd.DataFrame) -> go.Figure:
    """What kind of mistake each model makes (error categories of wrong answers, and unscored answers)."""
    if df.empty:
        return _empty("Error categories", "no evaluation results yet")
    table = error_breakdown(_rows(df), by=("model",))
    kinds = sorted({k for r in table for k in r if k not in ("model", "correct")})
    fig = go.Figure([go.Bar(name=k, x=[r["model"] for r in table], y=[r.get(k, 0) for r in table])
                     for k in kinds])
    fig.update_layout(title="Error categories of wrong answers (and unscored answers)", barmode="stack",
                      yaxis_title="answers")
    return fig


def gate_figure(df: pd.DataFrame) -> go.Figure:
    """The modality gate: accuracy with both modalities, frames only (deaf), audio only (blind), question only."""
    if df.empty or "condition" not in df:
        return _empty("Modality gate", "no evaluation results yet")
    table = accuracy_table(_rows(df), by=("model", "condition"), condition=None, n_boot=200)
    fig = go.Figure()
    for cond in [c for c in CONDITIONS if any(r.keys["condition"] == c for r in table)]:
        rows = [r for r in table if r.keys["condition"] == cond and r.accuracy is not None]
        fig.add_trace(go.Bar(name=cond, x=[r.keys["model"] for r in rows], y=[r.accuracy for r in rows],
                             customdata=[r.n_scored for r in rows],
                             hovertemplate="%{x}: %{y:.1%} of %{customdata} scored<extra>" + cond + "</extra>"))
    flagged = 0
    if "gate" in df:
        flagged = int(df.drop_duplicates("question_id")["gate"].fillna("{}").str.contains("true").sum())
    fig.update_layout(title=f"Modality gate: what one modality answers ({flagged} question(s) flagged as not "
                            "needing both)", barmode="group", yaxis={"range": [0, 1], "tickformat": ".0%"})
    return fig


def transport_figure(df: pd.DataFrame) -> go.Figure:
    """Leaderboard per transport: accuracy of each model by what it was given (video, frames+audio, ...)."""
    if df.empty:
        return _empty("Accuracy per input route", "no evaluation results yet")
    table = accuracy_table(_rows(df), by=("model", "transport"), n_boot=200)
    models = sorted({r.keys["model"] for r in table})
    transports = sorted({r.keys["transport"] for r in table})
    z = [[next((r.accuracy for r in table if r.keys["model"] == m and r.keys["transport"] == t), None)
          for t in transports] for m in models]
    fig = go.Figure(go.Heatmap(z=z, x=transports, y=models, zmin=0, zmax=1, colorscale="Viridis",
                               text=[[f"{v:.0%}" if v is not None else "" for v in row] for row in z],
                               texttemplate="%{text}", hovertemplate="%{y} · %{x}: %{z:.1%}<extra></extra>"))
    fig.update_layout(title="Leaderboard per input route (what each route costs each model)")
    return fig


def cost_latency_figure(df: pd.DataFrame) -> go.Figure:
    """Mean latency and total cost per model (cached answers excluded from latency)."""
    if df.empty:
        return _empty("Cost and latency", "no evaluation results yet")
    live = df[df.get("cached", 0).fillna(0).astype(int) == 0] if "cached" in df else df
    grouped = live.groupby("model").agg(latency=("latency", "mean"), cost=("cost", "sum"), n=("model", "size"))
    fig = go.Figure(go.Scatter(x=grouped["latency"], y=grouped["cost"].fillna(0), mode="markers+text",
                               text=list(grouped.index), textposition="top center",
                               marker={"size": np.clip(np.sqrt(grouped["n"].to_numpy()) * 3, 8, 40)},
                               hovertemplate="%{text}: %{x:.2f} s mean, $%{y:.4f} total<extra></extra>"))
    fig.update_layout(title="Cost and latency per model", xaxis_title="mean latency (s)", yaxis_title="cost (USD)")
    return fig


def failure_heatmap(df: pd.DataFrame, store: Store | None = None, video_id: str | None = None, *,
                    bin_seconds: float = 5.0) -> go.Figure:
    """Where in a video models fail: failure rate per time bin and model, above the cues of that moment
    (transcript lines, audio events and on-screen text, from the store)."""
    from plotly.subplots import make_subplots

    if df.empty:
        return _empty("Failures over video time", "no evaluation results yet")
    video_id = video_id or str(df["video_id"].mode().iat[0])
    rows = df[(df["video_id"] == video_id) & df["status"].isin(["correct", "wrong"])]
    if rows.empty:
        return _empty("Failures over video time", f"no scored answers for video {video_id}")
    centre = (rows["t_start"].astype(float) + rows["t_end"].astype(float)) / 2
    bins = (centre // bin_seconds).astype(int)
    models = sorted(rows["model"].unique())
    n_bins = int(bins.max()) + 1
    z = np.full((len(models), n_bins), np.nan)
    counts = np.zeros((len(models), n_bins), dtype=int)
    for (m, b), grp in rows.assign(bin=bins).groupby(["model", "bin"]):
        z[models.index(m), b] = float((grp["status"] == "wrong").mean())
        counts[models.index(m), b] = len(grp)
    x = [b * bin_seconds + bin_seconds / 2 for b in range(n_bins)]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.6, 0.4], vertical_spacing=0.05)
    fig.add_trace(go.Heatmap(z=z, x=x, y=models, zmin=0, zmax=1, colorscale="Reds", customdata=counts,
                             colorbar={"title": "failure rate", "len": 0.6, "y": 0.75},
                             hovertemplate="%{y} at %{x:.0f} s: %{z:.0%} wrong of %{customdata}<extra></extra>"),
                  row=1, col=1)
    if store is not None:
        tracks: list[tuple[str, float, float, str]] = []
        tracks += [("speech", s.start, s.end, s.text.strip()) for s in store.transcript(video_id)]
        tracks += [(f"audio: {e.kind}", e.start, e.end, e.kind) for e in store.audio_events(video_id)
                   if e.kind not in ("speech", "silence")]
        tracks += [("text", e.t, e.end if e.end is not None else e.t + 1.0, e.label)
                   for e in store.visual_events(video_id, "text")]
        for name in dict.fromkeys(t[0] for t in tracks):
            items = [t for t in tracks if t[0] == name]
            fig.add_trace(go.Bar(y=[name] * len(items), x=[max(e - s, 0.1) for _, s, e, _ in items],
                                 base=[s for _, s, _, _ in items], orientation="h", showlegend=False,
                                 hovertext=[h for *_, h in items], hoverinfo="text+x"), row=2, col=1)
    fig.update_layout(title=f"Where models fail in {video_id} (per {bin_seconds:g} s), beside the cues",
                      height=520, bargap=0.3)
    fig.update_xaxes(title_text="media time (s)", row=2, col=1)
    return fig


def failures_table(df: pd.DataFrame, *, limit: int = 500) -> pd.DataFrame:
    """Wrong and unscored answers with what a reviewer needs to judge them (question, gold, model answer)."""
    if df.empty:
        return df
    cols = [c for c in ("response_id", "question_id", "video_id", "model", "transport", "category", "status",
                        "error_category", "question", "gold_answer", "predicted_text", "predicted", "reason",
                        "t_start", "t_end") if c in df]
    bad = df[(df["status"] != "correct") & (df.get("condition", "full") == "full")]
    return bad[cols].head(limit).reset_index(drop=True)

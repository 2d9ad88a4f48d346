"""Plotly figures over the store: what people would rather look at than read.

Example::

    from vidqa import open_store
    from vidqa.report.figures import timeline_figure
    timeline_figure(open_store("data/vidqa.db", readonly=True), "3f2a9c1b7d4e").show()
"""

from __future__ import annotations

import plotly.graph_objects as go

from vidqa.store import Store

__all__ = ['KIND_COLOURS', 'timeline_figure', 'runs_figure']

KIND_COLOURS = {
    "speech": "#4c78a8", "whistle": "#e45756", "buzzer": "#f58518", "crowd": "#54a24b", "music": "#b279a2",
    "silence": "#bab0ac", "object": "#72b7b2", "text": "#eeca3b", "scene_cut": "#000000", "note": "#9d755d",
    "transcript": "#4c78a8",
}


def timeline_figure(store: Store, video_id: str, *, max_objects: int = 2000) -> go.Figure:
    """One row per track (transcript, audio events by kind, objects, text, scene cuts, notes) on media time."""
    video = store.video(video_id)
    fig = go.Figure()

    def bars(track: str, items: list[tuple[float, float, str]], colour: str) -> None:
        if not items:
            return
        fig.add_trace(go.Bar(
            y=[track] * len(items), x=[max(e - s, 0.05) for s, e, _ in items], base=[s for s, _, _ in items],
            orientation="h", marker_color=colour, name=track, hovertext=[h for _, _, h in items],
            hoverinfo="text+x", showlegend=False,
        ))

    bars("transcript", [(s.start, s.end, s.text) for s in store.transcript(video.id)], KIND_COLOURS["transcript"])
    for e in store.audio_events(video.id):
        top = ", ".join(f"{name} {score:.2f}" for name, score in e.labels[:3])
        bars(f"audio: {e.kind}", [(e.start, e.end, f"{e.kind} {e.confidence:.2f} ({top})")],
             KIND_COLOURS.get(e.kind, "#888"))
    visual = store.visual_events(video.id)
    objects = [e for e in visual if e.kind == "object"][:max_objects]
    if objects:
        fig.add_trace(go.Scatter(
            x=[e.t for e in objects], y=[f"object: {e.label}" for e in objects], mode="markers",
            marker=dict(size=[6 + 10 * e.confidence for e in objects], color=KIND_COLOURS["object"]),
            hovertext=[f"{e.label} {e.confidence:.2f} {e.attributes.get('colour', '')}" for e in objects],
            hoverinfo="text+x", showlegend=False,
        ))
    texts = [e for e in visual if e.kind == "text"]
    if texts:
        fig.add_trace(go.Scatter(x=[e.t for e in texts], y=["on-screen text"] * len(texts), mode="markers",
                                 marker=dict(symbol="square", color=KIND_COLOURS["text"], size=10),
                                 hovertext=[e.label for e in texts], hoverinfo="text+x", showlegend=False))
    for e in visual:
        if e.kind == "scene_cut":
            fig.add_vline(x=e.t, line_dash="dot", line_color="#444")
    notes = store.notes(video.id)
    if notes:
        fig.add_trace(go.Scatter(x=[n.t for n in notes], y=["notes"] * len(notes), mode="markers",
                                 marker=dict(symbol="diamond", color=KIND_COLOURS["note"], size=11),
                                 hovertext=[n.text for n in notes], hoverinfo="text+x", showlegend=False))
    fig.update_layout(
        title=f"{video.title} ({video.id}): what vidqa found", barmode="overlay",
        xaxis=dict(title="media time (s)", range=[0, video.duration]), height=260 + 22 * len(fig.data),
        margin=dict(l=160, r=20, t=50, b=40), template="plotly_white",
    )
    return fig


def runs_figure(store: Store) -> go.Figure:
    """Speed of each finished stage run (media seconds per wall second)."""
    runs = [r for r in store.runs() if r.status == "done" and r.seconds and r.media_seconds]
    fig = go.Figure(go.Bar(
        x=[f"{r.stage} #{r.id}" for r in runs], y=[r.media_seconds / r.seconds for r in runs],
        hovertext=[f"{r.video_id}: {r.seconds:.1f} s for {r.media_seconds:.1f} s of media" for r in runs],
        marker_color=[KIND_COLOURS.get(r.stage, "#4c78a8") for r in runs],
    ))
    fig.update_layout(title="Stage speed (x realtime, higher is faster)", yaxis_title="media s / wall s",
                      template="plotly_white", height=360)
    return fig

"""Candidates: every (template, anchor, visual facts) that could become a question, one builder per relation.

A builder checks the visual side frame by frame over the window (:meth:`~vidqa.questions.windows.CueIndex.cover`):
the fact holds at every sample, the object it names is the only one of its label (or synonym) on screen, the count
matches the raw detections, the text is the only text on screen, the leftmost/nearest object wins by a clear
margin at every sample. Candidates are grouped by the visual fact they ask about (:attr:`Candidate.group`): the
generator keeps at most one question per group, taking the first anchor that passes the leak checks.

Example::

    for group in build_candidates(template, index, onto):
        print(group[0].answer, [c.anchor.kind for c in group])
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from vidqa.questions.ontology import Ontology, Template
from vidqa.questions.templates import anchor_fields, fact_fields, group, noun
from vidqa.questions.windows import Anchor, CueIndex, Fact

__all__ = ["Candidate", "build_candidates"]

MAX_ANCHORS_PER_GROUP = 16


@dataclass
class Candidate:
    """One possible question, before wording checks and options."""

    template: Template
    anchor: Anchor
    target: Fact
    answer: str
    t_start: float
    t_end: float
    fields: dict[str, str]
    option_kind: str
    """``colour``, ``count``, ``text``, ``label`` (distractors from ``pool``) or ``fixed`` (``pool`` is the options)."""
    pool: list[str]
    group: tuple
    confidence: float
    events: tuple[int, ...] = ()
    other: Fact | None = None
    about: tuple[str, ...] = ()
    """Labels the question is about (for the heard check)."""
    extra: tuple[str, ...] = ()
    """More words that, heard near the window, give the answer away."""
    spatial: bool = False
    """Spatial words (left, right ...) heard near the window give the answer away."""
    box: tuple[float, float, float, float] | None = None


def _window(t: Template, a: Anchor, after_s: float) -> tuple[float, float]:
    return (a.start, a.end) if t.relation != "after" else (a.end, a.end + after_s)


def _mean_box(boxes: list[tuple]) -> tuple[float, float, float, float] | None:
    if not boxes:
        return None
    return tuple(sum(b[i] for b in boxes) / len(boxes) for i in range(4))  # type: ignore[return-value]


def _anchors_for(t: Template, index: CueIndex, start: float, end: float) -> list[Anchor]:
    return [a for a in index.anchors_between(start, end) if a.kind in t.audio_kinds]


def build_candidates(t: Template, index: CueIndex, onto: Ontology) -> Iterator[list[Candidate]]:
    """Groups of candidates of template ``t`` (one group per visual fact), in time order."""
    if t.relation in ("during", "after"):
        yield from _single(t, index, onto)
    elif t.relation == "order":
        yield from _order(t, index, onto)
    elif t.relation == "leftmost":
        yield from _layout(t, index, onto, "leftmost")
    elif t.relation == "nearest":
        yield from _layout(t, index, onto, "nearest")
    elif t.relation == "more":
        yield from _more(t, index, onto)


# --- during / after ---------------------------------------------------------------------------------------------
def _single(t: Template, index: CueIndex, onto: Ontology) -> Iterator[list[Candidate]]:
    field_name = t.answer.split(".", 1)[1]
    kinds = set(t.slots["target"])
    after_s = onto.check("after_s")
    margin = onto.check("distractor_margin_s")
    if field_name == "colour":
        okinds = {"object", "region"} if "colour" in kinds else kinds & {"object", "region"}
        facts = [f for f in index.facts("colour") if f.object_kind in okinds]
    elif field_name == "count":
        facts = index.facts("count")
    elif field_name == "text":
        facts = index.texts
    else:
        facts = index.facts("object")
    for f in facts:
        out: list[Candidate] = []
        for a in _anchors_for(t, index, f.start - 10.0, f.end):
            w0, w1 = _window(t, a, after_s)
            if w0 < f.start - 1e-6 or w1 > f.end + 1e-6:
                continue
            samples = index.cover(w0, w1)
            if samples is None:
                continue
            events = _check_single(field_name, f, samples, index, onto)
            if events is None:
                continue
            t0, t1 = min(a.start, w0), max(a.end, w1)
            answer = {"colour": f.colour, "count": str(f.count), "text": f.text, "label": f.label}[field_name]
            if not answer:
                continue
            fields = {**anchor_fields(a, onto), **fact_fields("target", f, onto)}
            if field_name == "text":
                others = [x.text for x in index.texts if x.text != f.text and not (x.start < t1 + margin and
                                                                                   x.end > t0 - margin)]
                pool, kind = [o for o in others if o], "text"
            elif field_name == "colour":
                pool, kind = list(index.colours_seen), "colour"
            elif field_name == "count":
                pool, kind = [], "count"
            else:
                near = index.labels_near(t0 - margin, t1 + margin)
                pool = [*sorted(index.labels_seen - near),
                        *[x for x in onto.distractors.get("label", ()) if x not in index.labels_anywhere]]
                pool, kind = [x for x in pool if x not in near], "label"
            box = _mean_box([index.objects_at[k][i].box for k in samples
                             for i in range(len(index.objects_at[k])) if index.objects_at[k][i].event in events])
            out.append(Candidate(
                t, a, f, answer, round(t0, 3), round(t1, 3), fields, kind, pool,
                group=(t.category, f.kind, f.label, f.colour, f.text, f.count, round(f.start, 2)),
                confidence=min(a.confidence, f.confidence), events=(*f.events[:1], *events),
                about=(f.label,) if f.kind != "text" else (), box=box or f.box,
            ))
        if out:
            yield out[:MAX_ANCHORS_PER_GROUP]


def _check_single(field_name: str, f: Fact, samples: list[int], index: CueIndex, onto: Ontology
                  ) -> tuple[int, ...] | None:
    """The detections that show ``f`` at every sample, or ``None`` when a sample does not."""
    events: list[int] = []
    if field_name == "text":
        for other in index.texts:
            if other.text != f.text and other.start < index.times[samples[-1]] + index.dt and \
                    other.end > index.times[samples[0]]:
                return None  # another line of text on screen: "the text" is ambiguous
        return ()
    for k in samples:
        objs = index.objects_at[k]
        if field_name == "colour":
            same = [o for o in objs if o.label == f.label and o.kind == f.object_kind]
            if len(same) != 1 or index.instances(k, f.label, onto) != 1:
                return None
            if same[0].colour not in (None, f.colour):
                return None
            events.append(same[0].event)
        elif field_name == "count":
            if f.object_kind == "region":
                same = [o for o in objs if o.kind == "region" and o.label == f.label and o.colour == f.colour]
                if len(same) != f.count:
                    return None
            else:
                same = [o for o in objs if o.kind == "object" and o.label == f.label]
                if len(same) != f.count or index.instances(k, f.label, onto) != f.count:
                    return None
            events += [o.event for o in same]
        else:  # label: present at every sample
            same = [o for o in objs if o.kind == "object" and o.label == f.label]
            if not same:
                return None
            events += [o.event for o in same]
    return tuple(events)


# --- order ------------------------------------------------------------------------------------------------------
def _onsets(index: CueIndex, kinds: set[str]) -> list[Fact]:
    """First appearances of each text and (when asked) each detector label, not at the very start."""
    out: list[Fact] = []
    if "text" in kinds:
        first: dict[str, Fact] = {}
        for f in index.texts:
            if f.text not in first or f.start < first[f.text].start:
                first[f.text] = f
        out += first.values()
    if "object" in kinds:
        first_obj: dict[str, Fact] = {}
        for f in index.facts("object"):
            if f.label not in first_obj:
                first_obj[f.label] = f
        for f in first_obj.values():
            seen_before = index.labels_near(f.start - 2.0, f.start - 1e-3)
            if f.label not in seen_before:
                out.append(f)
    return [f for f in out if f.start > index.dt]


def _order(t: Template, index: CueIndex, onto: Ontology) -> Iterator[list[Candidate]]:
    kinds = set(t.slots["target"])
    lo, hi = onto.check("min_order_gap_s"), onto.check("max_order_gap_s")
    for f in sorted(_onsets(index, kinds), key=lambda x: x.start):
        sharp = any(abs(c - f.start) <= index.dt + 1e-6 for c in index.cuts)
        out: list[Candidate] = []
        for a in _anchors_for(t, index, f.start - hi, f.start + hi):
            if a.kind == "speech":
                continue
            gap = f.start - a.start
            if not lo <= abs(gap) <= hi:
                continue
            if gap > 0 and not sharp:
                continue  # the sound comes first: the onset must be sharp (a cut), not a late detection
            # the window opens before the onset, so the appearance itself is seen
            t0, t1 = max(0.0, min(a.start, f.start - index.dt)), max(a.end, f.start + index.dt)
            if any(o.kind == a.kind and o is not index.audio_events[a.event] and o.start < t1 + 1.0
                   and o.end > t0 - 1.0 for o in index.audio_events):
                continue
            audio_option = anchor_fields(a, onto)["anchor.noun"]
            visual_option = noun(f, onto) + " appearing"
            answer = audio_option if gap > 0 else visual_option
            fields = {**anchor_fields(a, onto), "target.noun": noun(f, onto)}
            out.append(Candidate(
                t, a, f, answer, round(t0, 3), round(t1, 3), fields, "fixed", [audio_option, visual_option],
                group=(t.category, f.kind, f.label, round(f.start, 2)), confidence=min(a.confidence, f.confidence),
                events=f.events[:1], extra=(f.text or f.label,), box=f.box,
            ))
        if out:
            yield out[:MAX_ANCHORS_PER_GROUP]


# --- layout: leftmost / nearest ---------------------------------------------------------------------------------
def _unique_objects(index: CueIndex, samples: list[int], onto: Ontology) -> dict[str, list]:
    """Labels shown exactly once at every sample (trusted and raw), with their detections per sample."""
    labels: set[str] | None = None
    per: dict[str, list] = {}
    for k in samples:
        objs = [o for o in index.objects_at[k] if o.kind == "object"]
        names = {o.label for o in objs}
        here = {n for n in names if sum(o.label == n for o in objs) == 1 and index.instances(k, n, onto) == 1}
        labels = here if labels is None else labels & here
        for o in objs:
            per.setdefault(o.label, []).append(o)
    return {n: per[n] for n in sorted(labels or ())}


def _centre(box) -> tuple[float, float]:
    return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


def _layout(t: Template, index: CueIndex, onto: Ontology, mode: str) -> Iterator[list[Candidate]]:
    gap = onto.check("min_position_gap")
    groups: dict[tuple, list[Candidate]] = {}
    order: list[tuple] = []
    for a in index.anchors:
        if a.kind not in t.audio_kinds:
            continue
        samples = index.cover(a.start, a.end)
        if samples is None:
            continue
        objs = _unique_objects(index, samples, onto)
        if not 2 <= len(objs) <= (4 if mode == "leftmost" else 5):
            continue
        labels = list(objs)
        if mode == "leftmost":
            winners = set()
            for j in range(len(samples)):
                boxes = {n: objs[n][j].box for n in labels}
                ranked = sorted(labels, key=lambda n: _centre(boxes[n])[0])
                best, rest = ranked[0], ranked[1:]
                ok = all(_centre(boxes[r])[0] - _centre(boxes[best])[0] >= gap and
                         boxes[r][0] - boxes[best][0] >= gap / 2 for r in rest)
                winners.add(best if ok else None)
            if len(winners) != 1 or None in winners:
                continue
            answer = winners.pop()
            results = [(answer, None, labels)]
        else:
            results = []
            for target in labels:
                others = [n for n in labels if n != target]
                if not 2 <= len(others) <= 4:
                    continue
                winners = set()
                for j in range(len(samples)):
                    c = _centre(objs[target][j].box)
                    dist = sorted((((_centre(objs[n][j].box)[0] - c[0]) ** 2 +
                                    (_centre(objs[n][j].box)[1] - c[1]) ** 2) ** 0.5, n) for n in others)
                    winners.add(dist[0][1] if dist[1][0] - dist[0][0] >= gap else None)
                if len(winners) == 1 and None not in winners:
                    results.append((winners.pop(), target, others))
        for answer, target, options in results:
            f_answer = next((f for f in index.facts("object") if f.label == answer and f.start <= a.start + 1e-6
                             and f.end >= a.end - 1e-6), None)
            f_target = next((f for f in index.facts("object") if f.label == target and f.start <= a.start + 1e-6
                             and f.end >= a.end - 1e-6), None) if target else None
            if f_answer is None or (target and f_target is None):
                continue
            key = (t.category, mode, answer, target, tuple(sorted(options)), round(f_answer.start, 2))
            fields = anchor_fields(a, onto)
            if f_target is not None:
                fields.update(fact_fields("target", f_target, onto))
            events = tuple(o.event for n in (answer, *([target] if target else [])) for o in objs[n])
            cand = Candidate(
                t, a, f_target or f_answer, answer, round(a.start, 3), round(a.end, 3), fields, "fixed",
                list(options), group=key, confidence=min(a.confidence, f_answer.confidence), events=events,
                other=f_answer if f_target is not None else None,
                about=tuple(x for x in (answer, target) if x), spatial=True,
                box=_mean_box([o.box for o in objs[answer]]),
            )
            if key not in groups:
                groups[key] = []
                order.append(key)
            groups[key].append(cand)
    for key in order:
        yield groups[key][:MAX_ANCHORS_PER_GROUP]


# --- more -------------------------------------------------------------------------------------------------------
def _more(t: Template, index: CueIndex, onto: Ontology) -> Iterator[list[Candidate]]:
    counts = sorted(index.facts("count"), key=lambda f: f.start)
    groups: dict[tuple, list[Candidate]] = {}
    order: list[tuple] = []
    for i, fa in enumerate(counts):
        for fb in counts[i + 1:]:
            if fb.start >= fa.end:
                break
            if (fa.label, fa.colour) == (fb.label, fb.colour) or fa.count == fb.count:
                continue
            start, end = max(fa.start, fb.start), min(fa.end, fb.end)
            if end <= start:
                continue
            for a in _anchors_for(t, index, start, end):
                if a.end > end + 1e-6:
                    continue
                samples = index.cover(a.start, a.end)
                if samples is None:
                    continue
                ea = _check_single("count", fa, samples, index, onto)
                eb = _check_single("count", fb, samples, index, onto)
                if ea is None or eb is None:
                    continue
                big = fa if (fa.count or 0) > (fb.count or 0) else fb
                answer = group(big, onto)
                options = [group(fa, onto), group(fb, onto)]
                key = (t.category, fa.key, fb.key)
                cand = Candidate(
                    t, a, fa, answer, round(a.start, 3), round(a.end, 3),
                    {**anchor_fields(a, onto), "target.labels": options[0], "other.labels": options[1]}, "fixed",
                    options,
                    group=key, confidence=min(a.confidence, fa.confidence, fb.confidence),
                    events=(*fa.events[:1], *fb.events[:1], *ea, *eb), other=fb, about=(fa.label, fb.label),
                    extra=(str(fa.count), str(fb.count)),
                )
                if key not in groups:
                    groups[key] = []
                    order.append(key)
                groups[key].append(cand)
    for key in order:
        yield groups[key][:MAX_ANCHORS_PER_GROUP]

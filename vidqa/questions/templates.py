"""Wording: a template's phrasing filled in from an anchor and the visual facts.

Placeholders (the ontology header lists which relation allows which): ``{anchor.when}`` ("When the whistle
blows"), ``{anchor.after}`` ("Right after you hear "three red balls""), ``{anchor.while}`` (the ``when`` phrase in
lower case, for the end of a sentence), ``{anchor.noun}`` ("the whistle"), ``{target.label}`` ("dog"),
``{target.labels}`` ("red circles"), ``{target.noun}`` ("the dog", "the text "GATE 7""), ``{other.*}`` alike and
``{choices}`` ("the dog, the bicycle or the car").

Example::

    fill("{anchor.when}, what colour is the {target.label}?", {"anchor.when": "When the whistle blows",
                                                               "target.label": "car"})
    # 'When the whistle blows, what colour is the car?'
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from vidqa.questions.ontology import Ontology
from vidqa.questions.windows import Anchor, Fact

__all__ = ["anchor_fields", "choices", "fact_fields", "fill", "noun", "plural"]

_PLACEHOLDER = re.compile(r"\{([a-z_]+(?:\.[a-z_]+)?)\}")


def plural(label: str, ontology: Ontology | None = None) -> str:
    """English plural of a label (the ontology's ``plurals`` first).

    >>> plural("bus"), plural("circle"), plural("butterfly")
    ('buses', 'circles', 'butterflies')
    """
    label = label.strip()
    if ontology is not None and label.lower() in ontology.plurals:
        return ontology.plurals[label.lower()]
    if label.endswith(("s", "x", "z", "ch", "sh")):
        return label + "es"
    if label.endswith("y") and label[-2:-1] not in "aeiou":
        return label[:-1] + "ies"
    return label + "s"


def anchor_fields(anchor: Anchor, ontology: Ontology) -> dict[str, str]:
    """``anchor.when`` / ``after`` / ``while`` / ``noun`` for an anchor."""
    words = ontology.anchors[anchor.kind]
    text = anchor.text or ""
    when = words["when"].format(text=text)
    return {
        "anchor.when": when,
        "anchor.after": words["after"].format(text=text),
        "anchor.while": when[:1].lower() + when[1:] if not when.startswith("I ") else when,
        "anchor.noun": words["noun"].format(text=text),
    }


def noun(fact: Fact, ontology: Ontology, *, with_colour: bool = True) -> str:
    """How the wording names a fact: "the dog", "the text "GATE 7"", "the red circles"."""
    if fact.kind == "text":
        return f'the text "{fact.text}"'
    if fact.kind == "count" and (fact.count or 0) > 1:
        return "the " + group(fact, ontology)
    colour = f"{fact.colour} " if with_colour and fact.colour and fact.kind == "count" else ""
    return f"the {colour}{fact.label}"


def group(fact: Fact, ontology: Ontology) -> str:
    """A counted group in the plural: "red circles", "dogs"."""
    colour = f"{fact.colour} " if fact.colour else ""
    return colour + plural(fact.label, ontology)


def fact_fields(slot: str, fact: Fact, ontology: Ontology) -> dict[str, str]:
    """``slot.label`` / ``labels`` / ``noun`` for a fact filling ``slot``."""
    return {
        f"{slot}.label": fact.label,
        f"{slot}.labels": group(fact, ontology),
        f"{slot}.noun": noun(fact, ontology),
    }


def choices(options: Sequence[str]) -> str:
    """ "a, b or c" (the options in the order they are shown).

    >>> choices(["the dog", "the car"]), choices(["a", "b", "c"])
    ('the dog or the car', 'a, b or c')
    """
    items = list(options)
    if len(items) <= 2:
        return " or ".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def fill(wording: str, fields: dict[str, str]) -> str:
    """The wording with its placeholders filled in, first letter capitalised, spaces tidied."""
    def sub(m: re.Match) -> str:
        return fields[m.group(1)]

    text = _PLACEHOLDER.sub(sub, wording)
    text = " ".join(text.split())
    return text[:1].upper() + text[1:]

"""The question ontology: categories, templates, wording of anchors and the vocabulary of leaks, from YAML.

The ontology ships as ``vidqa/questions/ontology.yaml`` (read it: its header documents the format). A user file
given to :func:`load_ontology` is merged over it: its ``checks``, ``anchors`` and ``vocabulary`` entries replace the
shipped ones key by key, and each category it names replaces the shipped category (``replace: true`` at the top
of the user file drops the shipped ontology altogether).

Everything is validated on load; a mistake is an :class:`OntologyError` naming the file and line::

    ontology.yaml:57: template 'colour_during_audio' (referential_grounding): unknown slot 'thing' (relation
    'during' has slots anchor, target)

Example::

    from vidqa.questions.ontology import load_ontology
    onto = load_ontology()                      # the shipped ontology
    [t.id for t in onto.by_category("counting")]   # ['count_after_audio']
"""

from __future__ import annotations

import functools
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vidqa.errors import VidqaError
from vidqa.records.questions import ANSWER_TYPES

__all__ = ["DEFAULT_PATH", "RELATIONS", "Ontology", "OntologyError", "Template", "load_ontology"]

DEFAULT_PATH = Path(__file__).with_name("ontology.yaml")

VISUAL_KINDS = ("object", "region", "text", "colour", "count")


class OntologyError(VidqaError):
    """The ontology file is not valid (the message names the file and line)."""


@dataclass(frozen=True)
class Relation:
    """How a template's slots relate in time/space; the generator has one builder per relation."""

    slots: tuple[str, ...]
    """Slot names in order; the first is the audio anchor, the rest are visual."""
    answers: dict[str, str]
    """Answer field -> answer type."""
    kinds: dict[str, frozenset[str]]
    """Answer field -> the visual kinds that can supply it."""
    placeholders: frozenset[str]
    """Fields the wording may use."""


_ANCHOR_FIELDS = {"anchor.when", "anchor.after", "anchor.while", "anchor.noun"}
_SINGLE = Relation(
    ("anchor", "target"),
    {"target.colour": "colour", "target.count": "count", "target.text": "text", "target.label": "label"},
    {"target.colour": frozenset({"colour", "object", "region"}), "target.count": frozenset({"count"}),
     "target.text": frozenset({"text"}), "target.label": frozenset({"object", "region"})},
    frozenset(_ANCHOR_FIELDS | {"target.label", "target.labels", "target.noun"}),
)
RELATIONS: dict[str, Relation] = {
    "during": _SINGLE,
    "after": _SINGLE,
    "order": Relation(("anchor", "target"), {"first": "time_order"},
                      {"first": frozenset({"text", "object", "region"})},
                      frozenset(_ANCHOR_FIELDS | {"target.noun", "choices"})),
    "nearest": Relation(("anchor", "target", "other"), {"other.label": "label"},
                        {"other.label": frozenset({"object", "region"})},
                        frozenset(_ANCHOR_FIELDS | {"target.label", "target.noun", "choices"})),
    "leftmost": Relation(("anchor", "target"), {"target.label": "label"},
                         {"target.label": frozenset({"object", "region"})},
                         frozenset(_ANCHOR_FIELDS | {"choices"})),
    "more": Relation(("anchor", "target", "other"), {"more": "label"}, {"more": frozenset({"count"})},
                     frozenset(_ANCHOR_FIELDS | {"target.labels", "other.labels", "choices"})),
}
"""The relations the generator knows (the YAML header documents them)."""

_TEMPLATE_KEYS = {"id", "version", "relation", "slots", "answer", "answer_type", "wording", "description"}
_DEFAULT_CHECKS: dict[str, float] = {
    "heard_margin_s": 5.0, "after_s": 2.0, "max_order_gap_s": 15.0, "min_order_gap_s": 2.0,
    "min_colour_fraction": 0.4, "min_count_samples": 3, "max_count": 9, "min_position_gap": 0.12,
    "distractor_margin_s": 2.0, "min_count_confidence": 0.7, "min_presence_samples": 2, "min_region_area": 0.005,
    "min_region_contrast": 40.0,
}


@dataclass(frozen=True)
class Template:
    """One question template (see the YAML header for the fields)."""

    id: str
    version: int
    category: str
    relation: str
    slots: dict[str, tuple[str, ...]]
    answer: str
    answer_type: str
    wording: tuple[str, ...]
    source: str = ""
    """``file:line`` where the template is defined."""

    @property
    def audio_kinds(self) -> tuple[str, ...]:
        return self.slots["anchor"]

    @property
    def visual_kinds(self) -> tuple[str, ...]:
        return tuple(k for name, kinds in self.slots.items() if name != "anchor" for k in kinds)


@dataclass(frozen=True)
class Ontology:
    """A validated ontology: templates by category, checks, anchor wording and the leak vocabulary."""

    version: int
    templates: tuple[Template, ...]
    descriptions: dict[str, str]
    checks: dict[str, float]
    anchors: dict[str, dict[str, str]]
    colours: dict[str, tuple[str, ...]]
    labels: dict[str, tuple[str, ...]]
    plurals: dict[str, str]
    spatial: tuple[str, ...]
    distractors: dict[str, tuple[str, ...]]
    sources: tuple[str, ...] = field(default=())

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(self.descriptions)

    def by_category(self, category: str) -> list[Template]:
        return [t for t in self.templates if t.category == category]

    def template(self, template_id: str) -> Template:
        for t in self.templates:
            if t.id == template_id:
                return t
        raise OntologyError(f"No template {template_id!r} in the ontology ({', '.join(self.sources)}).")

    def check(self, name: str) -> float:
        return float(self.checks[name])


# --- YAML with line numbers -------------------------------------------------------------------------------------
class _Map(dict):
    """A mapping that remembers where it (and each of its keys) sits in the file."""

    file: str = ""
    line: int = 0
    key_lines: dict[str, int]
    key_files: dict[str, str] = {}


class _Seq(list):
    file: str = ""
    line: int = 0


def _loader(file: str) -> type[yaml.SafeLoader]:
    class Loader(yaml.SafeLoader):
        pass

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _Map:
        out = _Map()
        out.file, out.line, out.key_lines = file, node.start_mark.line + 1, {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in out:
                raise OntologyError(f"{file}:{line}: key {key!r} appears twice (first on line {out.key_lines[key]}).")
            out[key] = loader.construct_object(value_node, deep=True)
            out.key_lines[key] = line
        return out

    def sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> _Seq:
        out = _Seq(loader.construct_object(n, deep=True) for n in node.value)
        out.file, out.line = file, node.start_mark.line + 1
        return out

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, sequence)
    return Loader


def _read(path: Path) -> _Map:
    name = path.name if path == DEFAULT_PATH else str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise OntologyError(f"Cannot read the ontology {path}: {err.strerror or err}.") from None
    try:
        data = yaml.load(text, Loader=_loader(name))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise OntologyError(f"{name}{line}: not valid YAML: {err.problem or err}.") from None
    except yaml.YAMLError as err:
        raise OntologyError(f"{name}: not valid YAML: {err}.") from None
    if not isinstance(data, _Map):
        raise OntologyError(f"{name}:1: the ontology must be a mapping with `categories:` (see {DEFAULT_PATH.name}).")
    return data


def _where(node: Any, key: str | None = None) -> str:
    if isinstance(node, _Map):
        if key is None:
            return f"{node.file}:{node.line}"
        return f"{node.key_files.get(key, node.file)}:{node.key_lines.get(key, node.line)}"
    if isinstance(node, _Seq):
        return f"{node.file}:{node.line}"
    return "?"


def _merge(base: _Map, user: _Map) -> _Map:
    if user.get("replace"):
        return user
    out = _Map(base)
    out.file, out.line, out.key_lines = base.file, base.line, dict(base.key_lines)
    for section in ("checks", "anchors", "vocabulary", "categories"):
        if section not in user:
            continue
        if not isinstance(user[section], dict) or not isinstance(base.get(section), dict):
            out[section] = user[section]
            continue
        merged = _Map(base[section])
        merged.file, merged.line = base[section].file, base[section].line
        merged.key_lines = dict(base[section].key_lines)
        merged.key_files = {}
        for key, value in user[section].items():
            merged[key] = value
            merged.key_lines[key] = user[section].key_lines[key]
            merged.key_files[key] = user[section].file
        out[section] = merged
    if "version" in user:
        out["version"] = user["version"]
    return out


# --- validation -------------------------------------------------------------------------------------------------
def _strings(node: Any, where: str, what: str) -> tuple[str, ...]:
    if isinstance(node, str):
        node = [node]
    if not isinstance(node, list) or not node or not all(isinstance(x, str) and x.strip() for x in node):
        raise OntologyError(f"{where}: {what} must be a non-empty list of strings.")
    return tuple(x.strip() for x in node)


def _template(node: Any, category: str, anchors: dict[str, Any], where: str) -> Template:
    if not isinstance(node, _Map):
        raise OntologyError(f"{where}: each template of {category!r} must be a mapping (id, relation, slots, ...).")
    tid = node.get("id")
    if not isinstance(tid, str) or not tid.strip():
        raise OntologyError(f"{_where(node)}: a template of {category!r} has no `id`.")
    head = f"template {tid!r} ({category})"
    unknown = set(node) - _TEMPLATE_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise OntologyError(f"{_where(node, key)}: {head}: unknown key {key!r} (known: {', '.join(sorted(_TEMPLATE_KEYS))}).")
    for key in ("relation", "slots", "answer", "answer_type", "wording"):
        if key not in node:
            what = "answer field" if key == "answer" else f"`{key}`"
            raise OntologyError(f"{_where(node)}: {head}: missing {what}.")
    version = node.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise OntologyError(f"{_where(node, 'version')}: {head}: version must be a whole number >= 1, not {version!r}.")
    relation = node["relation"]
    if relation not in RELATIONS:
        raise OntologyError(f"{_where(node, 'relation')}: {head}: unknown relation {relation!r} "
                            f"(known: {', '.join(RELATIONS)}).")
    rel = RELATIONS[relation]
    slots_node = node["slots"]
    if not isinstance(slots_node, _Map):
        raise OntologyError(f"{_where(node, 'slots')}: {head}: slots must map slot names to cue kinds.")
    for name in slots_node:
        if name not in rel.slots:
            raise OntologyError(f"{_where(slots_node, name)}: {head}: unknown slot {name!r} (relation {relation!r} "
                                f"has slots {', '.join(rel.slots)}).")
    for name in rel.slots:
        if name not in slots_node:
            raise OntologyError(f"{_where(slots_node)}: {head}: missing slot {name!r} (relation {relation!r} needs "
                                f"{', '.join(rel.slots)}).")
    answer = node["answer"]
    if answer not in rel.answers:
        raise OntologyError(f"{_where(node, 'answer')}: {head}: answer field {answer!r} is not one relation "
                            f"{relation!r} gives ({', '.join(rel.answers)}).")
    answer_type = node["answer_type"]
    if answer_type not in ANSWER_TYPES:
        raise OntologyError(f"{_where(node, 'answer_type')}: {head}: bad answer type {answer_type!r} (one of "
                            f"{', '.join(ANSWER_TYPES)}).")
    if answer_type != rel.answers[answer]:
        raise OntologyError(f"{_where(node, 'answer_type')}: {head}: answer {answer!r} is of type "
                            f"{rel.answers[answer]!r}, not {answer_type!r}.")
    slots: dict[str, tuple[str, ...]] = {}
    for name in rel.slots:
        kinds = _strings(slots_node[name], _where(slots_node, name), f"slot {name!r}")
        if name == "anchor":
            bad = [k for k in kinds if k not in anchors]
            if bad:
                raise OntologyError(f"{_where(slots_node, name)}: {head}: audio cue kind {bad[0]!r} has no wording "
                                    f"under `anchors:` (known: {', '.join(anchors)}).")
        else:
            allowed = rel.kinds[answer]
            bad = [k for k in kinds if k not in allowed]
            if bad:
                raise OntologyError(f"{_where(slots_node, name)}: {head}: cue kind {bad[0]!r} cannot fill slot "
                                    f"{name!r} for answer {answer!r} (use {', '.join(sorted(allowed))}).")
        slots[name] = kinds
    wording = _strings(node["wording"], _where(node, "wording"), "wording")
    for text in wording:
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
        except ValueError as err:
            raise OntologyError(f"{_where(node, 'wording')}: {head}: bad wording {text!r}: {err}.") from None
        for f in fields:
            slot = f.split(".", 1)[0]
            if f == answer:
                raise OntologyError(f"{_where(node, 'wording')}: {head}: the wording names the answer {{{f}}}.")
            if "." in f and slot not in rel.slots:
                raise OntologyError(f"{_where(node, 'wording')}: {head}: unknown slot {slot!r} in wording {text!r}.")
            if f not in rel.placeholders:
                raise OntologyError(f"{_where(node, 'wording')}: {head}: {{{f}}} cannot be used in wording of "
                                    f"relation {relation!r} (use {', '.join(sorted(rel.placeholders))}).")
    return Template(tid.strip(), version, category, relation, slots, answer, answer_type, wording, _where(node))


def _vocab_map(node: Any, where: str, what: str) -> dict[str, tuple[str, ...]]:
    if node is None:
        return {}
    if not isinstance(node, dict):
        raise OntologyError(f"{where}: vocabulary.{what} must map words to lists of synonyms.")
    return {str(k).lower(): tuple(s.lower() for s in _strings(v or [str(k)], where, f"vocabulary.{what}.{k}"))
            for k, v in node.items()}


def _build(data: _Map, sources: tuple[str, ...]) -> Ontology:
    version = data.get("version", 1)
    if not isinstance(version, int):
        raise OntologyError(f"{_where(data, 'version')}: version must be a whole number.")
    checks = dict(_DEFAULT_CHECKS)
    user_checks = data.get("checks") or {}
    for key, value in user_checks.items():
        if key not in _DEFAULT_CHECKS:
            raise OntologyError(f"{_where(user_checks, key)}: unknown check {key!r} (known: "
                                f"{', '.join(_DEFAULT_CHECKS)}).")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise OntologyError(f"{_where(user_checks, key)}: check {key!r} must be a number >= 0, not {value!r}.")
        checks[key] = float(value)
    anchors_node = data.get("anchors")
    if not isinstance(anchors_node, dict) or not anchors_node:
        raise OntologyError(f"{_where(data)}: `anchors:` must word each audio cue kind (when, after, noun).")
    anchors: dict[str, dict[str, str]] = {}
    for kind, words in anchors_node.items():
        if not isinstance(words, dict) or not all(isinstance(words.get(k), str) for k in ("when", "after", "noun")):
            raise OntologyError(f"{_where(anchors_node, kind)}: anchors.{kind} needs `when`, `after` and `noun` "
                                "strings.")
        anchors[str(kind)] = {k: words[k] for k in ("when", "after", "noun")}
    vocab = data.get("vocabulary") or _Map()
    where = _where(data, "vocabulary")
    colours = _vocab_map(vocab.get("colours"), where, "colours")
    labels = _vocab_map(vocab.get("labels"), where, "labels")
    plurals = {str(k).lower(): str(v).lower() for k, v in (vocab.get("plurals") or {}).items()}
    spatial = tuple(s.lower() for s in _strings(vocab.get("spatial") or ["left", "right"], where, "vocabulary.spatial"))
    distractors = _vocab_map(vocab.get("distractors"), where, "distractors")
    cats = data.get("categories")
    if not isinstance(cats, dict) or not cats:
        raise OntologyError(f"{_where(data)}: the ontology has no `categories:`.")
    templates: list[Template] = []
    descriptions: dict[str, str] = {}
    seen: dict[str, str] = {}
    for category, body in cats.items():
        here = _where(cats, category)
        if not isinstance(body, dict) or "templates" not in body:
            raise OntologyError(f"{here}: category {category!r} needs `templates:` (a list).")
        items = body["templates"]
        if not isinstance(items, list) or not items:
            raise OntologyError(f"{_where(body, 'templates')}: category {category!r}: templates must be a "
                                "non-empty list.")
        descriptions[str(category)] = str(body.get("description") or "")
        for item in items:
            t = _template(item, str(category), anchors, _where(items))
            if t.id in seen:
                here, there = t.source, seen[t.id]
                if here.startswith(DEFAULT_PATH.name + ":"):  # point at the user's file, not the shipped one
                    here, there = there, here
                raise OntologyError(f"{here}: template id {t.id!r} is already used at {there}.")
            seen[t.id] = t.source
            templates.append(t)
    return Ontology(version, tuple(templates), descriptions, checks, anchors, colours, labels, plurals, spatial,
                    distractors, sources)


@functools.lru_cache(maxsize=8)
def _cached(path: str, mtime: float) -> Ontology:
    base = _read(DEFAULT_PATH)
    if path == str(DEFAULT_PATH):
        return _build(base, (DEFAULT_PATH.name,))
    user = _read(Path(path))
    return _build(_merge(base, user), (DEFAULT_PATH.name, path))


def load_ontology(path: str | Path | None = None) -> Ontology:
    """The shipped ontology, or a user file merged over it (see the module docstring); validated.

    Raises :class:`OntologyError` (file and line) when anything is wrong.
    """
    p = Path(path) if path is not None else DEFAULT_PATH
    if not p.is_file():
        raise OntologyError(f"No ontology file at {p}: pass a YAML file (start from {DEFAULT_PATH}).")
    return _cached(str(p if path is None else p.resolve()), p.stat().st_mtime)

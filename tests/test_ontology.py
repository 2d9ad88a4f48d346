"""The question ontology: the shipped YAML loads and covers the categories; mistakes are errors naming file and line;
a user file merges over the shipped one."""

from __future__ import annotations

import textwrap

import pytest

from vidqa.errors import VidqaError
from vidqa.questions.ontology import DEFAULT_PATH, RELATIONS, OntologyError, load_ontology
from vidqa.records.questions import ANSWER_TYPES

CATEGORIES = {"referential_grounding", "counting", "comparative", "object_interaction", "temporal_order",
              "audio_visual_sync", "text_reading"}

GOOD_TEMPLATE = """\
categories:
  counting:
    templates:
      - id: my_count
        version: 3
        relation: after
        slots: {anchor: [whistle], target: [count]}
        answer: target.count
        answer_type: count
        wording: ["{anchor.after}, how many {target.labels} are there?"]
"""


def write(tmp_path, text: str, name: str = "mine.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_the_shipped_ontology_covers_every_category_with_valid_templates():
    onto = load_ontology()
    assert CATEGORIES <= set(onto.categories)
    for category in CATEGORIES:
        assert onto.by_category(category), category
    for t in onto.templates:
        rel = RELATIONS[t.relation]
        assert t.answer in rel.answers and t.answer_type in ANSWER_TYPES and t.answer_type == rel.answers[t.answer]
        assert set(t.slots) == set(rel.slots) and t.audio_kinds and t.visual_kinds
        assert t.wording and t.version >= 1
        assert t.source.startswith("ontology.yaml:")
    assert {"whistle", "buzzer", "crowd", "music", "speech"} <= set(onto.anchors)
    assert "gray" in onto.colours["grey"] and onto.check("heard_margin_s") > 0
    assert len({t.id for t in onto.templates}) == len(onto.templates)
    assert onto.template("count_after_audio").category == "counting"
    with pytest.raises(OntologyError, match="No template 'nope'"):
        onto.template("nope")


def test_the_ontology_is_package_data():
    assert DEFAULT_PATH.name == "ontology.yaml" and DEFAULT_PATH.parent.name == "questions"
    assert DEFAULT_PATH.is_file()


@pytest.mark.parametrize("change, message, line", [
    # (replace in GOOD_TEMPLATE, expected message part, line of the error)
    (("target: [count]", "thing: [count]"), "unknown slot 'thing'", 7),
    (("        answer: target.count\n", ""), "missing answer field", 4),
    (("answer_type: count", "answer_type: number"), "bad answer type 'number'", 9),
    (("answer_type: count", "answer_type: colour"), "answer 'target.count' is of type 'count', not 'colour'", 9),
    (("answer: target.count", "answer: target.size"), "answer field 'target.size' is not one", 8),
    (("relation: after", "relation: sometime"), "unknown relation 'sometime'", 6),
    (("anchor: [whistle]", "anchor: [kazoo]"), "audio cue kind 'kazoo' has no wording", 7),
    (("target: [count]", "target: [text]"), "cue kind 'text' cannot fill slot 'target'", 7),
    (("{target.labels} are", "{target.legs} are"), "{target.legs} cannot be used", 10),
    (("{target.labels} are", "{widget.labels} are"), "unknown slot 'widget' in wording", 10),
    (("{target.labels} are", "{target.count} are"), "the wording names the answer", 10),
    (("version: 3", "version: zero"), "version must be a whole number", 5),
    (("        version: 3\n", "        version: 3\n        colour: red\n"), "unknown key 'colour'", 6),
])
def test_template_errors_name_the_file_and_line(tmp_path, change, message, line):
    path = write(tmp_path, GOOD_TEMPLATE.replace(*change))
    with pytest.raises(OntologyError) as err:
        load_ontology(path)
    text = str(err.value)
    assert text.startswith(f"{path}:{line}:"), text
    assert message in text and "my_count" in text
    assert isinstance(err.value, VidqaError)


def test_syntax_errors_duplicates_and_missing_files_are_clear(tmp_path):
    bad = write(tmp_path, "categories:\n  counting: [unclosed\n")
    with pytest.raises(OntologyError, match=rf"^{bad}:\d+: not valid YAML"):
        load_ontology(bad)
    dup = write(tmp_path, GOOD_TEMPLATE.replace("        answer_type: count\n",
                                                "        answer_type: count\n        answer_type: count\n"))
    with pytest.raises(OntologyError, match=rf"^{dup}:10: key 'answer_type' appears twice \(first on line 9\)"):
        load_ontology(dup)
    same_id = write(tmp_path, GOOD_TEMPLATE.replace("id: my_count", "id: text_during_audio"))
    with pytest.raises(OntologyError, match=rf"^{same_id}:4: template id 'text_during_audio' is already used at "
                                            r"ontology.yaml:\d+"):
        load_ontology(same_id)  # the shipped text_reading category keeps its template of that id
    with pytest.raises(OntologyError, match="No ontology file at"):
        load_ontology(tmp_path / "missing.yaml")
    empty = write(tmp_path, "- just\n- a list\n")
    with pytest.raises(OntologyError, match=rf"^{empty}:1: the ontology must be a mapping"):
        load_ontology(empty)
    checks = write(tmp_path, "checks:\n  heard_margin_s: -1\n")
    with pytest.raises(OntologyError, match=rf"^{checks}:2: check 'heard_margin_s' must be a number >= 0"):
        load_ontology(checks)
    unknown = write(tmp_path, "checks:\n  hear_margin: 3\n")
    with pytest.raises(OntologyError, match=rf"^{unknown}:2: unknown check 'hear_margin'"):
        load_ontology(unknown)


def test_a_user_file_merges_over_the_shipped_ontology(tmp_path):
    path = write(tmp_path, GOOD_TEMPLATE + "checks:\n  heard_margin_s: 9\n")
    onto = load_ontology(path)
    assert [t.id for t in onto.by_category("counting")] == ["my_count"]  # the category is replaced
    assert onto.template("my_count").version == 3 and onto.template("my_count").source.startswith(f"{path}:4")
    assert onto.by_category("text_reading")  # other categories stay
    assert onto.check("heard_margin_s") == 9.0 and onto.check("after_s") == 2.0
    assert onto.sources == ("ontology.yaml", str(path.resolve()))


def test_replace_true_drops_the_shipped_ontology(tmp_path):
    text = "replace: true\n" + textwrap.dedent("""\
        anchors:
          whistle: {when: "When the whistle blows", after: "After the whistle", noun: "the whistle"}
        """) + GOOD_TEMPLATE
    onto = load_ontology(write(tmp_path, text))
    assert onto.categories == ("counting",) and [t.id for t in onto.templates] == ["my_count"]
    with pytest.raises(OntologyError, match="audio cue kind 'buzzer' has no wording"):
        load_ontology(write(tmp_path, text.replace("anchor: [whistle]", "anchor: [whistle, buzzer]"), "b.yaml"))

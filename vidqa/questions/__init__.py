"""The question engine: a video's cues in, audio-visual questions out (pure: plain records in, records out).

- :mod:`~vidqa.questions.ontology`   the YAML ontology (categories, templates, anchors, leak vocabulary), validated
- :mod:`~vidqa.questions.windows`    audio anchors and visual facts indexed by time
- :mod:`~vidqa.questions.candidates` template candidates, one builder per relation, checked frame by frame
- :mod:`~vidqa.questions.templates`  wording
- :mod:`~vidqa.questions.leaks`      the question must not say the answer; the audio must not tell it
- :mod:`~vidqa.questions.options`    distractors, balanced positions and lengths, bias statistics
- :mod:`~vidqa.questions.drafts`     voice notes become drafts
- :mod:`~vidqa.questions.generate`   :func:`generate_questions`
- :mod:`~vidqa.questions.export`     JSONL / CSV / JSON dataset exports
- :mod:`~vidqa.questions.synthetic`  seeded synthetic cue sets with exact truth (tests, benchmarks, demos)

Example::

    from vidqa.questions import generate_questions
    result = generate_questions(video, transcript, audio_events, visual_events, seed=0)
    [(q.question, q.options, q.answer) for q in result.questions]
"""

from vidqa.questions.export import export_questions
from vidqa.questions.generate import CueIds, GenerationResult, generate_questions
from vidqa.questions.ontology import Ontology, OntologyError, load_ontology
from vidqa.questions.options import bias_stats

__all__ = ["CueIds", "GenerationResult", "Ontology", "OntologyError", "bias_stats", "export_questions",
           "generate_questions", "load_ontology"]

"""Human review of questions (pure: no store, no widget): edit checks, cue tiers, evidence, second-review
sampling and inter-reviewer agreement.

- :func:`~vidqa.review.edits.validate_edit`: check a reviewer's edit (prompt, answer/options, window, category).
- :func:`~vidqa.review.tiers.build_tiers`: ELAN-style cue tiers (transcript, audio events, objects by label, text
  lines, scene cuts, notes) as plain data for a timeline.
- :func:`~vidqa.review.evidence.evidence_view`: the evidence a question stands on (words, audio event, OCR line,
  boxes to draw).
- :func:`~vidqa.review.sampling.second_review_sample`: the seeded random sample (default 10 %) for a second
  reviewer.
- :func:`~vidqa.review.agreement.agreement`: Cohen's kappa per category and overall.

:mod:`vidqa.pipeline.review` applies them to a store (it is the one that writes).
"""

from vidqa.review.agreement import Agreement, AgreementReport, ReviewPair, agreement, pair_reviews
from vidqa.review.edits import DEFAULT_CATEGORIES, EditError, EditResult, validate_edit
from vidqa.review.evidence import evidence_view, question_view
from vidqa.review.sampling import DEFAULT_FRACTION, second_review_sample
from vidqa.review.tiers import build_tiers

__all__ = [
    "DEFAULT_CATEGORIES",
    "DEFAULT_FRACTION",
    "Agreement",
    "AgreementReport",
    "EditError",
    "EditResult",
    "ReviewPair",
    "agreement",
    "build_tiers",
    "evidence_view",
    "pair_reviews",
    "question_view",
    "second_review_sample",
    "validate_edit",
]

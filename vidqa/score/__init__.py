"""Scoring: read the answer (:mod:`~vidqa.score.parse`), normalise it (:mod:`~vidqa.score.normalize`), judge open
answers by rules (:mod:`~vidqa.score.rules`) and optionally an LLM (:mod:`~vidqa.score.judge`), name the error
(:mod:`~vidqa.score.categories`), and report accuracy with bootstrap intervals (:mod:`~vidqa.score.stats`).
:func:`~vidqa.score.scorer.score_response` ties them together. Pure: no store, no writes.
"""

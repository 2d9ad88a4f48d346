"""Evaluation runs, model responses, scores and the response cache (owned by the evaluation work)."""

from __future__ import annotations

from vidqa.store.db import Database


class EvaluationTables(Database):
    """Evaluation tables (filled in by the evaluation work)."""

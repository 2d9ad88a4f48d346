"""Evaluation runs, model responses (with provenance), their scores, and the response cache.

Tables (migration ``v4_evaluations``):

``eval_runs``        one row per ``vidqa evaluate`` invocation: settings, counts, estimated and actual cost
``eval_responses``   one row per call (``call_key`` unique: question x model x transport x gate condition x
                     permutation x counterfactual x settings): provider, model, transport, prompt hash, media hashes,
                     seed, temperature, system fingerprint, latency, tokens, cost, raw text, status and error. A
                     re-run replaces a call's row (and its score); calls that finished are kept
``eval_scores``      one row per response: ``correct`` / ``wrong`` / ``unscored`` (with the reason), the predicted
                     letter or answer, parse errors, error category, the rules' and the judge's verdicts side by side
``eval_cache``       answers by ``ChatRequest.cache_key`` (a temperature-0 re-run makes no calls)

Views (for the dashboards): ``eval_results`` (one row per call, response and score joined), ``eval_accuracy``
(per model x category x transport, full condition, no counterfactual), ``eval_accuracy_by_model`` (per model x
transport), ``eval_consistency`` (questions right under every option rotation), ``eval_errors`` (wrong answers per
error category), ``eval_unscored`` (left-out rows per reason), ``eval_gate`` (accuracy per gate condition),
``eval_counterfactual`` (accuracy with the audio cue muted or shifted). Every accuracy view carries
``n_unscored``.

Example::

    store = open_store("data/vidqa.db")
    store.dataframe("SELECT * FROM eval_accuracy ORDER BY model, category")
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from vidqa.errors import NotFoundError
from vidqa.records.evaluation import EvalRequest, EvalResponse, EvalRun, EvalScore

__all__ = ['v4_evaluations', 'MIGRATION', 'EvaluationTables']

if TYPE_CHECKING:
    from vidqa.store.db import Database as _Base
else:
    # vidqa.store.schema imports this module while vidqa.store.db is still loading (db -> schema -> evaluations):
    # nothing of db is imported at module level; Store supplies Database (it lists it last).
    _Base = object


def _dumps(value: Any) -> str:
    from vidqa.store.db import dumps

    return dumps(value)


def _now() -> str:
    from vidqa.store.db import now

    return now()


_RESULT_COLUMNS = """
    r.id AS response_id, r.call_key, r.eval_run_id, r.run_id, r.unit, r.question_id, r.video_id, r.model,
    r.provider, r.model_name, r.transport, r.condition, r.permutation, r.counterfactual, r.gold_letter,
    r.status AS response_status, r.error AS response_error, r.latency, r.input_tokens, r.output_tokens, r.cost,
    r.cached, r.refusal, r.prompt_hash, r.created_at,
    COALESCE(s.status, 'unscored') AS status, s.correct, s.predicted, s.predicted_text, s.gold, s.method,
    s.parse_error, COALESCE(s.reason, CASE WHEN s.id IS NULL THEN 'not scored yet' END) AS reason, s.error_category,
    COALESCE(s.category, q.category) AS category, COALESCE(s.answer_type, q.answer_type) AS answer_type,
    s.rule_correct, s.judge_correct, s.judge_model, s.judge_reason, s.judge_error
"""


def v4_evaluations(conn: sqlite3.Connection) -> None:
    """Evaluation runs, responses with provenance, scores, the response cache, and the accuracy views."""
    conn.execute("""
        CREATE TABLE eval_runs (
            id INTEGER PRIMARY KEY,
            settings TEXT NOT NULL,
            status TEXT NOT NULL,                   -- running / done / failed / parked / dry_run
            started_at TEXT NOT NULL,
            finished_at TEXT,
            n_planned INTEGER NOT NULL DEFAULT 0,
            n_calls INTEGER NOT NULL DEFAULT 0,      -- sent to a provider (cache hits and resumed calls excluded)
            n_cached INTEGER NOT NULL DEFAULT 0,
            n_resumed INTEGER NOT NULL DEFAULT 0,
            n_errors INTEGER NOT NULL DEFAULT 0,
            estimated_cost REAL,                     -- USD, NULL when a price is unknown
            cost REAL,
            seconds REAL,
            error TEXT,
            vidqa_version TEXT
        )""")
    conn.execute("""
        CREATE TABLE eval_responses (
            id INTEGER PRIMARY KEY,
            call_key TEXT NOT NULL UNIQUE,
            eval_run_id INTEGER REFERENCES eval_runs(id) ON DELETE SET NULL,
            run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,   -- the unit's run (question x model x transport)
            unit TEXT NOT NULL,
            question_id INTEGER REFERENCES questions(id) ON DELETE CASCADE,
            video_id TEXT NOT NULL,
            model TEXT NOT NULL,                     -- the spec: groq/llama-3.1-8b-instant, baseline/random ...
            provider TEXT NOT NULL,
            model_name TEXT NOT NULL,
            transport TEXT NOT NULL,                 -- native_video / frames_audio / frames_transcript / text / baseline
            condition TEXT NOT NULL DEFAULT 'full',  -- full / deaf / blind / question_only
            permutation INTEGER NOT NULL DEFAULT 0,  -- rotation of the options (shift)
            counterfactual TEXT NOT NULL DEFAULT 'none',  -- none / muted / shifted
            options TEXT NOT NULL DEFAULT '[]',      -- as shown
            gold_letter TEXT,
            gold TEXT NOT NULL DEFAULT '',
            question_hash TEXT NOT NULL,
            settings_hash TEXT NOT NULL,
            prompt_version INTEGER,
            prompt_hash TEXT,
            media_hashes TEXT NOT NULL DEFAULT '[]',
            frame_times TEXT NOT NULL DEFAULT '[]',
            cache_key TEXT,
            seed INTEGER,
            temperature REAL,
            max_tokens INTEGER,
            notes TEXT NOT NULL DEFAULT '[]',
            status TEXT NOT NULL,                    -- ok / refused / error / parked / unsupported
            text TEXT,                               -- the model's raw text
            error TEXT,
            error_type TEXT,
            latency REAL,
            input_tokens INTEGER,
            output_tokens INTEGER,
            cost REAL,
            system_fingerprint TEXT,
            finish_reason TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            cached INTEGER NOT NULL DEFAULT 0,
            refusal INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        )""")
    conn.execute("CREATE INDEX eval_responses_question ON eval_responses(question_id, model, transport)")
    conn.execute("CREATE INDEX eval_responses_model ON eval_responses(model, transport, condition, counterfactual)")
    conn.execute("CREATE INDEX eval_responses_run ON eval_responses(eval_run_id)")
    conn.execute("""
        CREATE TABLE eval_scores (
            id INTEGER PRIMARY KEY,
            response_id INTEGER NOT NULL UNIQUE REFERENCES eval_responses(id) ON DELETE CASCADE,
            call_key TEXT NOT NULL,
            question_id INTEGER,
            model TEXT NOT NULL,
            transport TEXT NOT NULL,
            condition TEXT NOT NULL,
            permutation INTEGER NOT NULL,
            counterfactual TEXT NOT NULL,
            status TEXT NOT NULL,                    -- correct / wrong / unscored
            correct INTEGER,
            predicted TEXT,
            predicted_text TEXT,
            gold TEXT,
            method TEXT,                             -- json / extracted / rules / judge
            parse_error TEXT,
            reason TEXT,
            error_category TEXT,
            category TEXT,
            answer_type TEXT,
            rule_correct INTEGER,
            judge_correct INTEGER,
            judge_model TEXT,
            judge_reason TEXT,
            judge_error TEXT,
            created_at TEXT NOT NULL
        )""")
    conn.execute("CREATE INDEX eval_scores_group ON eval_scores(model, category, transport, condition)")
    conn.execute("""
        CREATE TABLE eval_cache (
            cache_key TEXT PRIMARY KEY,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            response TEXT NOT NULL,                  -- the ChatResponse fields (raw body left out)
            created_at TEXT NOT NULL
        )""")
    conn.execute(f"""
        CREATE VIEW eval_results AS
        SELECT {_RESULT_COLUMNS}
        FROM eval_responses r
        LEFT JOIN eval_scores s ON s.response_id = r.id
        LEFT JOIN questions q ON q.id = r.question_id""")
    acc = """COUNT(*) AS n,
            SUM(status IN ('correct', 'wrong')) AS n_scored,
            SUM(status = 'correct') AS n_correct,
            SUM(status = 'unscored') AS n_unscored,
            COUNT(DISTINCT question_id) AS n_questions,
            CAST(SUM(status = 'correct') AS REAL) / NULLIF(SUM(status IN ('correct', 'wrong')), 0) AS accuracy"""
    conn.execute(f"""
        CREATE VIEW eval_accuracy AS
        SELECT model, category, transport, {acc}
        FROM eval_results WHERE condition = 'full' AND counterfactual = 'none'
        GROUP BY model, category, transport""")
    conn.execute(f"""
        CREATE VIEW eval_accuracy_by_model AS
        SELECT model, transport, {acc}
        FROM eval_results WHERE condition = 'full' AND counterfactual = 'none'
        GROUP BY model, transport""")
    conn.execute(f"""
        CREATE VIEW eval_gate AS
        SELECT model, transport, condition, {acc}
        FROM eval_results WHERE counterfactual = 'none'
        GROUP BY model, transport, condition""")
    conn.execute(f"""
        CREATE VIEW eval_counterfactual AS
        SELECT model, transport, counterfactual, {acc}
        FROM eval_results WHERE condition = 'full'
        GROUP BY model, transport, counterfactual""")
    conn.execute("""
        CREATE VIEW eval_consistency AS
        SELECT model, transport,
               COUNT(*) AS n_questions,
               SUM(n_scored = n_rows) AS n_complete,
               SUM(n_scored = n_rows AND n_correct = n_rows) AS n_consistent,
               CAST(SUM(n_scored = n_rows AND n_correct = n_rows) AS REAL) / NULLIF(SUM(n_scored = n_rows), 0)
                   AS consistent_accuracy,
               CAST(SUM(n_correct) AS REAL) / NULLIF(SUM(n_scored), 0) AS plain_accuracy,
               SUM(n_rows - n_scored) AS n_unscored
        FROM (SELECT model, transport, question_id, COUNT(*) AS n_rows,
                     SUM(status IN ('correct', 'wrong')) AS n_scored, SUM(status = 'correct') AS n_correct
              FROM eval_results WHERE condition = 'full' AND counterfactual = 'none'
              GROUP BY model, transport, question_id)
        GROUP BY model, transport""")
    conn.execute("""
        CREATE VIEW eval_errors AS
        SELECT model, transport, category, COALESCE(error_category, 'uncategorised') AS error_category, COUNT(*) AS n
        FROM eval_results WHERE status = 'wrong' AND condition = 'full' AND counterfactual = 'none'
        GROUP BY model, transport, category, COALESCE(error_category, 'uncategorised')""")
    conn.execute("""
        CREATE VIEW eval_unscored AS
        SELECT model, transport, response_status,
               CASE WHEN instr(reason, ':') > 0 THEN substr(reason, 1, instr(reason, ':') - 1) ELSE reason END
                   AS reason_kind,
               COUNT(*) AS n
        FROM eval_results WHERE status = 'unscored'
        GROUP BY model, transport, response_status, reason_kind""")


MIGRATION = ("v4_evaluations", v4_evaluations)

_REQUEST_COLUMNS = ("call_key", "unit", "question_id", "video_id", "model", "provider", "model_name", "transport",
                    "condition", "permutation", "counterfactual", "options", "gold_letter", "gold", "question_hash",
                    "settings_hash", "prompt_version", "prompt_hash", "media_hashes", "frame_times", "cache_key",
                    "seed", "temperature", "max_tokens", "notes")
_JSON_REQUEST = {"options", "media_hashes", "frame_times", "notes"}
_RESPONSE_COLUMNS = ("status", "text", "error", "error_type", "latency", "input_tokens", "output_tokens", "cost",
                     "system_fingerprint", "finish_reason", "attempts", "cached", "refusal")
_SCORE_COLUMNS = ("call_key", "question_id", "model", "transport", "condition", "permutation", "counterfactual",
                  "status", "correct", "predicted", "predicted_text", "gold", "method", "parse_error", "reason",
                  "error_category", "category", "answer_type", "rule_correct", "judge_correct", "judge_model",
                  "judge_reason", "judge_error")
_BOOL_SCORE = {"correct", "rule_correct", "judge_correct"}


def _b(value: bool | None) -> int | None:
    return None if value is None else int(bool(value))


class EvaluationTables(_Base):
    """Evaluation runs, responses, scores and the response cache (see the module docstring)."""

    # --- eval runs -------------------------------------------------------------------------------------------
    def start_eval_run(self, settings: dict[str, Any], *, n_planned: int = 0, estimated_cost: float | None = None,
                       status: str = "running") -> EvalRun:
        """Record the start of an evaluation (``status="dry_run"`` records a plan that made no calls)."""
        from vidqa._version import __version__

        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO eval_runs (settings, status, started_at, n_planned, estimated_cost, vidqa_version)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (_dumps(settings), status, _now(), int(n_planned), estimated_cost, __version__))
            run_id = int(cur.lastrowid)
        return self.eval_run(run_id)

    def finish_eval_run(self, run_id: int, status: str = "done", **counts: Any) -> EvalRun:
        """Record how an evaluation ended: ``status`` and any of ``n_calls``, ``n_cached``, ``n_resumed``,
        ``n_errors``, ``cost``, ``seconds``, ``error``."""
        allowed = {"n_calls", "n_cached", "n_resumed", "n_errors", "cost", "seconds", "error", "n_planned"}
        unknown = set(counts) - allowed
        if unknown:
            raise ValueError(f"unknown eval run fields {sorted(unknown)}")
        sets = ", ".join(["status = ?", "finished_at = ?"] + [f"{k} = ?" for k in counts])
        with self.transaction() as conn:
            conn.execute(f"UPDATE eval_runs SET {sets} WHERE id = ?", [status, _now(), *counts.values(), run_id])
        return self.eval_run(run_id)

    def eval_run(self, run_id: int) -> EvalRun:
        row = self.conn.execute("SELECT * FROM eval_runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"No evaluation run {run_id}.")
        return _eval_run(row)

    def eval_runs(self) -> list[EvalRun]:
        """Evaluation runs, oldest first."""
        return [_eval_run(r) for r in self.conn.execute("SELECT * FROM eval_runs ORDER BY id")]

    # --- responses and scores --------------------------------------------------------------------------------
    def add_eval_results(self, results: Sequence[tuple[EvalResponse, EvalScore | None]], *,
                         eval_run_id: int | None = None, run_ids: dict[str, int] | None = None) -> list[int]:
        """Write responses (replacing earlier rows of the same call, and their scores) with their scores, in one
        transaction; returns the response ids. ``run_ids`` maps a unit to its run."""
        stamp = _now()
        ids: list[int] = []
        cols = ("eval_run_id", "run_id", *_REQUEST_COLUMNS, *_RESPONSE_COLUMNS, "created_at")
        sql = f"INSERT INTO eval_responses ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        score_cols = ("response_id", *_SCORE_COLUMNS, "created_at")
        score_sql = f"INSERT INTO eval_scores ({', '.join(score_cols)}) VALUES ({', '.join('?' * len(score_cols))})"
        with self.transaction() as conn:
            keys = [resp.request.call_key for resp, _ in results]
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                conn.execute(f"DELETE FROM eval_responses WHERE call_key IN ({', '.join('?' * len(chunk))})", chunk)
            for resp, score in results:
                req = resp.request
                rd = asdict(req)
                values: list[Any] = [resp.eval_run_id or eval_run_id, (run_ids or {}).get(req.unit)]
                values += [_dumps(rd[c]) if c in _JSON_REQUEST else rd[c] for c in _REQUEST_COLUMNS]
                values += [resp.status, resp.text, resp.error, resp.error_type, resp.latency, resp.input_tokens,
                           resp.output_tokens, resp.cost, resp.system_fingerprint, resp.finish_reason,
                           int(resp.attempts or 0), int(bool(resp.cached)), int(bool(resp.refusal)),
                           resp.created_at or stamp]
                rid = int(conn.execute(sql, values).lastrowid)
                ids.append(rid)
                if score is not None:
                    sd = asdict(score)
                    conn.execute(score_sql, [rid, *[_b(sd[c]) if c in _BOOL_SCORE else sd[c]
                                                    for c in _SCORE_COLUMNS], stamp])
        return ids

    def replace_eval_scores(self, scores: Sequence[tuple[int, EvalScore]]) -> int:
        """Replace the scores of stored responses (``(response_id, score)`` pairs), e.g. after re-scoring."""
        stamp = _now()
        score_cols = ("response_id", *_SCORE_COLUMNS, "created_at")
        sql = f"INSERT INTO eval_scores ({', '.join(score_cols)}) VALUES ({', '.join('?' * len(score_cols))})"
        with self.transaction() as conn:
            for rid, score in scores:
                conn.execute("DELETE FROM eval_scores WHERE response_id = ?", (rid,))
                sd = asdict(score)
                conn.execute(sql, [rid, *[_b(sd[c]) if c in _BOOL_SCORE else sd[c] for c in _SCORE_COLUMNS], stamp])
        return len(scores)

    def done_call_keys(self, call_keys: Iterable[str] | None = None) -> set[str]:
        """Call keys that have an answer (``ok`` or ``refused``): a re-run skips them. Errors, parked and
        unsupported calls are not done (a re-run tries them again)."""
        sql = "SELECT call_key FROM eval_responses WHERE status IN ('ok', 'refused')"
        if call_keys is None:
            return {r[0] for r in self.conn.execute(sql)}
        keys = list(call_keys)
        out: set[str] = set()
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            out.update(r[0] for r in self.conn.execute(
                sql + f" AND call_key IN ({', '.join('?' * len(chunk))})", chunk))
        return out

    def eval_responses(self, *, question_id: int | None = None, model: str | None = None,
                       eval_run_id: int | None = None, status: str | None = None) -> list[EvalResponse]:
        """Stored responses with their full provenance, oldest first."""
        sql, params = "SELECT * FROM eval_responses WHERE 1", []
        for col, value in (("question_id", question_id), ("model", model), ("eval_run_id", eval_run_id),
                           ("status", status)):
            if value is not None:
                sql += f" AND {col} = ?"
                params.append(value)
        return [_response(r) for r in self.conn.execute(sql + " ORDER BY id", params)]

    def eval_scores(self, *, model: str | None = None, question_id: int | None = None) -> list[EvalScore]:
        """Stored scores, in response order."""
        sql, params = "SELECT * FROM eval_scores WHERE 1", []
        for col, value in (("model", model), ("question_id", question_id)):
            if value is not None:
                sql += f" AND {col} = ?"
                params.append(value)
        return [_score(r) for r in self.conn.execute(sql + " ORDER BY response_id", params)]

    def eval_results(self, *, model: str | Sequence[str] | None = None, transport: str | None = None,
                     condition: str | None = None, eval_run_id: int | None = None,
                     video_id: str | None = None) -> list[dict[str, Any]]:
        """Rows of the ``eval_results`` view (one per call: response and score), the input of
        :mod:`vidqa.score.stats`."""
        sql, params = "SELECT * FROM eval_results WHERE 1", []
        if model is not None:
            models = [model] if isinstance(model, str) else list(model)
            sql += f" AND model IN ({', '.join('?' * len(models))})"
            params += models
        for col, value in (("transport", transport), ("condition", condition), ("eval_run_id", eval_run_id),
                           ("video_id", video_id)):
            if value is not None:
                sql += f" AND {col} = ?"
                params.append(value)
        return self.query(sql + " ORDER BY response_id", params)

    # --- the response cache ----------------------------------------------------------------------------------
    def cached_response(self, cache_key: str) -> dict[str, Any] | None:
        """The cached answer's fields for ``cache_key``, or ``None``."""
        row = self.conn.execute("SELECT response FROM eval_cache WHERE cache_key = ?", (cache_key,)).fetchone()
        return json.loads(row[0]) if row else None

    def cached_responses(self, cache_keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The cached answers among ``cache_keys`` (a bulk :meth:`cached_response`)."""
        keys = list(dict.fromkeys(cache_keys))
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            for k, v in self.conn.execute(
                    f"SELECT cache_key, response FROM eval_cache WHERE cache_key IN ({', '.join('?' * len(chunk))})",
                    chunk):
                out[k] = json.loads(v)
        return out

    def put_cached_responses(self, items: Sequence[tuple[str, str, str, dict[str, Any]]]) -> int:
        """Store answers as ``(cache_key, provider, model, fields)``; an existing key is overwritten."""
        stamp = _now()
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO eval_cache (cache_key, provider, model, response, created_at)"
                " VALUES (?, ?, ?, ?, ?)", [(k, p, m, _dumps(f), stamp) for k, p, m, f in items])
        return len(items)

    def clear_eval_cache(self, *, model: str | None = None) -> int:
        """Forget cached answers (of one model name when given); returns how many."""
        with self.transaction() as conn:
            if model is None:
                return conn.execute("DELETE FROM eval_cache").rowcount
            return conn.execute("DELETE FROM eval_cache WHERE model = ?", (model,)).rowcount


def _eval_run(r: sqlite3.Row) -> EvalRun:
    return EvalRun(id=r["id"], settings=json.loads(r["settings"]), status=r["status"], started_at=r["started_at"],
                   finished_at=r["finished_at"], n_planned=r["n_planned"], n_calls=r["n_calls"],
                   n_cached=r["n_cached"], n_resumed=r["n_resumed"], n_errors=r["n_errors"],
                   estimated_cost=r["estimated_cost"], cost=r["cost"], seconds=r["seconds"], error=r["error"])


def _response(r: sqlite3.Row) -> EvalResponse:
    fields = {c: (json.loads(r[c]) if c in _JSON_REQUEST else r[c]) for c in _REQUEST_COLUMNS}
    req = EvalRequest(**fields)
    return EvalResponse(req, r["status"], text=r["text"], error=r["error"], error_type=r["error_type"],
                        latency=r["latency"], input_tokens=r["input_tokens"], output_tokens=r["output_tokens"],
                        cost=r["cost"], system_fingerprint=r["system_fingerprint"], finish_reason=r["finish_reason"],
                        attempts=r["attempts"], cached=bool(r["cached"]), refusal=bool(r["refusal"]), id=r["id"],
                        eval_run_id=r["eval_run_id"], created_at=r["created_at"])


def _score(r: sqlite3.Row) -> EvalScore:
    fields = {c: (None if r[c] is None else bool(r[c])) if c in _BOOL_SCORE else r[c] for c in _SCORE_COLUMNS}
    return EvalScore(**fields, response_id=r["response_id"], id=r["id"])

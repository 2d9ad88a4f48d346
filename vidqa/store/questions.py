"""Questions, their options, evidence and drop reasons, and reviews.

Tables (migration ``v3_questions_and_reviews``):

``questions``          one row per question (draft, validated, rejected or dropped candidate); cues as JSON
``question_options``   the multiple-choice options in order (``position``), one row each
``question_evidence``  the stored rows a gold answer stands on: ``kind`` (``word``, ``audio_event``,
                       ``visual_event``, ``frame``) and ``ref_id``, in order
``question_drops``     why a candidate was dropped (``check`` such as ``leak_heard``, ``reason``); kept as history
                       when a reviewer rescues the candidate
``reviews``            one row per verdict (``accept``, ``reject``, ``skip``, ``edit``), ``round`` 1 or 2

Example::

    from vidqa.store import open_store
    store = open_store("data/vidqa.db")
    [qid] = store.add_questions([question])
    store.add_review(Review(qid, "ana", "accept"))
    store.question(qid).status            # 'validated'
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from vidqa.errors import NotFoundError
from vidqa.records.questions import (
    QUESTION_STATUSES,
    REVIEW_VERDICTS,
    AudioCue,
    Evidence,
    Question,
    QuestionError,
    Review,
    VisualCue,
    apply_changes,
)

__all__ = ['dumps', 'now', 'v3_questions_and_reviews', 'MIGRATION', 'drop_check', 'QuestionTables']

if TYPE_CHECKING:
    from vidqa.store.db import Database as _Base
else:
    # vidqa.store.schema imports this module while vidqa.store.db is still loading (db -> schema -> questions), so
    # nothing of db may be imported at module level: at run time the mixin's base is object and Store supplies
    # Database (it lists it last); dumps/now are looked up when called.
    _Base = object


def dumps(value: Any) -> str:
    from vidqa.store.db import dumps as _dumps

    return _dumps(value)


def now() -> str:
    from vidqa.store.db import now as _now

    return _now()

_EVIDENCE_KINDS = (("word", "words"), ("audio_event", "audio_events"), ("visual_event", "visual_events"),
                   ("frame", "frames"))


def v3_questions_and_reviews(conn: sqlite3.Connection) -> None:
    """Questions (with options, evidence and drop reasons) and reviews."""
    conn.execute("""
        CREATE TABLE questions (
            id INTEGER PRIMARY KEY,
            video_id TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
            video_sha256 TEXT,
            run_id INTEGER REFERENCES runs(id),
            category TEXT NOT NULL,
            template TEXT NOT NULL,
            template_version INTEGER NOT NULL DEFAULT 1,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            answer_type TEXT NOT NULL,
            answer_index INTEGER,
            t_start REAL NOT NULL,
            t_end REAL NOT NULL,
            audio_cue TEXT NOT NULL DEFAULT '{}',
            visual_cue TEXT NOT NULL DEFAULT '{}',
            confidence REAL NOT NULL DEFAULT 1.0,
            status TEXT NOT NULL DEFAULT 'draft',     -- draft / validated / rejected / dropped
            drop_reason TEXT,
            seed INTEGER,
            source TEXT NOT NULL DEFAULT 'template',  -- template / note / model
            note_id INTEGER REFERENCES notes(id) ON DELETE SET NULL,
            gate TEXT NOT NULL DEFAULT '{}',
            context TEXT NOT NULL DEFAULT '{}',   -- note text, transcript line, nearby cues (note drafts)
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""")
    conn.execute("CREATE INDEX questions_status ON questions(video_id, status, category)")
    conn.execute("CREATE INDEX questions_window ON questions(video_id, t_start, t_end)")
    conn.execute("CREATE INDEX questions_queue ON questions(status, category)")
    conn.execute("""
        CREATE TABLE question_options (
            question_id INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            text TEXT NOT NULL,
            PRIMARY KEY (question_id, position)
        )""")
    conn.execute("""
        CREATE TABLE question_evidence (
            question_id INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,                       -- word / audio_event / visual_event / frame
            ref_id INTEGER NOT NULL,
            position INTEGER NOT NULL,
            PRIMARY KEY (question_id, kind, position)
        )""")
    conn.execute("CREATE INDEX question_evidence_ref ON question_evidence(kind, ref_id)")
    conn.execute("""
        CREATE TABLE question_drops (
            id INTEGER PRIMARY KEY,
            question_id INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
            check_name TEXT NOT NULL,                 -- leak_question / leak_heard / options / confidence ...
            reason TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""")
    conn.execute("CREATE INDEX question_drops_question ON question_drops(question_id)")
    conn.execute("""
        CREATE TABLE reviews (
            id INTEGER PRIMARY KEY,
            question_id INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
            reviewer TEXT NOT NULL,
            verdict TEXT NOT NULL,                    -- accept / reject / skip / edit
            reason TEXT,
            changes TEXT NOT NULL DEFAULT '{}',
            round INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        )""")
    conn.execute("CREATE INDEX reviews_question ON reviews(question_id, round)")
    conn.execute("CREATE INDEX reviews_round ON reviews(round, reviewer)")


MIGRATION = ("v3_questions_and_reviews", v3_questions_and_reviews)

_COLUMNS = ("video_id", "video_sha256", "run_id", "category", "template", "template_version", "question", "answer",
            "answer_type", "answer_index", "t_start", "t_end", "audio_cue", "visual_cue", "confidence", "status",
            "drop_reason", "seed", "source", "note_id", "gate", "context", "created_at", "updated_at")
_UPDATABLE = frozenset({"category", "template", "template_version", "question", "answer", "answer_type", "options",
                        "answer_index", "t_start", "t_end", "audio_cue", "visual_cue", "evidence", "confidence",
                        "status", "drop_reason", "seed", "source", "gate", "context", "video_sha256"})


def drop_check(reason: str | None) -> str:
    """The check named at the front of a drop reason (``"leak_heard: ..."`` -> ``leak_heard``)."""
    if not reason:
        return "unknown"
    head = reason.split(":", 1)[0].strip()
    return head if head and " " not in head else "other"


class QuestionTables(_Base):
    """Questions and reviews (see the module docstring)."""

    # --- writes ----------------------------------------------------------------------------------------------
    def _insert_question(self, conn: sqlite3.Connection, q: Question, run_id: int | None, stamp: str) -> int:
        if q.status != "dropped":
            q.validate()
        row = {
            "video_id": q.video_id, "video_sha256": q.video_sha256, "run_id": run_id, "category": q.category,
            "template": q.template, "template_version": int(q.template_version), "question": q.question,
            "answer": q.answer, "answer_type": q.answer_type, "answer_index": q.answer_index,
            "t_start": float(q.t_start), "t_end": float(q.t_end), "audio_cue": dumps(_cue_dict(q.audio_cue)),
            "visual_cue": dumps(_cue_dict(q.visual_cue)), "confidence": float(q.confidence), "status": q.status,
            "drop_reason": q.drop_reason, "seed": q.seed, "source": q.source, "note_id": q.evidence.note_id,
            "gate": dumps(q.gate), "context": dumps(q.context), "created_at": q.created_at or stamp, "updated_at": stamp,
        }
        if row["video_sha256"] is None:
            found = conn.execute("SELECT sha256 FROM videos WHERE id = ?", (q.video_id,)).fetchone()
            row["video_sha256"] = found[0] if found else None
        cur = conn.execute(f"INSERT INTO questions ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                           [row[c] for c in _COLUMNS])
        qid = int(cur.lastrowid)
        self._write_children(conn, qid, q.options, q.evidence)
        if q.status == "dropped":
            conn.execute("INSERT INTO question_drops (question_id, check_name, reason, created_at) VALUES (?, ?, ?, ?)",
                         (qid, drop_check(q.drop_reason), q.drop_reason or "dropped", stamp))
        return qid

    @staticmethod
    def _write_children(conn: sqlite3.Connection, qid: int, options: Sequence[str] | None,
                        evidence: Evidence | None) -> None:
        if options is not None:
            conn.execute("DELETE FROM question_options WHERE question_id = ?", (qid,))
            conn.executemany("INSERT INTO question_options (question_id, position, text) VALUES (?, ?, ?)",
                             [(qid, i, str(o)) for i, o in enumerate(options)])
        if evidence is not None:
            conn.execute("DELETE FROM question_evidence WHERE question_id = ?", (qid,))
            rows = [(qid, kind, int(ref), i) for kind, attr in _EVIDENCE_KINDS
                    for i, ref in enumerate(getattr(evidence, attr))]
            conn.executemany("INSERT INTO question_evidence (question_id, kind, ref_id, position) VALUES (?, ?, ?, ?)",
                             rows)

    def add_questions(self, questions: Sequence[Question], *, run_id: int | None = None) -> list[int]:
        """Insert questions (with their options, evidence and drop reasons) in one transaction; returns their ids.

        Questions other than ``dropped`` are validated first (:class:`~vidqa.records.questions.QuestionError`).
        """
        stamp = now()
        with self.transaction() as conn:
            return [self._insert_question(conn, q, run_id, stamp) for q in questions]

    def replace_generated_questions(self, video_id: str, questions: Sequence[Question], *,
                                    run_id: int | None = None) -> int:
        """Replace a video's generated candidates (template/model questions still ``draft`` or ``dropped`` and never
        reviewed) with ``questions``; reviewed questions and note drafts stay. A new question with the same
        :meth:`~vidqa.records.questions.Question.key` as a kept one is not added. Returns how many were added."""
        stamp = now()
        with self.transaction() as conn:
            conn.execute(
                "DELETE FROM questions WHERE video_id = ? AND source != 'note' AND status IN ('draft', 'dropped')"
                " AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.question_id = questions.id)",
                (video_id,),
            )
            kept = {q.key() for q in self._load(conn, "WHERE q.video_id = ?", [video_id])}
            n = 0
            for q in questions:
                if q.video_id != video_id:
                    raise QuestionError(f"A question of video {q.video_id} cannot replace questions of {video_id}.")
                if q.key() in kept:
                    continue
                kept.add(q.key())
                self._insert_question(conn, q, run_id, stamp)
                n += 1
        return n

    def update_question(self, qid: int, **fields: Any) -> Question:
        """Change fields of a question (``question``, ``answer``, ``options``, ``answer_index``, ``t_start``,
        ``t_end``, ``status``, ``drop_reason``, ``gate``, ``evidence`` ...); the result is validated (unless
        ``dropped``) in the same transaction."""
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise QuestionError(f"Unknown question fields {sorted(unknown)}; known: {', '.join(sorted(_UPDATABLE))}.")
        if "status" in fields and fields["status"] not in QUESTION_STATUSES:
            raise QuestionError(f"Status {fields['status']!r} is not one of {', '.join(QUESTION_STATUSES)}.")
        with self.transaction() as conn:
            old = self._one(conn, qid)
            new = replace(old, **fields)
            self._save(conn, old, new)
            return self._one(conn, qid)

    def _save(self, conn: sqlite3.Connection, old: Question, new: Question) -> None:
        if new.status != "dropped":
            new.validate()
        stamp = now()
        conn.execute(
            "UPDATE questions SET category = ?, template = ?, template_version = ?, question = ?, answer = ?,"
            " answer_type = ?, answer_index = ?, t_start = ?, t_end = ?, audio_cue = ?, visual_cue = ?,"
            " confidence = ?, status = ?, drop_reason = ?, seed = ?, source = ?, note_id = ?, gate = ?, context = ?,"
            " video_sha256 = ?, updated_at = ? WHERE id = ?",
            (new.category, new.template, int(new.template_version), new.question, new.answer, new.answer_type,
             new.answer_index, float(new.t_start), float(new.t_end), dumps(_cue_dict(new.audio_cue)),
             dumps(_cue_dict(new.visual_cue)), float(new.confidence), new.status, new.drop_reason, new.seed,
             new.source, new.evidence.note_id, dumps(new.gate), dumps(new.context), new.video_sha256, stamp, old.id),
        )
        self._write_children(conn, int(old.id), new.options if new.options != old.options else None,
                             new.evidence if new.evidence != old.evidence else None)
        if new.status == "dropped" and (old.status != "dropped" or new.drop_reason != old.drop_reason):
            conn.execute("INSERT INTO question_drops (question_id, check_name, reason, created_at) VALUES (?, ?, ?, ?)",
                         (old.id, drop_check(new.drop_reason), new.drop_reason or "dropped", stamp))

    def add_review(self, review: Review) -> Review:
        """Record a verdict and apply it to the question, in one transaction.

        Round 1: ``accept`` -> ``validated`` (with ``changes`` it is an edit), ``edit`` applies ``changes``
        (:func:`~vidqa.records.questions.apply_changes`: prompt, answer, options, window, category) and validates,
        ``reject`` -> ``rejected``, ``skip`` changes nothing. A rescued dropped candidate loses its ``drop_reason``
        (``question_drops`` keeps it). Round 2 (the agreement sample) is recorded without touching the question.
        """
        if review.verdict not in REVIEW_VERDICTS:
            raise QuestionError(f"Verdict {review.verdict!r} is not one of {', '.join(REVIEW_VERDICTS)}.")
        if not str(review.reviewer or "").strip():
            raise QuestionError("A review needs the reviewer's name.")
        if review.round < 1:
            raise QuestionError(f"Review round must be 1 or more, not {review.round}.")
        stamp = now()
        with self.transaction() as conn:
            old = self._one(conn, review.question_id)
            if review.round == 1 and review.verdict != "skip":
                new = old
                if review.verdict in ("accept", "edit"):
                    if review.changes:
                        new = apply_changes(old, review.changes)
                    new = replace(new, status="validated", drop_reason=None)
                else:
                    new = replace(old, status="rejected", drop_reason=None)
                self._save(conn, old, new)
            cur = conn.execute(
                "INSERT INTO reviews (question_id, reviewer, verdict, reason, changes, round, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (review.question_id, review.reviewer.strip(), review.verdict, review.reason, dumps(review.changes),
                 int(review.round), stamp),
            )
            return replace(review, id=int(cur.lastrowid), created_at=stamp, reviewer=review.reviewer.strip())

    # --- reads -----------------------------------------------------------------------------------------------
    def question(self, qid: int) -> Question:
        """One question with its options and evidence (:class:`~vidqa.errors.NotFoundError` when missing)."""
        with self.snapshot() as conn:
            return self._one(conn, qid)

    def questions(self, video_id: str | None = None, *, status: str | Sequence[str] | None = None,
                  category: str | None = None) -> list[Question]:
        """Questions in (video, window start, id) order; only of ``video_id``, ``status`` (one or several) and
        ``category`` when given."""
        where, params = [], []
        if video_id is not None:
            where.append("q.video_id = ?")
            params.append(video_id)
        if status is not None:
            statuses = [status] if isinstance(status, str) else list(status)
            where.append(f"q.status IN ({', '.join('?' * len(statuses))})")
            params += statuses
        if category is not None:
            where.append("q.category = ?")
            params.append(category)
        with self.snapshot() as conn:
            return self._load(conn, ("WHERE " + " AND ".join(where)) if where else "", params)

    def question_drops(self, qid: int) -> list[dict[str, Any]]:
        """Every drop recorded for a question (check, reason, time), oldest first."""
        return self.query("SELECT check_name AS \"check\", reason, created_at FROM question_drops WHERE question_id = ?"
                          " ORDER BY id", (qid,))

    def reviews(self, question_id: int | None = None, *, round: int | None = None) -> list[Review]:
        """Reviews in the order they were made; only of ``question_id`` and ``round`` when given."""
        sql, params = "SELECT * FROM reviews", []
        where = []
        if question_id is not None:
            where.append("question_id = ?")
            params.append(question_id)
        if round is not None:
            where.append("round = ?")
            params.append(round)
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [
            Review(r["question_id"], r["reviewer"], r["verdict"], r["reason"], json.loads(r["changes"]), r["round"],
                   r["id"], r["created_at"])
            for r in self.conn.execute(sql + " ORDER BY id", params)
        ]

    def _one(self, conn: sqlite3.Connection, qid: int) -> Question:
        found = self._load(conn, "WHERE q.id = ?", [qid])
        if not found:
            raise NotFoundError(f"No question {qid}: `vidqa questions list` shows the ids.")
        return found[0]

    @staticmethod
    def _load(conn: sqlite3.Connection, where: str, params: Sequence[Any]) -> list[Question]:
        rows = conn.execute(f"SELECT q.* FROM questions q {where} ORDER BY q.video_id, q.t_start, q.id",
                            list(params)).fetchall()
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        options: dict[int, list[str]] = {}
        evidence: dict[int, dict[str, list[int]]] = {}
        for chunk in (ids[i:i + 900] for i in range(0, len(ids), 900)):
            marks = ", ".join("?" * len(chunk))
            for o in conn.execute(f"SELECT question_id, text FROM question_options WHERE question_id IN ({marks})"
                                  " ORDER BY question_id, position", chunk):
                options.setdefault(o[0], []).append(o[1])
            for e in conn.execute(f"SELECT question_id, kind, ref_id FROM question_evidence WHERE question_id IN"
                                  f" ({marks}) ORDER BY question_id, kind, position", chunk):
                evidence.setdefault(e[0], {}).setdefault(e[1], []).append(e[2])
        kinds = dict(_EVIDENCE_KINDS)
        out = []
        for r in rows:
            ev = {kinds[k]: v for k, v in evidence.get(r["id"], {}).items() if k in kinds}
            audio = json.loads(r["audio_cue"])
            visual = json.loads(r["visual_cue"])
            if visual.get("box") is not None:
                visual["box"] = tuple(visual["box"])
            out.append(Question(
                video_id=r["video_id"], category=r["category"], template=r["template"],
                template_version=r["template_version"], question=r["question"], answer=r["answer"],
                answer_type=r["answer_type"], options=options.get(r["id"], []), answer_index=r["answer_index"],
                t_start=r["t_start"], t_end=r["t_end"], audio_cue=AudioCue(**audio), visual_cue=VisualCue(**visual),
                evidence=Evidence(**ev, note_id=r["note_id"]), confidence=r["confidence"], status=r["status"],
                drop_reason=r["drop_reason"], id=r["id"], video_sha256=r["video_sha256"], seed=r["seed"],
                source=r["source"], gate=json.loads(r["gate"]), context=json.loads(r["context"]), created_at=r["created_at"],
                updated_at=r["updated_at"],
            ))
        return out


def _cue_dict(cue: AudioCue | VisualCue) -> dict[str, Any]:
    from dataclasses import asdict

    out = asdict(cue)
    if out.get("box") is not None:
        out["box"] = [float(x) for x in out["box"]]
    return out

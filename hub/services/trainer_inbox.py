"""The unanswered inbox: customer questions the bot did not answer, masked, grouped by meaning, turned into FAQs.

Two sources report questions: the action server's FAQ and fallback actions (``POST /api/unanswered`` with the
outcome ``clarify``, ``no_answer`` or ``fallback``) and the hub's own handoff intake (the customer's last
question before a person took over). Personal data is masked before anything is stored
(:mod:`hub.services.masking`); the same question of one conversation is stored once.

Groups are built when the inbox is read: every open question is embedded with the knowledge base's model and
clustered greedily — in arrival order, a question joins the group whose centroid is most similar if that
similarity reaches ``CLUSTER_SIMILARITY``, else it starts a group. In one step a trainer adds a group's questions
to an FAQ as paraphrases, creates an FAQ from them, or dismisses them; either closes them in the inbox.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hub.exceptions import HubError, InvalidTrainingData, ValidationFailed
from hub.services.clock import Clock
from hub.services.masking import mask_personal_data
from hub.services.trainer_faqs import FaqService
from hub.services.trainer_kb import KnowledgeService
from hub.storage import Store
from hub.storage.trainer import UnansweredQuestion
from knowledge_base.editor import FaqDraft
from knowledge_base.schema import text_key

log = logging.getLogger(__name__)

OUTCOMES = ("clarify", "no_answer", "fallback", "handoff")
# Handoff reasons that mean "the bot could not help with the question" (a complaint, fraud report, sign
# language or a backend failure goes to people by design, not because the knowledge is missing).
HANDOFF_REASONS = ("explicit_request", "fallback", "kb_no_answer")
# A customer's turn that is not a question for the knowledge base: the handoff request itself, small talk.
NOT_QUESTIONS = frozenset(
    {"request_human", "request_sign_language", "greet", "goodbye", "thank", "affirm", "deny", "cancel", "inform"}
)
# e5-small cosines of two wordings of one question are ≥ 0.9 (the answer threshold is 0.945, clarify 0.9275);
# questions about different things rarely reach 0.9.
CLUSTER_SIMILARITY = 0.9
MAX_OPEN_QUESTIONS = 500  # grouped per read: embedding 500 short questions takes a few seconds at most
MAX_QUESTION_CHARS = 500
EXAMPLES_PER_GROUP = 5


def greedy_clusters(vectors: np.ndarray, threshold: float) -> list[list[int]]:
    """Groups rows of unit ``vectors``: each joins the most similar group centroid ≥ ``threshold``, else starts one.

    Returns:
        The row positions of each group, groups in order of their first row.
    """
    groups: list[list[int]] = []
    sums: list[np.ndarray] = []
    centroids = np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0), dtype=np.float32)
    for row, vector in enumerate(vectors):
        if len(groups):
            similarities = centroids @ vector
            best = int(np.argmax(similarities))
            if similarities[best] >= threshold:
                groups[best].append(row)
                sums[best] = sums[best] + vector
                centroids[best] = sums[best] / max(float(np.linalg.norm(sums[best])), 1e-12)
                continue
        groups.append([row])
        sums.append(vector.astype(np.float32))
        centroids = np.vstack([centroids, vector.astype(np.float32)])
    return groups


def parse_report(body: Any) -> dict[str, Any]:
    """Validates ``POST /api/unanswered`` from the action server."""
    if not isinstance(body, Mapping):
        raise ValidationFailed("the body must be a JSON object")
    conversation_id, text, outcome = body.get("conversation_id"), body.get("text"), body.get("outcome")
    if not isinstance(conversation_id, str) or not 0 < len(conversation_id) <= 64:
        raise ValidationFailed("conversation_id must be a non-empty string of at most 64 characters")
    if not isinstance(text, str) or not text.strip():
        raise ValidationFailed("text must be a non-empty string")
    if outcome not in OUTCOMES:
        raise ValidationFailed(f"outcome must be one of {', '.join(OUTCOMES)}")
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise ValidationFailed("reason must be a string")
    candidates = body.get("candidates") or []
    if not isinstance(candidates, list):
        raise ValidationFailed("candidates must be a list")
    return {
        "conversation_id": conversation_id,
        "text": text,
        "outcome": outcome,
        "reason": reason,
        "candidates": clean_candidates(candidates),
    }


def clean_candidates(candidates: Sequence[Any]) -> list[dict[str, Any]]:
    """The knowledge-base candidates as stored: faq id, question and score, at most five."""
    cleaned = []
    for item in candidates[:5]:
        if isinstance(item, Mapping) and isinstance(item.get("faq_id"), str):
            score = item.get("score")
            cleaned.append(
                {
                    "faq_id": item["faq_id"],
                    "question": str(item.get("question") or ""),
                    "score": float(score) if isinstance(score, int | float) else None,
                }
            )
    return cleaned


def question_before_handoff(packet: Mapping[str, Any]) -> str | None:
    """The customer's last real question in a handoff packet's transcript (not "转人工", not small talk)."""
    transcript = packet.get("transcript")
    if not isinstance(transcript, list):
        return None
    for turn in reversed(transcript):
        if not isinstance(turn, Mapping) or turn.get("sender") != "customer":
            continue
        text = turn.get("text")
        if not isinstance(text, str) or not text.strip() or text.startswith("/"):
            continue
        if turn.get("intent") in NOT_QUESTIONS:
            continue
        return text
    return None


def question_dict(question: UnansweredQuestion) -> dict[str, Any]:
    return {
        "id": question.id,
        "conversation_id": question.conversation_id,
        "text": question.text,
        "outcome": question.outcome,
        "reason": question.reason,
        "candidates": question.candidates,
        "status": question.status,
        "faq_id": question.faq_id,
        "created_at": question.created_at.isoformat(),
    }


class InboxService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        knowledge: KnowledgeService,
        faqs: FaqService,
        *,
        similarity: float = CLUSTER_SIMILARITY,
    ) -> None:
        self.store = store
        self.clock = clock
        self.knowledge = knowledge
        self.faqs = faqs
        self.similarity = similarity

    # -- intake ----------------------------------------------------------------------------------------------

    def record(
        self,
        conversation_id: str,
        text: str,
        outcome: str,
        *,
        reason: str | None = None,
        candidates: Sequence[Mapping[str, Any]] = (),
    ) -> UnansweredQuestion | None:
        """Stores a masked question; None when this conversation's question is logged already."""
        masked = " ".join(mask_personal_data(text).split())[:MAX_QUESTION_CHARS]
        if not masked:
            return None
        with self.store.transaction() as tx:
            if tx.unanswered_logged(conversation_id, masked):
                return None
            return tx.insert_unanswered(
                conversation_id=conversation_id,
                text=masked,
                outcome=outcome,
                reason=reason,
                candidates=clean_candidates(list(candidates)),
                now=self.clock.now(),
            )

    def record_handoff(self, packet: Mapping[str, Any]) -> UnansweredQuestion | None:
        """Logs the question a handoff packet was about, when the bot could not help with it. Never raises."""
        try:
            reason = packet.get("reason")
            conversation_id = packet.get("conversation_id")
            if reason not in HANDOFF_REASONS or not isinstance(conversation_id, str):
                return None
            text = question_before_handoff(packet)
            if text is None:
                return None
            candidates = packet.get("kb_candidates") if isinstance(packet.get("kb_candidates"), list) else []
            return self.record(conversation_id, text, "handoff", reason=str(reason), candidates=candidates or [])
        except Exception:  # the handoff itself has succeeded; the inbox is a by-product
            log.exception("could not log the handoff question of %s", packet.get("conversation_id"))
            return None

    # -- reading ---------------------------------------------------------------------------------------------

    def groups(self) -> dict[str, Any]:
        """Open questions grouped by meaning, largest group first (blocking: embeds the questions)."""
        with self.store.transaction() as tx:
            questions = list(reversed(tx.unanswered(status="open", limit=MAX_OPEN_QUESTIONS)))  # oldest first
        grouping = "meaning"
        if not questions:
            return {"groups": [], "total": 0, "grouping": grouping}
        try:
            vectors = self.knowledge.encode([question.text for question in questions])
            clusters = greedy_clusters(vectors, self.similarity)
        except HubError:  # no model: same wording still groups, so the inbox stays usable
            log.warning("the inbox is grouped by wording: the knowledge base is unavailable")
            grouping = "text"
            by_text: dict[str, list[int]] = {}
            for position, question in enumerate(questions):
                by_text.setdefault(text_key(question.text), []).append(position)
            clusters = list(by_text.values())
        groups = [self._group([questions[position] for position in cluster]) for cluster in clusters]
        groups.sort(key=lambda group: (group["count"], group["last_seen"]), reverse=True)
        return {"groups": groups, "total": len(questions), "grouping": grouping}

    @staticmethod
    def _group(members: list[UnansweredQuestion]) -> dict[str, Any]:
        texts = Counter(member.text for member in members)
        top = Counter(member.candidates[0]["faq_id"] for member in members if member.candidates)
        suggestion = None
        if top:
            faq_id = top.most_common(1)[0][0]
            scores = [m.candidates[0] for m in members if m.candidates and m.candidates[0]["faq_id"] == faq_id]
            suggestion = {
                "faq_id": faq_id,
                "question": scores[0].get("question", ""),
                "score": max((c.get("score") or 0.0) for c in scores),
            }
        return {
            "id": f"g{members[0].id}",
            "count": len(members),
            "ids": [member.id for member in members],
            "examples": [{"text": text, "count": count} for text, count in texts.most_common()],
            "questions": [question_dict(member) for member in members],
            "outcomes": dict(Counter(member.outcome for member in members)),
            "suggestion": suggestion,
            "first_seen": members[0].created_at.isoformat(),
            "last_seen": max(member.created_at for member in members).isoformat(),
        }

    # -- resolving -------------------------------------------------------------------------------------------

    def attach(self, agent_id: str, ids: Sequence[int], faq_id: str) -> dict[str, Any]:
        """Adds the questions to an FAQ as paraphrases (one edit, one rebuild) and closes them."""
        questions = self._open(ids)
        result = self.faqs.add_paraphrases(agent_id, faq_id, [question.text for question in questions])
        self._close(agent_id, questions, "resolved", faq_id)
        return {**result, "closed": len(questions)}

    def create_faq(
        self, agent_id: str, ids: Sequence[int], faq_id: str, draft: FaqDraft, *, new_file: str | None = None
    ) -> dict[str, Any]:
        """Creates an FAQ from a group (the draft holds the question, paraphrases and answer) and closes them."""
        questions = self._open(ids)
        result = self.faqs.create(agent_id, faq_id, draft, new_file=new_file)
        created = result["faq"]["id"] if result.get("faq") else faq_id
        self._close(agent_id, questions, "resolved", created)
        return {**result, "closed": len(questions)}

    def dismiss(self, agent_id: str, ids: Sequence[int]) -> dict[str, Any]:
        questions = self._open(ids)
        self._close(agent_id, questions, "dismissed", None)
        return {"closed": len(questions)}

    def _open(self, ids: Sequence[int]) -> list[UnansweredQuestion]:
        if not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise ValidationFailed("ids must be a non-empty list of question ids")
        with self.store.transaction() as tx:
            questions = [q for q in tx.unanswered(ids=ids) if q.status == "open"]
        if not questions:
            raise InvalidTrainingData([], "这些问题已被处理。")
        return sorted(questions, key=lambda question: question.id)

    def _close(self, agent_id: str, questions: Sequence[UnansweredQuestion], status: str, faq_id: str | None) -> None:
        with self.store.transaction() as tx:
            tx.close_unanswered(
                [q.id for q in questions], status=status, faq_id=faq_id, agent_id=agent_id, now=self.clock.now()
            )

"""hub/services/trainer_inbox.py: unanswered questions are masked, deduplicated, grouped and turned into FAQs."""

from __future__ import annotations

import numpy as np
import pytest

from hub.exceptions import InvalidTrainingData, ValidationFailed
from hub.services.trainer import Trainer
from hub.services.trainer_inbox import greedy_clusters, parse_report, question_before_handoff
from knowledge_base.editor import FaqDraft
from knowledge_base.loader import load_catalog

REBUILD_TIMEOUT_SECONDS = 60


def unit(*rows: list[float]) -> np.ndarray:
    vectors = np.array(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_greedy_clusters_joins_similar_rows_and_splits_the_rest() -> None:
    vectors = unit([1, 0, 0], [0.95, 0.05, 0], [0, 1, 0], [0.9, 0.1, 0], [0, 0, 1], [0.05, 0.95, 0])

    assert greedy_clusters(vectors, 0.9) == [[0, 1, 3], [2, 5], [4]]


def test_greedy_clusters_empty_input_has_no_groups() -> None:
    assert greedy_clusters(np.zeros((0, 3), dtype=np.float32), 0.9) == []


def test_record_masks_personal_data_and_stores_once_per_conversation(console: Trainer) -> None:
    first = console.inbox.record("c1", "我的手机13812345678 借款多久到账", "no_answer")
    again = console.inbox.record("c1", "我的手机13812345678 借款多久到账", "fallback")
    other = console.inbox.record("c2", "我的手机13812345678 借款多久到账", "no_answer")

    assert first is not None and first.text == "我的手机[手机号] 借款多久到账"
    assert again is None
    assert other is not None


def test_record_handoff_logs_the_question_before_the_request(console: Trainer) -> None:
    packet = {
        "conversation_id": "c3",
        "reason": "explicit_request",
        "transcript": [
            {"sender": "customer", "text": "你好", "intent": "greet"},
            {"sender": "bot", "text": "您好"},
            {"sender": "customer", "text": "借款多久到账", "intent": "faq"},
            {"sender": "bot", "text": "抱歉"},
            {"sender": "customer", "text": "转人工", "intent": "request_human"},
        ],
        "kb_candidates": [{"faq_id": "limit-002", "question": "额度最高是多少？", "score": 0.2}],
    }

    stored = console.inbox.record_handoff(packet)

    assert stored is not None and stored.text == "借款多久到账" and stored.outcome == "handoff"
    assert stored.reason == "explicit_request" and stored.candidates[0]["faq_id"] == "limit-002"


@pytest.mark.parametrize(
    "packet",
    [
        {"conversation_id": "c4", "reason": "complaint", "transcript": [{"sender": "customer", "text": "投诉"}]},
        {"conversation_id": "c4", "reason": "explicit_request", "transcript": [{"sender": "customer", "text": "/x"}]},
        {"conversation_id": "c4", "reason": "fallback", "transcript": "not a list"},
        {"reason": "fallback"},
    ],
    ids=["complaint-by-design", "button-payload", "malformed-transcript", "no-conversation"],
)
def test_record_handoff_ignores_what_is_not_a_knowledge_gap(console: Trainer, packet: dict[str, object]) -> None:
    assert console.inbox.record_handoff(packet) is None


def test_question_before_handoff_skips_small_talk() -> None:
    transcript = [{"sender": "customer", "text": "谢谢", "intent": "thank"}]
    assert question_before_handoff({"transcript": transcript}) is None


def test_parse_report_rejects_unknown_outcome() -> None:
    with pytest.raises(ValidationFailed):
        parse_report({"conversation_id": "c", "text": "问", "outcome": "maybe"})


def test_groups_gather_questions_of_one_meaning_with_counts_and_suggestion(console: Trainer) -> None:
    candidates = [{"faq_id": "limit-002", "question": "额度最高是多少？", "score": 0.28}]
    for number, text in enumerate(["借款到账多久", "借款多久到账", "到账要多久", "借款到账多久"]):
        console.inbox.record(f"a{number}", text, "no_answer", candidates=candidates)
    console.inbox.record("b1", "今天天气好吗", "fallback")

    inbox = console.inbox.groups()

    assert inbox["grouping"] == "meaning" and inbox["total"] == 5
    big, small = inbox["groups"]
    assert big["count"] == 4 and big["examples"][0] == {"text": "借款到账多久", "count": 2}
    assert big["suggestion"]["faq_id"] == "limit-002" and big["outcomes"] == {"no_answer": 4}
    assert small["count"] == 1 and small["examples"] == [{"text": "今天天气好吗", "count": 1}]


def test_attach_adds_paraphrases_closes_questions_and_the_next_customer_is_answered(
    console: Trainer, accounts: None
) -> None:
    for number, text in enumerate(["借款到账多久", "借款多久到账"]):
        console.inbox.record(f"a{number}", text, "no_answer")
    assert console.knowledge.try_it("借款到账多久")["decision"] == "no_answer"
    group = console.inbox.groups()["groups"][0]

    result = console.inbox.attach("trainer9", group["ids"], "limit-002")

    assert result["closed"] == 2
    assert load_catalog(console.faqs.editor.data_dir).get("limit-002").paraphrases[-2:] == (  # type: ignore[union-attr]
        "借款到账多久",
        "借款多久到账",
    )
    assert console.inbox.groups()["groups"] == []
    assert console.knowledge.wait_idle(REBUILD_TIMEOUT_SECONDS)
    assert console.knowledge.try_it("借款到账多久")["answer_faq_id"] == "limit-002"


def test_create_faq_from_group(console: Trainer, accounts: None) -> None:
    console.inbox.record("a1", "你们会唱歌吗", "fallback")
    group = console.inbox.groups()["groups"][0]
    draft = FaqDraft("额度", "你们会唱歌吗？", ("会不会唱歌",), "我是客服机器人，不会唱歌哦。")

    result = console.inbox.create_faq("trainer9", group["ids"], "", draft)

    assert result["faq"]["id"] == "limit-003" and result["closed"] == 1
    with pytest.raises(InvalidTrainingData):  # closed already
        console.inbox.dismiss("trainer9", group["ids"])


def test_invalid_attach_keeps_the_questions_open(console: Trainer, accounts: None) -> None:
    console.inbox.record("a1", "逾期了会上征信吗", "clarify")  # a wording of overdue-001 already
    group = console.inbox.groups()["groups"][0]

    with pytest.raises(InvalidTrainingData):
        console.inbox.attach("trainer9", group["ids"], "limit-001")

    assert console.inbox.groups()["total"] == 1


def test_groups_without_a_model_fall_back_to_the_wording(console: Trainer, monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.exceptions import KnowledgeBaseUnavailable

    def unavailable(texts: object) -> object:
        raise KnowledgeBaseUnavailable()

    monkeypatch.setattr(console.knowledge, "encode", unavailable)
    console.inbox.record("a1", "借款到账多久？", "no_answer")
    console.inbox.record("a2", "借款到账多久", "no_answer")

    inbox = console.inbox.groups()

    assert inbox["grouping"] == "text" and [group["count"] for group in inbox["groups"]] == [2]


def test_reading_the_inbox_again_embeds_only_new_questions(console: Trainer, monkeypatch: pytest.MonkeyPatch) -> None:
    console.inbox.record("a1", "借款到账多久", "no_answer")
    console.inbox.groups()
    embedder = console.knowledge._embedder
    assert embedder is not None
    embedded: list[list[str]] = []
    real_encode = type(embedder).encode

    def counting(self: object, texts: list[str], **options: object) -> object:
        embedded.append(list(texts))
        return real_encode(self, texts, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(type(embedder), "encode", counting)
    console.inbox.record("a2", "到账要多久", "no_answer")

    assert [group["count"] for group in console.inbox.groups()["groups"]] == [2]
    assert embedded == [["到账要多久"]]

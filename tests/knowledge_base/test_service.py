"""The KnowledgeBase facade: open, decide, reload when the disk changes, rebuild while answering."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from knowledge_base import service
from knowledge_base.decision import DecisionKind, Thresholds
from knowledge_base.embedder import Embedder
from knowledge_base.exceptions import DataError, IndexUnavailableError
from knowledge_base.index import FaqIndex, IndexStore
from knowledge_base.service import KnowledgeBase
from knowledge_base.settings import Settings

REBUILD_PAUSE_SECONDS = 0.2  # stretches each rebuild so that many questions are asked while it runs


def add_faq(settings: Settings, faq_id: str, question: str) -> None:
    path = settings.data_dir / "extra.yml"
    existing = path.read_text(encoding="utf-8") if path.exists() else "category: 其他\nfaqs:\n"
    entry = (
        f"  - id: {faq_id}\n    question: {question}\n    paraphrases:\n      - {question}呀\n"
        f"    answer: {question}的答案。\n    updated: 2026-11-29\n"
    )
    path.write_text(existing + entry, encoding="utf-8")


def test_open_without_index_builds_one(settings: Settings) -> None:
    knowledge_base = KnowledgeBase.open(settings)

    assert IndexStore(settings.index_dir).current_version() == knowledge_base.manifest.version
    assert knowledge_base.is_stale() == []


def test_open_without_index_and_no_build_is_unavailable(settings: Settings) -> None:
    with pytest.raises(IndexUnavailableError):
        KnowledgeBase.open(settings, build_if_missing=False)


def test_decide_known_wording_answers_with_the_faq(settings: Settings) -> None:
    decision = KnowledgeBase.open(settings).decide("提额有什么办法")

    assert decision.kind is DecisionKind.ANSWER
    assert decision.faq is not None and decision.faq.id == "limit-001"
    assert decision.candidates[0].faq_id == "limit-001"


def test_decide_unrelated_question_has_no_answer(settings: Settings) -> None:
    decision = KnowledgeBase.open(settings).decide("我想订机票")

    assert decision.kind is DecisionKind.NO_ANSWER
    assert decision.faq is None


def test_decide_blank_question_has_no_answer(settings: Settings) -> None:
    assert KnowledgeBase.open(settings).decide("   ").kind is DecisionKind.NO_ANSWER


def test_is_stale_after_data_change_names_the_data(settings: Settings) -> None:
    knowledge_base = KnowledgeBase.open(settings)
    add_faq(settings, "extra-001", "借款到账多久")

    assert knowledge_base.is_stale() == ["the FAQ data changed"]


def test_reload_if_stale_picks_up_an_index_built_elsewhere(settings: Settings) -> None:
    reader = KnowledgeBase.open(settings)
    add_faq(settings, "extra-001", "借款到账多久")
    KnowledgeBase.open(settings).rebuild()  # another process

    assert reader.faq("extra-001") is None
    assert reader.reload_if_stale() is True
    assert reader.faq("extra-001") is not None
    assert reader.reload_if_stale() is False


def test_reload_if_stale_picks_up_new_calibration(settings: Settings) -> None:
    reader = KnowledgeBase.open(settings)
    store = IndexStore(settings.index_dir)
    manifest = store.read_manifest()
    assert manifest is not None
    calibrated = Thresholds(answer=0.99, margin=0.0, clarify=0.4)
    time.sleep(0.01)  # a distinct modification time on coarse-grained file systems

    store.write_manifest(dataclasses.replace(manifest, thresholds=calibrated, calibration={"questions": 4}))

    assert reader.reload_if_stale() is True
    assert reader.thresholds == calibrated


def test_rebuild_keeps_the_calibration_for_the_same_model(settings: Settings) -> None:
    knowledge_base = KnowledgeBase.open(settings)
    store = IndexStore(settings.index_dir)
    manifest = store.read_manifest()
    assert manifest is not None
    calibrated = Thresholds(answer=0.97, margin=0.01, clarify=0.4)
    store.write_manifest(dataclasses.replace(manifest, thresholds=calibrated, calibration={"questions": 4}))
    add_faq(settings, "extra-001", "借款到账多久")

    rebuilt = knowledge_base.rebuild()

    assert rebuilt.thresholds == calibrated
    assert rebuilt.calibration == {"questions": 4}


def test_rebuild_invalid_data_keeps_answering_from_the_loaded_index(settings: Settings) -> None:
    knowledge_base = KnowledgeBase.open(settings)
    version = knowledge_base.manifest.version
    (settings.data_dir / "broken.yml").write_text("category: 坏\nfaqs: []\n", encoding="utf-8")

    knowledge_base.rebuild_in_background().join(timeout=60)

    assert isinstance(knowledge_base.last_rebuild_error, DataError)
    assert knowledge_base.manifest.version == version
    assert knowledge_base.decide("提额有什么办法").kind is DecisionKind.ANSWER


def test_rebuild_in_background_questions_asked_meanwhile_are_all_answered(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    knowledge_base = KnowledgeBase.open(settings)
    first_version = knowledge_base.manifest.version
    rebuilding = threading.Event()
    real_build_index = service.build_index

    def slow_build_index(settings: Settings, embedder: Embedder, *, progress: bool = False) -> FaqIndex:
        rebuilding.set()
        time.sleep(REBUILD_PAUSE_SECONDS)
        try:
            return real_build_index(settings, embedder, progress=progress)
        finally:
            rebuilding.clear()

    monkeypatch.setattr(service, "build_index", slow_build_index)
    failures: list[BaseException] = []
    wrong: list[str] = []
    asked_during_rebuild = 0
    stop = threading.Event()

    def ask_continuously() -> None:
        nonlocal asked_during_rebuild
        while not stop.is_set():
            during = rebuilding.is_set()
            try:
                decision = knowledge_base.decide("提额有什么办法")
                if decision.faq is None or decision.faq.id != "limit-001":
                    wrong.append(decision.kind.value)
            except BaseException as error:  # any failure at all is what this test looks for
                failures.append(error)
            asked_during_rebuild += int(during)

    askers = [threading.Thread(target=ask_continuously) for _ in range(2)]
    for asker in askers:
        asker.start()
    try:
        for number in range(4):
            add_faq(settings, f"extra-{number:03d}", f"第{number}个新问题")
            rebuild = knowledge_base.rebuild_in_background()
            rebuild.join(timeout=60)
            assert knowledge_base.last_rebuild_error is None
    finally:
        stop.set()
        for asker in askers:
            asker.join(timeout=10)

    assert failures == []
    assert wrong == []
    assert asked_during_rebuild > 10
    assert knowledge_base.manifest.version != first_version
    assert knowledge_base.faq("extra-003") is not None


def test_query_timer_gets_embed_then_search_for_each_question(settings: Settings) -> None:
    knowledge_base = KnowledgeBase.open(settings)
    timings: list[tuple[str, float]] = []
    service.set_query_timer(lambda stage, seconds: timings.append((stage, seconds)))
    try:
        knowledge_base.decide("提额有什么办法")
        knowledge_base.search("我想订机票", 3)
    finally:
        service.set_query_timer(None)
    knowledge_base.decide("提额有什么办法")

    assert [stage for stage, _ in timings] == ["embed", "search", "embed", "search"]
    assert all(seconds >= 0 for _, seconds in timings)


def test_open_caps_faiss_threads_at_the_model_threads(settings: Settings) -> None:
    import faiss

    faiss.omp_set_num_threads(2)

    KnowledgeBase.open(settings.with_changes(torch_threads=1))

    assert faiss.omp_get_max_threads() == 1

"""Customers keep getting answers while a trainer's save rebuilds the index.

Two readers ask known questions without pause while the console rebuilds: the hub's own knowledge base ("Try
it") and a second KnowledgeBase standing in for the action server's, which calls ``reload_if_stale`` before
every question as actions/faq.py does. The rebuild is stretched so that dozens of questions fall inside it and
the swap happens mid-stream. No question may go unanswered, and both readers end on the new index.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from hub.services import trainer_kb
from hub.services.trainer import Trainer
from knowledge_base.service import KnowledgeBase
from knowledge_base.settings import Settings as KbSettings

KNOWN = {"提额有什么办法": "limit-001", "最多能有多少额度": "limit-002", "逾期了会上征信吗": "overdue-001"}
BUILD_PAUSE_SECONDS = 0.5  # before and after embedding: the rebuild takes over a second instead of milliseconds
REBUILD_TIMEOUT_SECONDS = 60


def ask_until(stop: threading.Event, ask: Callable[[str], tuple[str, str | None, str]], seen: list[Any]) -> None:
    while not stop.is_set():
        for question, faq_id in KNOWN.items():
            decision, answered, version = ask(question)
            seen.append((question, faq_id, decision, answered, version))


def test_questions_asked_during_a_rebuild_are_all_answered(
    console: Trainer, kb_settings: KbSettings, accounts: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub_kb = console.knowledge.knowledge_base()  # builds the first index
    action_kb = KnowledgeBase.open(kb_settings, build_if_missing=False)
    before = hub_kb.manifest.version
    real_build = trainer_kb.build_index

    def slow_build(*args: Any, **kwargs: Any) -> Any:
        time.sleep(BUILD_PAUSE_SECONDS)
        index = real_build(*args, **kwargs)
        time.sleep(BUILD_PAUSE_SECONDS)
        return index

    monkeypatch.setattr(trainer_kb, "build_index", slow_build)

    def ask_hub(question: str) -> tuple[str, str | None, str]:
        result = console.knowledge.try_it(question)
        return result["decision"], result["answer_faq_id"], result["index_version"]

    def ask_action_server(question: str) -> tuple[str, str | None, str]:
        action_kb.reload_if_stale()
        decision = action_kb.decide(question)
        return decision.kind.value, decision.faq.id if decision.faq else None, action_kb.manifest.version

    stop = threading.Event()
    seen: dict[str, list[Any]] = {"hub": [], "action server": []}
    readers = [
        threading.Thread(target=ask_until, args=(stop, ask_hub, seen["hub"])),
        threading.Thread(target=ask_until, args=(stop, ask_action_server, seen["action server"])),
    ]
    for reader in readers:
        reader.start()
    try:
        time.sleep(0.2)
        saved = console.faqs.add_paraphrases("trainer9", "limit-002", ["借款到账多久"])
        assert saved["rebuild"]["state"] == "running"
        assert console.knowledge.wait_idle(REBUILD_TIMEOUT_SECONDS)
        time.sleep(0.3)
    finally:
        stop.set()
        for reader in readers:
            reader.join()

    after = console.knowledge.status()
    assert after.state == "done" and after.version != before
    for name, answers in seen.items():
        wrong = [answer for answer in answers if answer[2] != "answer" or answer[3] != answer[1]]
        versions = {answer[4] for answer in answers}
        assert wrong == [], f"{name}: {wrong[:5]}"
        assert len(answers) >= 30, f"{name} asked only {len(answers)} questions"
        assert versions == {before, after.version}, f"{name} saw {versions}"  # the swap happened mid-stream
    assert action_kb.decide("借款到账多久").faq.id == "limit-002"  # type: ignore[union-attr]

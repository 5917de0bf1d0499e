"""The labelled traffic through the running stack (Rasa's REST channel + the action server), turn by turn.

Each case is one conversation with its own sender id and demo customer. After every turn the tracker tells
what Rasa did and the handoff recorder tells whether the action server handed off, and why
(:func:`benchmarks.outcomes.classify`). Once a conversation is handed off a person owns it: its remaining
turns are not sent and count as handed off with the same reason.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from benchmarks.outcomes import classify, is_handoff
from benchmarks.scoring import TurnResult
from benchmarks.stack import Stack
from benchmarks.traffic import Case
from knowledge_base.loader import load_catalog
from knowledge_base.settings import get_settings

# Rasa answers a turn in well under a second when idle; a minute means it is stuck, not slow.
TURN_TIMEOUT_SECONDS = 60.0
ERROR = "error"
# Not scored: the first messages pay for lazy loading (TensorFlow graphs, the e5 model in the action server).
WARM_UP_MESSAGES = ("你好", "提前还款收不收手续费", "帮我查一下额度", "我想借五千", "转人工")


def faq_by_answer() -> dict[str, str]:
    """FAQ id by answer text, for every FAQ in the knowledge base's data folder."""
    return {faq.answer.strip(): faq.id for faq in load_catalog(get_settings().data_dir)}


def warm_up(stack: Stack) -> None:
    """Sends :data:`WARM_UP_MESSAGES` through Rasa once, so that no measured turn pays for loading."""
    with httpx.Client(base_url=stack.rasa_url, timeout=TURN_TIMEOUT_SECONDS) as client:
        for number, text in enumerate(WARM_UP_MESSAGES):
            body = {"sender": f"warm-up-{number}", "message": text, "metadata": {"customer_id": "cust-good"}}
            client.post("/webhooks/rest/webhook", json=body).raise_for_status()


@dataclass(frozen=True)
class AccuracyRun:
    """Every scored turn, and how the run went."""

    results: list[TurnResult]
    turns_sent: int
    errors: int
    seconds: float


def run_accuracy(
    stack: Stack, cases: Sequence[Case], *, progress: Callable[[int, int], None] | None = None
) -> AccuracyRun:
    """Sends every case's turns in order, one conversation at a time, and scores the turns with an ``expect``."""
    answers = faq_by_answer()
    nonce = secrets.token_hex(4)
    results: list[TurnResult] = []
    sent = errors = 0
    started = time.perf_counter()
    with httpx.Client(base_url=stack.rasa_url, timeout=TURN_TIMEOUT_SECONDS) as client:
        for number, case in enumerate(cases, start=1):
            sender = f"bench-{nonce}-{case.case_id}"
            handed_off: str | None = None
            for turn in case.turns:
                if handed_off is not None:
                    actual, latency_ms = handed_off, 0.0
                else:
                    actual, latency_ms = _send(client, stack, sender, case.customer, turn.text, answers)
                    sent += 1
                    errors += actual == ERROR
                    if is_handoff(actual):
                        handed_off = actual
                if turn.expect:
                    results.append(
                        TurnResult(case.case_id, case.category, turn.text, turn.expect, actual, round(latency_ms, 2))
                    )
            if progress is not None:
                progress(number, len(cases))
    return AccuracyRun(results, sent, errors, time.perf_counter() - started)


def _send(
    client: httpx.Client, stack: Stack, sender: str, customer: str, text: str, answers: dict[str, str]
) -> tuple[str, float]:
    before = len(stack.handoff_reasons(sender))
    started = time.perf_counter()
    try:
        response = client.post(
            "/webhooks/rest/webhook", json={"sender": sender, "message": text, "metadata": {"customer_id": customer}}
        )
        response.raise_for_status()
        latency_ms = (time.perf_counter() - started) * 1000
        tracker = client.get(f"/conversations/{sender}/tracker", params={"token": stack.rasa_token})
        tracker.raise_for_status()
    except httpx.HTTPError:
        return ERROR, (time.perf_counter() - started) * 1000
    reasons = stack.handoff_reasons(sender)[before:]
    return classify(tracker.json().get("events") or [], reasons, answers), latency_ms

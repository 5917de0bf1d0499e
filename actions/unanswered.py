"""Telling the hub about questions the bot did not answer, for the trainers' inbox (best effort).

``action_answer_faq`` and ``action_default_fallback`` (actions/faq.py) call :func:`report_unanswered` when the
knowledge base clarified or had no answer. It posts ``{conversation_id, text, outcome, candidates}`` to
``{KEFU_HUB_URL}/api/unanswered`` (with the hub's service token) with a short timeout and swallows every error:
a customer's reply never fails because of it, and waits at most ``REPORT_TIMEOUT_SECONDS``. The hub masks
personal data before storing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import httpx
from rasa_sdk import Tracker

from actions.handoff import hub_headers, hub_url

logger = logging.getLogger(__name__)

# The hub stores a row in milliseconds; a hub that needs longer is overloaded or down, and the customer waits.
REPORT_TIMEOUT_SECONDS = 1.0


async def report_unanswered(tracker: Tracker, outcome: str, candidates: Sequence[dict[str, Any]] = ()) -> bool:
    """Posts the customer's latest message with ``outcome`` (clarify | no_answer | fallback); never raises.

    Returns:
        Whether the hub took it (button payloads and empty messages are not sent).
    """
    text = str(tracker.latest_message.get("text") or "").strip()
    if not text or text.startswith("/"):
        return False
    body = {"conversation_id": tracker.sender_id, "text": text, "outcome": outcome, "candidates": list(candidates)}
    try:
        async with httpx.AsyncClient(timeout=REPORT_TIMEOUT_SECONDS) as client:
            response = await client.post(f"{hub_url()}/api/unanswered", json=body, headers=hub_headers())
        response.raise_for_status()
        return True
    except Exception as error:  # best effort: the inbox misses one question, the customer misses nothing
        logger.info("could not report an unanswered question to the hub: %s", error)
        return False

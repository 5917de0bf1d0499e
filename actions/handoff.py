"""``action_handoff``: hand the conversation to a person through the hub, with everything they need.

The action posts a context packet to ``{KEFU_HUB_URL}/api/handoffs`` (with the hub's service token,
``KEFU_HUB_SERVICE_TOKEN``, as ``Authorization: Bearer``): the conversation id (Rasa's
sender id, which is the hub's conversation id), why (slot ``handoff_reason``), the transcript from the
tracker, the last intent and its confidence, the slots, the knowledge-base candidates, the verification
level and the customer's flags, and the queue and skill to route to. The hub answers whether the customer
is queued, already with an agent, or cannot be served now (after hours / nobody online: the hub offers a
leave-a-message form). The hub pauses Rasa's tracker itself once the customer is queued, and resumes it
when the agent resolves.

If the hub cannot be reached the customer gets an apology (``utter_handoff_failed``), never a stack trace.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import httpx
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.settings import HUB_SERVICE_TOKEN_VARIABLE, hub_service_token

logger = logging.getLogger(__name__)

HANDOFF_REASON_SLOT = "handoff_reason"
REASONS = (
    "explicit_request",
    "fallback",
    "kb_no_answer",
    "complaint",
    "fraud",
    "backend_failure",
    "identity_locked",
    "sign_language",
)
# Reasons other actions may set that mean the same as one of ours.
REASON_ALIASES = {"kb_unavailable": "backend_failure"}
REASON_BY_INTENT = {
    "request_human": "explicit_request",
    "request_sign_language": "sign_language",
    "complain": "complaint",
    "report_fraud_or_loss": "fraud",
    "nlu_fallback": "fallback",
}
# Which agent skill an intent's business area needs (queue ``human``).
SKILL_BY_INTENT = {
    "apply_loan": "loan",
    "check_credit_limit": "loan",
    "repay_loan": "loan",
    "loan_schedule": "loan",
    "early_repayment": "loan",
    "check_balance": "account",
    "transactions": "account",
    "bind_card": "account",
    "verify_identity": "account",
    "report_fraud_or_loss": "account",
    "complain": "complaint",
}
DEFAULT_SKILL = "loan"  # 微粒贷 questions are most of the traffic
PACKET_SLOTS = ("verified", "customer_id", "prefers_sign_language", "kb_candidates", "faq_misses", "pending_request")

# The last 50 turns are what an agent reads before greeting; older ones are in the hub's own transcript.
TRANSCRIPT_LIMIT = 50
# The hub answers from its own database in milliseconds; 5 s means it is down, and the customer is waiting.
HUB_TIMEOUT_SECONDS = 5.0
DEFAULT_HUB_URL = "http://127.0.0.1:8000"


class HubUnavailable(Exception):
    """The hub could not be reached or did not answer with a handoff outcome."""


def hub_url() -> str:
    """``KEFU_HUB_URL`` (read per call, so the action server picks up the environment it runs in)."""
    return (os.environ.get("KEFU_HUB_URL") or DEFAULT_HUB_URL).rstrip("/")


def hub_headers() -> dict[str, str]:
    """The ``Authorization`` header the hub's service endpoints check (none when the token is unset)."""
    token = hub_service_token()
    return {"Authorization": f"Bearer {token}"} if token else {}


def handoff_reason(tracker: Tracker) -> str:
    """The slot ``handoff_reason`` if it holds a known reason, else one derived from the last intent."""
    value = tracker.get_slot(HANDOFF_REASON_SLOT)
    if isinstance(value, str):
        value = REASON_ALIASES.get(value, value)
        if value in REASONS:
            return value
        logger.warning("unknown handoff_reason %r; deriving it from the intent", value)
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    return REASON_BY_INTENT.get(str(intent), "explicit_request")


def route(reason: str, tracker: Tracker) -> tuple[str, str]:
    """Queue and skill: sign language → interpreters; complaints → complaint desk; else by business area."""
    if reason == "sign_language":
        return "sign_language", "interpreter"
    if reason == "complaint":
        return "human", "complaint"
    if reason in ("fraud", "identity_locked"):
        return "human", "account"
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            name = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if isinstance(name, str) and name in SKILL_BY_INTENT:
                return "human", SKILL_BY_INTENT[name]
    return "human", DEFAULT_SKILL


def transcript(tracker: Tracker, limit: int = TRANSCRIPT_LIMIT) -> list[dict[str, Any]]:
    """The conversation's user and bot turns from the tracker, oldest first, at most ``limit``."""
    turns: list[dict[str, Any]] = []
    for event in tracker.events:
        kind = event.get("event")
        if kind == "user":
            intent = (event.get("parse_data") or {}).get("intent") or {}
            turns.append(
                {
                    "sender": "customer",
                    "text": event.get("text"),
                    "intent": intent.get("name"),
                    "confidence": intent.get("confidence"),
                    "timestamp": event.get("timestamp"),
                }
            )
        elif kind == "bot" and event.get("text"):
            turns.append({"sender": "bot", "text": event.get("text"), "timestamp": event.get("timestamp")})
    return turns[-limit:]


def context_packet(tracker: Tracker) -> dict[str, Any]:
    """Everything the agent sees before greeting the customer."""
    reason = handoff_reason(tracker)
    queue, skill = route(reason, tracker)
    intent = tracker.latest_message.get("intent") or {}
    slots = {name: tracker.get_slot(name) for name in PACKET_SLOTS}
    kb_candidates = tracker.get_slot("kb_candidates")
    return {
        "conversation_id": tracker.sender_id,
        "reason": reason,
        "queue": queue,
        "skill": skill,
        "transcript": transcript(tracker),
        "last_intent": {"name": intent.get("name"), "confidence": intent.get("confidence")},
        "last_message": tracker.latest_message.get("text"),
        "slots": {**tracker.current_slot_values(), **slots},
        "kb_candidates": kb_candidates if isinstance(kb_candidates, list) else [],
        "verified": tracker.get_slot("verified"),
        "customer": {
            "customer_id": tracker.get_slot("customer_id"),
            "prefers_sign_language": tracker.get_slot("prefers_sign_language"),
        },
    }


async def post_handoff(packet: Mapping[str, Any]) -> dict[str, Any]:
    """POST the packet to the hub; the hub's outcome, or HubUnavailable."""
    try:
        async with httpx.AsyncClient(timeout=HUB_TIMEOUT_SECONDS) as client:
            response = await client.post(f"{hub_url()}/api/handoffs", json=dict(packet), headers=hub_headers())
        if response.status_code == httpx.codes.UNAUTHORIZED:
            raise HubUnavailable(f"the hub refused the service token: check {HUB_SERVICE_TOKEN_VARIABLE}")
        response.raise_for_status()
        outcome = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise HubUnavailable(str(exc)) from exc
    if not isinstance(outcome, dict) or outcome.get("status") not in ("queued", "agent", "unavailable"):
        raise HubUnavailable(f"unexpected answer {outcome!r}")
    return outcome


def say_outcome(dispatcher: CollectingDispatcher, outcome: Mapping[str, Any]) -> None:
    """The response that tells the customer what happens next."""
    sign_language = outcome.get("queue") == "sign_language"
    if outcome["status"] == "queued":
        response = "utter_handoff_queued_sign_language" if sign_language else "utter_handoff_queued"
        dispatcher.utter_message(
            response=response, ahead=outcome.get("ahead") or 0, wait_minutes=outcome.get("wait_minutes") or 1
        )
    elif outcome["status"] == "agent":
        dispatcher.utter_message(response="utter_handoff_connected", agent_name=outcome.get("agent_name") or "")
    elif outcome.get("reason") == "after_hours":
        response = "utter_sign_language_after_hours" if sign_language else "utter_handoff_after_hours"
        dispatcher.utter_message(response=response)
    else:
        dispatcher.utter_message(response="utter_handoff_unavailable")


class ActionHandoff(Action):
    """Hand the conversation to a person (or offer a callback) through the hub."""

    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        packet = context_packet(tracker)
        try:
            outcome = await post_handoff(packet)
        except HubUnavailable as exc:
            logger.warning("handoff of %s failed: the hub is unavailable (%s)", tracker.sender_id, exc)
            dispatcher.utter_message(response="utter_handoff_failed")
            return [SlotSet(HANDOFF_REASON_SLOT, None)]
        logger.info("handoff of %s (%s): %s", tracker.sender_id, packet["reason"], outcome.get("status"))
        say_outcome(dispatcher, outcome)
        events: list[EventType] = [SlotSet(HANDOFF_REASON_SLOT, None)]
        if outcome["status"] in ("queued", "agent") and tracker.active_loop.get("name"):
            # A person takes over: a half-filled form must not resume when the bot comes back.
            events += [ActiveLoop(None), SlotSet("requested_slot", None)]
        return events

"""Fixtures for the action tests: the stub bank on a temporary SQLite file with a fake clock, the domain, and
saved trackers to run actions on.

`run` checks every reply an action sends: the response exists in the domain and the action passed every
variable its text uses, so a test can never pass on a message the customer would see with ``{amount}`` in it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import backends
from actions.backends.clock import BANK_TZ, FakeClock
from actions.backends.stub import StubBankBackend

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DOMAIN_DIR = PROJECT_ROOT / "bot" / "domain"
START = datetime(2025, 3, 15, 10, 0, tzinfo=BANK_TZ)  # the demo loans were seeded 40 and 45 days earlier
CUSTOMERS = ("cust-good", "cust-new", "cust-overdue", "cust-frozen", "cust-deaf")
_PLACEHOLDER = re.compile(r"{([^{}\n]+)}")
_timestamps = itertools.count(1_700_000_000)


def load_domain() -> dict[str, Any]:
    """All domain files merged, as the action server receives the domain (a plain dict)."""
    merged: dict[str, Any] = {"intents": [], "actions": [], "slots": {}, "forms": {}, "responses": {}}
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        part = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key in ("intents", "actions"):
            merged[key].extend(part.get(key) or [])
        for key in ("slots", "forms", "responses"):
            merged[key].update(part.get(key) or {})
    return merged


DOMAIN = load_domain()


def placeholders(response: str) -> set[str]:
    """The variables a domain response uses, in its text and buttons."""
    found: set[str] = set()
    for variation in DOMAIN["responses"][response]:
        texts = [variation.get("text") or ""] + [
            f"{button.get('title', '')} {button.get('payload', '')}" for button in variation.get("buttons") or []
        ]
        for text in texts:
            found.update(name for name in _PLACEHOLDER.findall(text) if not name.startswith('"'))
    return found


@dataclass
class Result:
    """What an action did: the events it returned and the replies it sent."""

    events: list[dict[str, Any]]
    messages: list[dict[str, Any]]

    @property
    def responses(self) -> list[str]:
        """The response names, in order."""
        return [str(message["response"]) for message in self.messages]

    @property
    def slots(self) -> dict[str, Any]:
        """The slots the events set (last value wins)."""
        return {event["name"]: event["value"] for event in self.events if event.get("event") == "slot"}

    def variables(self, response: str) -> dict[str, Any]:
        """The variables of the first reply with this response name."""
        message = next(message for message in self.messages if message["response"] == response)
        reserved = {"text", "buttons", "elements", "custom", "template", "response", "image", "attachment"}
        return {key: value for key, value in message.items() if key not in reserved}


async def run(action: Action, tracker: Tracker, domain: Mapping[str, Any] | None = None) -> Result:
    """Run an action on a tracker; check that every reply is a domain response with all its variables."""
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, dict(domain or DOMAIN))
    for message in dispatcher.messages:
        name = message.get("response")
        assert name, f"{action.name()} sent a reply that is not a domain response: {message}"
        assert name in DOMAIN["responses"], f"{action.name()} sent {name}, which is not in the domain"
        missing = placeholders(name) - set(message)
        assert not missing, f"{action.name()} sent {name} without {sorted(missing)}"
    return Result(events=list(events), messages=dispatcher.messages)


def user_event(text: str, intent: str, entities: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """A user message as it sits in a tracker's events."""
    return {
        "event": "user",
        "timestamp": next(_timestamps),
        "text": text,
        "parse_data": {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": list(entities)},
    }


def slot_event(name: str, value: Any) -> dict[str, Any]:
    """A SlotSet as it sits in a tracker's events."""
    return {"event": "slot", "timestamp": next(_timestamps), "name": name, "value": value}


def loop_event(name: str | None) -> dict[str, Any]:
    """An ActiveLoop event (a form activating, or None for deactivating)."""
    return {"event": "active_loop", "timestamp": next(_timestamps), "name": name}


def action_event(name: str) -> dict[str, Any]:
    """An ActionExecuted event."""
    return {"event": "action", "timestamp": next(_timestamps), "name": name}


@dataclass
class Conversation:
    """A saved conversation to build trackers from: who, what was said, the slots so far."""

    customer: str | None = "cust-good"
    verified: bool | None = True
    sender_id: str = "test-sender"
    events: list[dict[str, Any]] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)

    def say(self, text: str, intent: str, **entities: Any) -> Conversation:
        """The customer says something (entities by name, values already normalised)."""
        self.events += [action_event("action_listen")]
        self.events.append(user_event(text, intent, [{"entity": k, "value": v} for k, v in entities.items()]))
        return self

    def set(self, **slots: Any) -> Conversation:
        """Slots set by earlier turns."""
        self.slots.update(slots)
        self.events += [slot_event(name, value) for name, value in slots.items()]
        return self

    def hub_verified(self, at: datetime = START, method: str = "video") -> Conversation:
        """The hub's events after an interpreter checked the customer on video and resolved the stay.

        As ``POST /conversations/{id}/tracker/events`` leaves them: ``verified`` true and ``verification_method``
        set, then ``resume``, stamped by Rasa at `at`.
        """
        stamp = at.timestamp()
        self.verified = True
        self.slots["verification_method"] = method
        self.events += [
            {"event": "slot", "timestamp": stamp, "name": "verified", "value": True},
            {"event": "slot", "timestamp": stamp, "name": "verification_method", "value": method},
            {"event": "resume", "timestamp": stamp},
        ]
        return self

    def start_form(self, form: str) -> Conversation:
        """The form activates (its activation time keys the idempotency of its write)."""
        self.events += [action_event(form), loop_event(form)]
        return self

    def tracker(self, *, form: str | None = None, requested: str | None = None, **candidates: Any) -> Tracker:
        """The tracker an action gets now.

        Args:
            form: The active form, if any.
            requested: The slot the form asked for last (None at activation).
            candidates: Slots just extracted from the last message, appended at the end of the events the way
                the form hands them to its validation action.
        """
        slots = {"customer_id": self.customer, "verified": self.verified, **self.slots, "requested_slot": requested}
        slots.update(candidates)
        events = [*self.events]
        if form is not None:
            events += [slot_event("requested_slot", requested), action_event(form)]
        events += [slot_event(name, value) for name, value in candidates.items()]
        latest = next((event for event in reversed(events) if event["event"] == "user"), None)
        return Tracker(
            sender_id=self.sender_id,
            slots=slots,
            latest_message=(latest or {}).get("parse_data", {}),
            events=events,
            paused=False,
            followup_action=None,
            active_loop={"name": form} if form else {},
            latest_action_name=events[-1].get("name") if events else None,
        )


@pytest.fixture
def clock() -> FakeClock:
    """A clock standing at `START` until a test moves it."""
    return FakeClock(START)


@pytest.fixture
async def bank(tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[StubBankBackend]:
    """The stub bank with its demo customers on a temporary SQLite file; what `get_backend()` returns."""
    stub = StubBankBackend(f"sqlite:///{tmp_path / 'bank.db'}", clock)
    monkeypatch.setattr(backends, "get_backend", lambda: stub)
    yield stub
    await stub.aclose()


@pytest.fixture
async def verified_bank(bank: StubBankBackend) -> StubBankBackend:
    """The stub with every demo customer freshly verified, as after a right SMS code."""
    for customer in CUSTOMERS:
        await bank.debug_mark_verified(customer)
    return bank


class FailingBank:
    """A backend whose every method raises `error`: the bank is down, or our own code broke."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        async def fail(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            raise self.error

        return fail


@pytest.fixture
def failing_bank(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Install a `FailingBank` raising the given error as the backend; returns it."""

    def install(error: BaseException) -> FailingBank:
        failing = FailingBank(error)
        monkeypatch.setattr(backends, "get_backend", lambda: failing)
        return failing

    return install

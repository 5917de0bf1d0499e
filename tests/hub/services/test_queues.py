"""Queue order, positions and wait estimates (fake time, no sleeping)."""

from __future__ import annotations

from hub.services import Hub
from hub.services.clock import FakeClock
from hub.services.events import Audience
from hub.services.queues import DEFAULT_SECONDS_PER_PLACE, WAIT_SAMPLE_WINDOW, wait_minutes
from tests.hub.conftest import add_agent, queue_customer


def test_queue_orders_longest_waiting_first(hub: Hub, clock: FakeClock) -> None:
    add_agent(hub, "a1", presence="away")
    first = queue_customer(hub)
    clock.advance(10)
    second = queue_customer(hub)
    clock.advance(10)
    third = queue_customer(hub)
    positions = hub.queues.positions("human")
    assert [p.conversation.id for p in positions] == [first, second, third]
    assert [p.ahead for p in positions] == [0, 1, 2]


def test_wait_estimate_uses_the_default_without_recent_waits(hub: Hub) -> None:
    add_agent(hub, "a1", presence="away")
    queue_customer(hub)
    queue_customer(hub)
    positions = hub.queues.positions("human")
    assert [p.wait_seconds for p in positions] == [DEFAULT_SECONDS_PER_PLACE, 2 * DEFAULT_SECONDS_PER_PLACE]
    assert positions[1].frame()["text"] == "前面还有 1 位，预计等待约 6 分钟"


def test_wait_estimate_learns_seconds_per_place_from_recent_waits(hub: Hub, clock: FakeClock) -> None:
    add_agent(hub, "a1", presence="away", capacity=10)
    first = queue_customer(hub)  # joins at place 1
    second = queue_customer(hub)  # joins at place 2
    clock.advance(60)
    hub.desk.accept("a1", first)  # waited 60 s for 1 place
    clock.advance(60)
    hub.desk.accept("a1", second)  # waited 120 s for 2 places
    assert hub.queues.seconds_per_place("human") == 60.0
    waiting = queue_customer(hub)
    position = hub.queues.position(waiting)
    assert position is not None and position.wait_seconds == 60.0 and position.wait_minutes == 1


def test_wait_estimate_forgets_waits_older_than_the_window(hub: Hub, clock: FakeClock) -> None:
    add_agent(hub, "a1", presence="away")
    conversation_id = queue_customer(hub)
    clock.advance(30)
    hub.desk.accept("a1", conversation_id)
    assert hub.queues.seconds_per_place("human") == 30.0
    clock.advance(WAIT_SAMPLE_WINDOW.total_seconds() + 1)
    assert hub.queues.seconds_per_place("human") == DEFAULT_SECONDS_PER_PLACE


def test_queues_are_estimated_separately(hub: Hub, clock: FakeClock) -> None:
    add_agent(hub, "a1", presence="away")
    add_agent(hub, "i1", presence="away", skills=("interpreter",))
    conversation_id = queue_customer(hub, queue="sign_language", skill="interpreter")
    clock.advance(600)
    hub.desk.accept("i1", conversation_id)
    assert hub.queues.seconds_per_place("sign_language") == 600.0
    assert hub.queues.seconds_per_place("human") == DEFAULT_SECONDS_PER_PLACE


def test_wait_minutes_round_up_and_never_show_zero() -> None:
    assert [wait_minutes(s) for s in (0, 1, 60, 61, 179)] == [1, 1, 1, 2, 3]


async def test_every_queued_customer_gets_a_new_position_when_the_queue_moves(hub: Hub, clock: FakeClock) -> None:
    add_agent(hub, "a1", presence="away")
    first, second, third = (queue_customer(hub) for _ in range(3) if clock.advance(1))
    subscriptions = {}
    for conversation_id in (second, third):
        subscription = hub.bus.subscribe(Audience.CUSTOMER)
        subscription.watch(conversation_id)
        await subscription.next_batch()
        subscriptions[conversation_id] = subscription
    hub.desk.accept("a1", first)
    for conversation_id, expected_ahead in ((second, 0), (third, 1)):
        batch = await subscriptions[conversation_id].next_batch()
        queue_frames = [f for f in batch.frames if f["type"] == "queue"]
        assert queue_frames and queue_frames[-1]["ahead"] == expected_ahead
        assert queue_frames[-1]["text"].startswith(f"前面还有 {expected_ahead} 位")


def test_snapshot_lists_waiting_customers_with_reason_labels(hub: Hub, clock: FakeClock) -> None:
    add_agent(hub, "a1", presence="away")
    conversation_id = queue_customer(hub, reason="complaint", skill="complaint")
    hub.customers.send(conversation_id, "乱扣钱，我要投诉")
    clock.advance(42)
    human = next(q for q in hub.queues.snapshot() if q["queue"] == "human")
    assert human["waiting"] == [
        {
            "conversation_id": conversation_id,
            "customer_id": None,
            "skill": "complaint",
            "reason": "complaint",
            "reason_label": "投诉",
            "waited_seconds": 42,
            "position": 1,
            "preview": "乱扣钱，我要投诉",
        }
    ]

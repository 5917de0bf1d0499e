"""The repository on SQLite and PostgreSQL: times, invariants held by the database, no nested transactions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import IntegrityError

from hub.storage import Store

NOW = datetime(2024, 5, 6, 2, 0, tzinfo=timezone.utc)


def test_times_come_back_as_aware_utc(store: Store) -> None:
    shanghai = timezone(timedelta(hours=8))
    with store.transaction() as tx:
        tx.insert_conversation("c1", None, NOW.astimezone(shanghai))
    with store.transaction() as tx:
        conversation = tx.conversation("c1")
    assert conversation is not None and conversation.created_at == NOW
    assert conversation.created_at.tzinfo is timezone.utc


def test_naive_times_are_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive datetime"), store.transaction() as tx:
        tx.insert_conversation("c1", None, datetime(2024, 5, 6, 10, 0))


def test_the_database_refuses_a_queued_conversation_without_a_queue(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert_conversation("c1", None, NOW)
    with pytest.raises(IntegrityError), store.transaction() as tx:
        tx.update_conversation("c1", NOW, status="queued")


def test_the_database_refuses_an_unknown_status(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert_conversation("c1", None, NOW)
    with pytest.raises(IntegrityError), store.transaction() as tx:
        tx.update_conversation("c1", NOW, status="limbo")


def test_a_client_message_id_is_unique_per_conversation(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert_conversation("c1", None, NOW)
        tx.insert_conversation("c2", None, NOW)
        tx.add_message("c1", sender="customer", kind="text", text="一", now=NOW, client_msg_id="m1")
        tx.add_message("c2", sender="customer", kind="text", text="一", now=NOW, client_msg_id="m1")
    with pytest.raises(IntegrityError), store.transaction() as tx:
        tx.add_message("c1", sender="customer", kind="text", text="二", now=NOW, client_msg_id="m1")
    with store.transaction() as tx:  # the failed transaction left nothing behind, not even a sequence number
        assert [m.seq for m in tx.messages_after("c1", 0, include_notes=True)] == [1]
        assert tx.conversation("c1").last_seq == 1  # type: ignore[union-attr]


def test_chinese_json_round_trips(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert_conversation("c1", None, NOW)
        tx.add_message("c1", sender="bot", kind="text", text="您好", now=NOW, data={"buttons": [{"title": "转人工"}]})
    with store.transaction() as tx:
        (message,) = tx.messages_after("c1", 0, include_notes=True)
    assert message.data == {"buttons": [{"title": "转人工"}]}


def test_nested_transactions_are_refused(store: Store) -> None:
    with store.transaction(), pytest.raises(RuntimeError, match="nested"), store.transaction():
        pass
    with store.transaction() as tx:  # and the guard is released afterwards
        assert tx.conversation("nope") is None

"""Two agents accepting the same customer at the same moment: exactly one wins (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

from hub.exceptions import HubError
from hub.services import Hub
from tests.hub.conftest import add_agent, queue_customer


def test_simultaneous_accepts_assign_the_customer_once(hub: Hub) -> None:
    agents = [f"a{i}" for i in range(4)]
    for name in agents:
        add_agent(hub, name, presence="away")
    conversation_id = queue_customer(hub)
    start = threading.Barrier(len(agents))
    winners: list[str] = []
    losers: list[str] = []

    def accept(agent_id: str) -> None:
        start.wait()
        try:
            hub.conversations.assign(conversation_id, agent_id)
            winners.append(agent_id)
        except HubError as error:
            losers.append(error.code)

    threads = [threading.Thread(target=accept, args=(name,)) for name in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1 and losers == ["invalid_transition"] * 3
    assert hub.conversations.get(conversation_id).agent_id == winners[0]
    with hub.store.transaction() as tx:
        assert tx.agent_loads() == {winners[0]: 1}

"""Where a reply's time goes: the Prometheus deltas of one phase split into non-overlapping components.

Each component is a mean in milliseconds per customer message, so they add up to the mean reply latency the
customers measured:

| component | from |
| --- | --- |
| hub | customer's latency − the hub's Rasa call (websocket, storage, event bus, the hub's own queueing) |
| Rasa queue + REST | the hub's Rasa call − Rasa's ``handle_message`` (waiting for Rasa's event loop, HTTP) |
| Rasa NLU | ``parse_message`` |
| Rasa policies | every next-action prediction of the message |
| Rasa tracker store | loading and saving the tracker (SQLite) |
| action payload | Rasa building each call's JSON body (the whole tracker and, by default, the whole domain) |
| action HTTP | the HTTP round trip − the action server's own time: sending and parsing the body, and waiting for
  Rasa's busy event loop to read the answer |
| action answer check | Rasa validating each answer against its JSON schema, then rendering its responses |
| actions (other) | the action server's time − knowledge-base embedding and search |
| KB embedding | the query embedding (e5) |
| FAISS search | the index search |
| Rasa other | ``handle_message`` − every other Rasa part here (locks, events, the rest of each action call) |
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.probes import Snapshot

COMPONENTS = (
    "hub",
    "Rasa queue + REST",
    "Rasa NLU",
    "Rasa policies",
    "Rasa tracker store",
    "Rasa other",
    "action payload",
    "action HTTP",
    "action answer check",
    "actions (other)",
    "KB embedding",
    "FAISS search",
)


PROCESSES = ("hub", "rasa", "actions")


@dataclass(frozen=True)
class Breakdown:
    """Mean milliseconds per customer message by component, and per-process figures behind them.

    ``components["hub"]`` is None when some customers gave up waiting: their messages were still answered,
    so the servers' figures cover more messages than the customers' mean latency does.
    """

    messages: float
    components: dict[str, float | None]
    p95_ms: dict[str, float | None]
    graph_nodes_ms: dict[str, float]  # mean per message of each Rasa graph node, slowest first
    actions_ms: dict[str, float]  # mean per message of each action, as the action server timed it
    action_call_ms: dict[str, float]  # the parts of Rasa's action server calls, per message
    policy_predictions_per_message: float
    cpu_ms_per_message: dict[str, float]  # CPU time of each process (process_cpu_seconds_total) per message
    cpu_cores_used: dict[str, float]  # each process's CPU time over the phase's wall time


def _per_message(seconds: float, messages: float) -> float:
    return round(seconds * 1000 / messages, 3) if messages else 0.0


def _p95(snapshot: Snapshot, histogram: str, **labels: str) -> float | None:
    value = snapshot.quantile(histogram, 0.95, **labels)
    return round(value * 1000, 2) if value is not None else None


def breakdown(
    client_mean_ms: float,
    hub: Snapshot,
    rasa: Snapshot,
    actions: Snapshot,
    *,
    seconds: float = 0.0,
    complete: bool = True,
) -> Breakdown:
    """Splits ``client_mean_ms`` with the deltas of the three processes' metrics over the same phase.

    Args:
        client_mean_ms: The customers' mean reply latency.
        hub: The hub's metrics, the difference over the phase (likewise ``rasa`` and ``actions``).
        seconds: The phase's wall time, for the CPU cores each process used.
        complete: Whether every message sent was answered in time (else the hub's share is not known).
    """
    messages = hub.value("kefu_hub_bot_reply_seconds_count") or rasa.value("kefu_rasa_message_seconds_count")
    hub_rasa = _per_message(hub.value("kefu_hub_bot_reply_seconds_sum"), messages)
    rasa_message = _per_message(rasa.value("kefu_rasa_message_seconds_sum"), messages)
    nlu = _per_message(rasa.value("kefu_rasa_nlu_seconds_sum"), messages)
    policies = _per_message(rasa.value("kefu_rasa_policy_seconds_sum"), messages)
    tracker = _per_message(rasa.total("kefu_rasa_tracker_store_seconds_sum"), messages)
    payload = _per_message(rasa.value("kefu_rasa_action_call_seconds_sum", part="payload"), messages)
    http = _per_message(rasa.value("kefu_rasa_action_call_seconds_sum", part="http"), messages)
    checks = _per_message(
        rasa.value("kefu_rasa_action_call_seconds_sum", part="validate")
        + rasa.value("kefu_rasa_action_call_seconds_sum", part="nlg"),
        messages,
    )
    action_own = _per_message(actions.total("kefu_actions_action_seconds_sum"), messages)
    embed = _per_message(actions.value("kefu_kb_query_seconds_sum", stage="embed"), messages)
    search = _per_message(actions.value("kefu_kb_query_seconds_sum", stage="search"), messages)
    components: dict[str, float | None] = {
        "hub": client_mean_ms - hub_rasa if complete else None,
        "Rasa queue + REST": hub_rasa - rasa_message,
        "Rasa NLU": nlu,
        "Rasa policies": policies,
        "Rasa tracker store": tracker,
        "Rasa other": rasa_message - nlu - policies - tracker - payload - http - checks,
        "action payload": payload,
        "action HTTP": http - action_own,
        "action answer check": checks,
        "actions (other)": action_own - embed - search,
        "KB embedding": embed,
        "FAISS search": search,
    }
    p95 = {
        "hub → Rasa call": _p95(hub, "kefu_hub_bot_reply_seconds"),
        "Rasa handle_message": _p95(rasa, "kefu_rasa_message_seconds"),
        "Rasa NLU": _p95(rasa, "kefu_rasa_nlu_seconds"),
        "Rasa policy prediction": _p95(rasa, "kefu_rasa_policy_seconds"),
        "action server call (Rasa's view)": _p95(rasa, "kefu_rasa_remote_action_seconds"),
        "action run (action server)": _p95(actions, "kefu_actions_action_seconds"),
        "KB embedding": _p95(actions, "kefu_kb_query_seconds", stage="embed"),
        "FAISS search": _p95(actions, "kefu_kb_query_seconds", stage="search"),
    }
    nodes = {
        node: _per_message(rasa.value("kefu_rasa_graph_node_seconds_sum", node=node), messages)
        for node in rasa.label_values("kefu_rasa_graph_node_seconds_sum", "node")
    }
    action_times = {
        action: _per_message(actions.value("kefu_actions_action_seconds_sum", action=action), messages)
        for action in actions.label_values("kefu_actions_action_seconds_sum", "action")
    }
    parts = ("payload", "http", "validate", "nlg")
    snapshots = {"hub": hub, "rasa": rasa, "actions": actions}
    cpu = {name: snapshots[name].value("process_cpu_seconds_total") for name in PROCESSES}
    return Breakdown(
        messages=messages,
        components={name: None if value is None else round(value, 3) for name, value in components.items()},
        p95_ms=p95,
        graph_nodes_ms=dict(sorted(nodes.items(), key=lambda item: -item[1])),
        actions_ms=dict(sorted(action_times.items(), key=lambda item: -item[1])),
        action_call_ms={
            part: _per_message(rasa.value("kefu_rasa_action_call_seconds_sum", part=part), messages) for part in parts
        },
        policy_predictions_per_message=round(rasa.value("kefu_rasa_policy_seconds_count") / messages, 2)
        if messages
        else 0.0,
        cpu_ms_per_message={name: _per_message(value, messages) for name, value in cpu.items()},
        cpu_cores_used={name: round(value / seconds, 2) if seconds else 0.0 for name, value in cpu.items()},
    )

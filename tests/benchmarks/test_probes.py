"""Prometheus snapshots, their differences, and the split of a reply's time into components."""

from __future__ import annotations

import pytest

from benchmarks.probes import Snapshot
from benchmarks.timing import COMPONENTS, breakdown

BEFORE = """# TYPE kefu_hub_bot_reply_seconds histogram
kefu_hub_bot_reply_seconds_bucket{le="0.1"} 0.0
kefu_hub_bot_reply_seconds_bucket{le="+Inf"} 0.0
kefu_hub_bot_reply_seconds_count 0.0
kefu_hub_bot_reply_seconds_sum 0.0
"""
AFTER = """# TYPE kefu_hub_bot_reply_seconds histogram
kefu_hub_bot_reply_seconds_bucket{le="0.1"} 8.0
kefu_hub_bot_reply_seconds_bucket{le="0.2"} 10.0
kefu_hub_bot_reply_seconds_bucket{le="+Inf"} 10.0
kefu_hub_bot_reply_seconds_count 10.0
kefu_hub_bot_reply_seconds_sum 1.0
"""


def test_snapshot_difference_and_quantile() -> None:
    delta = Snapshot.parse(AFTER).minus(Snapshot.parse(BEFORE))
    assert delta.value("kefu_hub_bot_reply_seconds_count") == 10.0
    assert delta.quantile("kefu_hub_bot_reply_seconds", 0.5) == pytest.approx(0.0625)  # 5 of 8 in (0, 0.1]
    assert delta.quantile("kefu_hub_bot_reply_seconds", 0.9) == pytest.approx(0.15)
    assert Snapshot().quantile("missing", 0.5) is None


def test_snapshot_totals_and_label_values() -> None:
    text = """# TYPE kefu_actions_action_seconds histogram
kefu_actions_action_seconds_sum{action="action_answer_faq"} 0.5
kefu_actions_action_seconds_sum{action="action_handoff"} 0.25
"""
    snapshot = Snapshot.parse(text)
    assert snapshot.total("kefu_actions_action_seconds_sum") == 0.75
    assert snapshot.total("kefu_actions_action_seconds_sum", action="action_handoff") == 0.25
    assert snapshot.label_values("kefu_actions_action_seconds_sum", "action") == ["action_answer_faq", "action_handoff"]


def _snapshot(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> Snapshot:
    return Snapshot(samples)


def test_breakdown_splits_the_mean_latency_into_parts_that_add_up() -> None:
    # 10 messages; the customer waited 100 ms on average, the hub's Rasa call took 80 ms of it.
    hub = _snapshot({("kefu_hub_bot_reply_seconds_count", ()): 10, ("kefu_hub_bot_reply_seconds_sum", ()): 0.8})
    rasa = _snapshot(
        {
            ("kefu_rasa_message_seconds_sum", ()): 0.7,
            ("kefu_rasa_nlu_seconds_sum", ()): 0.2,
            ("kefu_rasa_policy_seconds_sum", ()): 0.1,
            ("kefu_rasa_tracker_store_seconds_sum", (("op", "retrieve"),)): 0.05,
            ("kefu_rasa_tracker_store_seconds_sum", (("op", "save"),)): 0.05,
            ("kefu_rasa_remote_action_seconds_sum", (("action", "action_answer_faq"),)): 0.25,
            ("kefu_rasa_action_call_seconds_sum", (("part", "payload"),)): 0.02,
            ("kefu_rasa_action_call_seconds_sum", (("part", "http"),)): 0.21,
            ("kefu_rasa_action_call_seconds_sum", (("part", "validate"),)): 0.01,
            ("kefu_rasa_action_call_seconds_sum", (("part", "nlg"),)): 0.01,
            ("kefu_rasa_graph_node_seconds_sum", (("node", "run_DIETClassifier3"),)): 0.15,
        }
    )
    actions = _snapshot(
        {
            ("kefu_actions_action_seconds_sum", (("action", "action_answer_faq"),)): 0.2,
            ("kefu_kb_query_seconds_sum", (("stage", "embed"),)): 0.12,
            ("kefu_kb_query_seconds_sum", (("stage", "search"),)): 0.01,
        }
    )
    split = breakdown(100.0, hub, rasa, actions, seconds=2.0)
    parts = split.components
    assert list(parts) == list(COMPONENTS)
    assert parts["hub"] == pytest.approx(20.0)
    assert parts["Rasa queue + REST"] == pytest.approx(10.0)
    assert parts["Rasa NLU"] == pytest.approx(20.0)
    assert parts["Rasa policies"] == pytest.approx(10.0)
    assert parts["Rasa tracker store"] == pytest.approx(10.0)
    assert parts["Rasa other"] == pytest.approx(5.0)  # 70 − 20 − 10 − 10 − (2 + 21 + 2)
    assert parts["action payload"] == pytest.approx(2.0)
    assert parts["action HTTP"] == pytest.approx(1.0)  # 21 − the action server's own 20
    assert parts["action answer check"] == pytest.approx(2.0)
    assert parts["actions (other)"] == pytest.approx(7.0)
    assert parts["KB embedding"] == pytest.approx(12.0)
    assert parts["FAISS search"] == pytest.approx(1.0)
    assert sum(parts.values()) == pytest.approx(100.0)
    assert split.graph_nodes_ms == {"run_DIETClassifier3": 15.0}
    assert split.actions_ms == {"action_answer_faq": 20.0}
    assert split.action_call_ms == {"payload": 2.0, "http": 21.0, "validate": 1.0, "nlg": 1.0}


def test_breakdown_reports_cpu_per_process_and_leaves_the_hub_out_when_customers_gave_up() -> None:
    hub = _snapshot({("kefu_hub_bot_reply_seconds_count", ()): 4, ("process_cpu_seconds_total", ()): 0.2})
    rasa = _snapshot({("process_cpu_seconds_total", ()): 1.0, ("kefu_rasa_policy_seconds_count", ()): 10})
    split = breakdown(5000.0, hub, rasa, Snapshot(), seconds=2.0, complete=False)
    assert split.components["hub"] is None
    assert split.cpu_ms_per_message == {"hub": 50.0, "rasa": 250.0, "actions": 0.0}
    assert split.cpu_cores_used == {"hub": 0.1, "rasa": 0.5, "actions": 0.0}
    assert split.policy_predictions_per_message == 2.5

"""``python -m benchmarks.rasa_probe <rasa arguments>``: Rasa with timing probes and a Prometheus endpoint.

Rasa has no metrics endpoint of its own, so for the benchmark only, this wrapper times Rasa's own methods
before handing the command line to Rasa (``rasa run …`` unchanged) and serves the figures on
``127.0.0.1:$KEFU_BENCH_RASA_METRICS_PORT/metrics``:

| metric | what is timed |
| --- | --- |
| ``kefu_rasa_message_seconds`` | ``Agent.handle_message``: one customer message, lock to reply |
| ``kefu_rasa_nlu_seconds`` | ``MessageProcessor.parse_message``: the NLU pipeline |
| ``kefu_rasa_policy_seconds`` | ``MessageProcessor._predict_next_with_tracker``: one next-action prediction |
| ``kefu_rasa_remote_action_seconds{action}`` | ``RemoteAction.run``: one call of the action server |
| ``kefu_rasa_action_call_seconds{part}`` | inside it: building the payload (tracker + domain, ``payload``), the HTTP
  round trip (``http``), validating the answer against Rasa's JSON schema (``validate``), its responses (``nlg``) |
| ``kefu_rasa_tracker_store_seconds{op}`` | ``SQLTrackerStore.retrieve`` / ``.save`` (the SQLite trackers) |
| ``kefu_rasa_graph_node_seconds{node}`` | every graph node (tokenizer, featurizers, DIET, each policy …) |

Nothing here runs in production; the product's own Rasa command is in the Procfile.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import Histogram, start_http_server

PORT_VARIABLE = "KEFU_BENCH_RASA_METRICS_PORT"
# A graph node can take 50 µs (a lookup) or 100 ms (DIET under load); a message up to seconds when queued.
BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0, 30.0,
)  # fmt: skip

MESSAGE_SECONDS = Histogram("kefu_rasa_message_seconds", "One message through Agent.handle_message", buckets=BUCKETS)
NLU_SECONDS = Histogram("kefu_rasa_nlu_seconds", "NLU pipeline for one message", buckets=BUCKETS)
POLICY_SECONDS = Histogram("kefu_rasa_policy_seconds", "One next-action prediction by the policies", buckets=BUCKETS)
REMOTE_ACTION_SECONDS = Histogram(
    "kefu_rasa_remote_action_seconds", "One call of the action server, as Rasa sees it", ["action"], buckets=BUCKETS
)
TRACKER_STORE_SECONDS = Histogram(
    "kefu_rasa_tracker_store_seconds", "Loading or saving a tracker", ["op"], buckets=BUCKETS
)
ACTION_CALL_SECONDS = Histogram(
    "kefu_rasa_action_call_seconds", "Parts of one action server call", ["part"], buckets=BUCKETS
)
GRAPH_NODE_SECONDS = Histogram("kefu_rasa_graph_node_seconds", "One graph node run", ["node"], buckets=BUCKETS)


def timed_async(method: Callable[..., Awaitable[Any]], observe: Callable[[Any, float], None]) -> Callable[..., Any]:
    """``method`` (a coroutine function taking self first) calling ``observe(self, seconds)`` after each run."""

    @functools.wraps(method)
    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await method(self, *args, **kwargs)
        finally:
            observe(self, time.perf_counter() - started)

    return wrapper


def timed_sync(method: Callable[..., Any], observe: Callable[[Any, float], None]) -> Callable[..., Any]:
    """``method`` (taking self first) calling ``observe(self, seconds)`` after each run."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return method(self, *args, **kwargs)
        finally:
            observe(self, time.perf_counter() - started)

    return wrapper


def install() -> None:
    """Wraps Rasa's methods with the timers (idempotent per process: call once, before Rasa starts)."""
    from rasa.core.actions.action import RemoteAction
    from rasa.core.agent import Agent
    from rasa.core.processor import MessageProcessor
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.engine.graph import GraphNode
    from rasa.utils.endpoints import EndpointConfig

    Agent.handle_message = timed_async(  # type: ignore[method-assign]
        Agent.handle_message, lambda _, seconds: MESSAGE_SECONDS.observe(seconds)
    )
    MessageProcessor.parse_message = timed_async(  # type: ignore[method-assign]
        MessageProcessor.parse_message, lambda _, seconds: NLU_SECONDS.observe(seconds)
    )
    MessageProcessor._predict_next_with_tracker = timed_sync(  # type: ignore[method-assign]
        MessageProcessor._predict_next_with_tracker, lambda _, seconds: POLICY_SECONDS.observe(seconds)
    )
    SQLTrackerStore.retrieve = timed_async(  # type: ignore[method-assign]
        SQLTrackerStore.retrieve, lambda _, seconds: TRACKER_STORE_SECONDS.labels("retrieve").observe(seconds)
    )
    SQLTrackerStore.save = timed_async(  # type: ignore[method-assign]
        SQLTrackerStore.save, lambda _, seconds: TRACKER_STORE_SECONDS.labels("save").observe(seconds)
    )
    RemoteAction.run = timed_async(  # type: ignore[method-assign]
        RemoteAction.run, lambda action, seconds: REMOTE_ACTION_SECONDS.labels(action.name()).observe(seconds)
    )
    RemoteAction._action_call_format = timed_sync(  # type: ignore[method-assign]
        RemoteAction._action_call_format, lambda _, seconds: ACTION_CALL_SECONDS.labels("payload").observe(seconds)
    )
    RemoteAction._validate_action_result = timed_sync(  # type: ignore[method-assign]
        RemoteAction._validate_action_result,
        lambda _, seconds: ACTION_CALL_SECONDS.labels("validate").observe(seconds),
    )
    utter_responses = RemoteAction._utter_responses  # a staticmethod: no self to pass on

    async def timed_utter_responses(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await utter_responses(*args, **kwargs)
        finally:
            ACTION_CALL_SECONDS.labels("nlg").observe(time.perf_counter() - started)

    RemoteAction._utter_responses = staticmethod(timed_utter_responses)  # type: ignore[method-assign]
    EndpointConfig.request = timed_async(  # type: ignore[method-assign]
        EndpointConfig.request, lambda _, seconds: ACTION_CALL_SECONDS.labels("http").observe(seconds)
    )
    GraphNode.__call__ = timed_sync(  # type: ignore[method-assign]
        GraphNode.__call__, lambda node, seconds: GRAPH_NODE_SECONDS.labels(node._node_name).observe(seconds)
    )


def main(argv: list[str]) -> None:
    """Installs the probes, serves the metrics, then runs ``rasa`` with ``argv``."""
    port = int(os.environ[PORT_VARIABLE])
    install()
    start_http_server(port, addr="127.0.0.1")
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *argv]
    rasa_main()


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])

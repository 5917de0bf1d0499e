"""``python -m actions.server [rasa-sdk's options]``: the action server with a Prometheus ``GET /metrics``.

It is ``rasa run actions`` (same options, e.g. ``--actions actions --port 5055``) with
:class:`actions.metrics.MetricsPlugin` registered first (see that module for the metrics).
"""

from __future__ import annotations

from typing import Any

from actions.metrics import MetricsPlugin


def main(argv: list[str] | None = None) -> Any:
    """Registers the metrics plugin, then runs rasa-sdk's own command line with ``argv``."""
    from rasa_sdk import __main__ as rasa_sdk_main
    from rasa_sdk.endpoint import create_argument_parser
    from rasa_sdk.plugin import plugin_manager

    manager = plugin_manager()
    if not any(isinstance(plugin, MetricsPlugin) for plugin in manager.get_plugins()):
        manager.register(MetricsPlugin())
    return rasa_sdk_main.main_from_args(create_argument_parser().parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    main()

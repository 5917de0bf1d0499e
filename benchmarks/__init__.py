"""kefu's benchmarks: ``make bench`` (``python -m benchmarks``) writes ``reports/``.

* accuracy — a labelled set of customer turns (``data/traffic.yml``) through a running Rasa + action server:
  containment, answer precision, wrong answers, handoff precision/recall per reason (``accuracy``, ``outcomes``);
* knowledge base — ``kefu kb eval`` and ``kefu kb pairs`` on the BQ corpus (``knowledge``);
* load — simulated customers over the hub's websockets, against the hub's no-op echo path (``load``);
* where the time goes — the Prometheus metrics of the hub, the action server and an instrumented Rasa (``probes``).

``stack`` starts the processes on free loopback ports; ``report`` writes JSON, Markdown and PNG charts.
"""

"""Reading the Prometheus endpoints of the hub, the action server and the instrumented Rasa.

A :class:`Snapshot` is every sample of one scrape. The benchmark scrapes before and after a phase; the
difference of two snapshots is what happened during the phase (counters and histograms only grow).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

from benchmarks.scoring import histogram_quantile

Labels = tuple[tuple[str, str], ...]

# A scrape is a few kilobytes from a process on this machine; 10 s means the process is stuck.
SCRAPE_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Snapshot:
    """Sample values by (name, sorted labels)."""

    samples: Mapping[tuple[str, Labels], float] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Snapshot:
        """A snapshot of Prometheus's text format."""
        return cls(
            {
                (sample.name, tuple(sorted(sample.labels.items()))): float(sample.value)
                for family in text_string_to_metric_families(text)
                for sample in family.samples
            }
        )

    def minus(self, earlier: Snapshot) -> Snapshot:
        """What grew since ``earlier`` (gauges come out as their change too)."""
        return Snapshot({key: value - earlier.samples.get(key, 0.0) for key, value in self.samples.items()})

    def value(self, name: str, **labels: str) -> float:
        """One sample (0 if absent)."""
        return self.samples.get((name, tuple(sorted(labels.items()))), 0.0)

    def total(self, name: str, **labels: str) -> float:
        """The sum of a sample over every label set that contains ``labels``."""
        wanted = set(labels.items())
        return sum(value for (n, key), value in self.samples.items() if n == name and wanted <= set(key))

    def label_values(self, name: str, label: str) -> list[str]:
        """The values ``label`` takes among the samples called ``name``, sorted."""
        return sorted({dict(key)[label] for n, key in self.samples if n == name and label in dict(key)})

    def quantile(self, histogram: str, q: float, **labels: str) -> float | None:
        """``histogram_quantile(q)`` of ``histogram`` (buckets summed over other labels), in the metric's unit."""
        buckets: dict[float, float] = {}
        wanted = set(labels.items())
        for (name, key), value in self.samples.items():
            if name != f"{histogram}_bucket" or not wanted <= set(key):
                continue
            bound = float(dict(key)["le"])
            buckets[bound] = buckets.get(bound, 0.0) + value
        return histogram_quantile(q, sorted(buckets.items()))


def scrape(url: str) -> Snapshot:
    """One scrape of ``url`` (``…/metrics``); an unreachable endpoint is an empty snapshot."""
    try:
        token = os.environ.get("KEFU_HUB_SERVICE_TOKEN", "")  # the hub's /metrics needs it; the others ignore it
        response = httpx.get(url, timeout=SCRAPE_TIMEOUT_SECONDS, headers={"Authorization": f"Bearer {token}"})
        response.raise_for_status()
    except httpx.HTTPError:
        return Snapshot()
    return Snapshot.parse(response.text)

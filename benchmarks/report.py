"""Writing ``reports/``: ``benchmark.json`` (every figure), ``summary.md`` (for people) and PNG charts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

JSON_NAME = "benchmark.json"
MARKDOWN_NAME = "summary.md"
CHART_ACCURACY = "accuracy_by_category.png"
CHART_LATENCY = "load_latency.png"
CHART_BREAKDOWN = "time_breakdown.png"


def pct(value: float | None) -> str:
    """0.9712 → ``97.1 %``; None → ``–``."""
    return "–" if value is None else f"{value * 100:.1f} %"


def ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return [*lines, ""]


def write_json(report: dict[str, Any], out: Path) -> Path:
    path = out / JSON_NAME
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def markdown(report: dict[str, Any]) -> str:
    """The summary as Markdown."""
    meta = report["meta"]
    machine = meta["machine"]
    lines = [
        "# kefu benchmark report" + (" (smoke run: tiny settings, figures not meaningful)" if meta["smoke"] else ""),
        "",
        f"- date: {meta['date']}",
        f"- commit: `{meta['commit']}`" + (" (with uncommitted changes)" if meta["dirty"] else ""),
        f"- machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GiB, {machine['os']}, "
        f"Python {machine['python']}",
        f"- Rasa model: `{meta['model']}`; knowledge-base index: `{meta['kb_index']}`",
        f"- load average (1/5/15 min) at start {meta['load_average_at_start']}, at end "
        f"{meta.get('load_average_at_end')}: the machine is shared, so other work competes for its 2 cores",
        f"- command: `{meta['command']}` (each section names the command behind its figures)",
        "",
    ]
    if "accuracy" in report:
        lines += _accuracy_section(report["accuracy"])
    if "knowledge_base" in report:
        lines += _kb_section(report["knowledge_base"])
    if "load" in report:
        lines += _load_section(report["load"])
    return "\n".join(lines)


def _accuracy_section(acc: dict[str, Any]) -> list[str]:
    goals = acc["goals"]
    lines = [
        "## Containment and precision",
        "",
        f"`{acc['command']}` — {acc['cases']} cases, {acc['scored_turns']} scored turns "
        f"({acc['in_scope_turns']} in scope), {acc['turns_sent']} turns sent to Rasa's REST channel one at a time "
        f"in {acc['seconds']:.0f} s, {acc['errors']} errors. Labelled set: `benchmarks/data/traffic.yml`.",
        "",
        *_table(
            ["figure", "value", "goal"],
            [
                ["containment, in-scope traffic", pct(acc["containment_in_scope"]), f"≥ {pct(goals['containment'])}"],
                ["answer precision, in-scope traffic", pct(acc["precision_in_scope"]), f"≥ {pct(goals['precision'])}"],
                ["containment, all traffic", pct(acc["containment_all"]), ""],
                ["answer precision, all traffic", pct(acc["precision_all"]), ""],
                ["wrong-answer rate, all traffic", pct(acc["wrong_answer_rate"]), ""],
                ["turns with the expected outcome", pct(acc["accuracy"]), ""],
                [
                    "REST latency per turn p50 / p95 (ms, one at a time)",
                    f"{ms(acc['latency']['p50_ms'])} / {ms(acc['latency']['p95_ms'])}",
                    "",
                ],
            ],
        ),
        "By kind of traffic:",
        "",
        *_table(
            ["category", "turns", "expected outcome", "containment", "answer precision", "wrong answers"],
            [
                [
                    c["category"],
                    c["turns"],
                    pct(c["accuracy"]),
                    pct(c["containment"]),
                    pct(c["precision"]),
                    c["wrong_answers"],
                ]
                for c in acc["by_category"]
            ],
        ),
        "Handoffs by reason:",
        "",
        *_table(
            ["reason", "expected", "handed off", "right", "precision", "recall"],
            [
                [h["reason"], h["expected"], h["handed_off"], h["right"], pct(h["precision"]), pct(h["recall"])]
                for h in acc["handoff"]
            ],
        ),
        "Misses (expected → what the bot did):",
        "",
        *_table(["expected", "actual", "turns"], acc["confusion"]),
        f"The most frequent misses in detail (all {len(acc['misses'])} with their text are in `{JSON_NAME}`):",
        "",
        *_table(["expected", "actual", "turns"], acc.get("confusion_detailed", [])[:20]),
        f"![accuracy by category]({CHART_ACCURACY})",
        "",
    ]
    return lines


def _kb_section(kb: dict[str, Any]) -> list[str]:
    lines = ["## Knowledge base", ""]
    evaluation = kb.get("eval")
    if evaluation:
        f = evaluation["figures"]
        lines += [
            f"`{evaluation['command']}` (held-out questions, {f.get('questions')} of them):",
            "",
            *_table(
                ["top-1", "recall@3", "coverage", "wrong-answer rate", "abstain precision", "abstain recall",
                 "search p50 / p95 (ms)"],
                [[pct(f.get("top1")), pct(f.get("recall_at_3")), pct(f.get("coverage")), pct(f.get("wrong_rate")),
                  pct(f.get("abstain_precision")), pct(f.get("abstain_recall")),
                  f"{ms(f['latency']['p50_ms'])} / {ms(f['latency']['p95_ms'])}"]],
            ),
        ]  # fmt: skip
        held_out = f.get("cross_validated")
        if held_out:
            lines += [
                f"Cross-validated calibration ({held_out.get('folds')} folds: each question judged by thresholds "
                f"calibrated without it): wrong-answer rate {pct(held_out.get('wrong_rate'))}, coverage "
                f"{pct(held_out.get('coverage'))}.",
                "",
            ]
    pairs = kb.get("pairs")
    if pairs:
        if "skipped" in pairs:
            lines += [f"`{pairs['command']}`: skipped ({pairs['skipped']}).", ""]
        else:
            p = pairs["figures"]
            lines += [
                f"`{pairs['command']}` (BQ corpus, academic licence, read at run time; {p['pairs']} pairs):",
                "",
                *_table(
                    ["Spearman ×100", "ROC-AUC", "accuracy at the answer threshold", "best accuracy (threshold)"],
                    [[p["spearman_x100"], p["roc_auc"], f"{pct(p['accuracy'])} at {p['threshold']}",
                      f"{pct(p['best_accuracy'])} ({p['best_threshold']})"]],
                ),
            ]  # fmt: skip
    return lines


def _load_section(load: dict[str, Any]) -> list[str]:
    s = load["settings"]
    goal = load["goal"]
    lines = [
        "## Load through the hub",
        "",
        f"`{load['command']}` — each level: {s['duration_seconds']:.0f} s of simulated customers on the customer "
        f"websocket (think time {s['think_seconds']} s ± 50 %, a new conversation every "
        f"{s['messages_per_conversation']} messages, texts drawn from the labelled set), then "
        f"{s['echo_duration_seconds']:.0f} s of the same customers on the hub's no-op `/ws/echo`. Latency: "
        "frame sent → first bot message received. The load generator runs on the same 2 cores.",
        "",
        *_table(
            [
                "customers",
                "msg/s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "errors",
                "echo p50 / p95 ms",
                "bot ÷ echo (p50 / p95)",
                f"goal p95 < {goal['p95_ms']:.0f} ms at ≥ {goal['messages_per_second']:.0f}/s",
            ],
            [
                [
                    lv["users"],
                    f"{lv['bot']['messages_per_second']:.1f}",
                    ms(lv["bot"]["p50_ms"]),
                    ms(lv["bot"]["p95_ms"]),
                    ms(lv["bot"]["p99_ms"]),
                    lv["bot"]["errors_total"],
                    f"{ms(lv['echo']['p50_ms'])} / {ms(lv['echo']['p95_ms'])}",
                    f"{lv['ratio_p50']:.0f}× / {lv['ratio_p95']:.0f}×" if lv["ratio_p50"] else "–",
                    "met" if lv["goal_met"] else "not met",
                ]
                for lv in load["levels"]
            ],
        ),
        f"![latency]({CHART_LATENCY})",
        "",
        "### Where the time goes",
        "",
        "Mean milliseconds per customer message, from the Prometheus metrics of the hub (`/metrics`), the action "
        "server (`/metrics`) and Rasa run under `benchmarks.rasa_probe` (see `benchmarks/timing.py`):",
        "",
    ]
    levels = load["levels"]
    names = list(levels[0]["breakdown"]["components"]) if levels else []
    breakdowns = [lv["breakdown"] for lv in levels]
    rows = [[name, *[ms(b["components"][name]) for b in breakdowns]] for name in names]
    rows.append(["= customer's mean latency", *[ms(lv["bot"]["mean_ms"]) for lv in levels]])
    rows += [
        [f"CPU ms per message: {process}", *[ms(b["cpu_ms_per_message"][process]) for b in breakdowns]]
        for process in ("rasa", "actions", "hub")
    ]
    rows += [
        [f"CPU cores used: {process}", *[f"{b['cpu_cores_used'][process]:.2f}" for b in breakdowns]]
        for process in ("rasa", "actions", "hub")
    ]
    rows.append(["policy predictions per message", *[f"{b['policy_predictions_per_message']:.2f}" for b in breakdowns]])
    rows += [
        [f"action call part: {part}", *[ms(b["action_call_ms"][part]) for b in breakdowns]]
        for part in ("payload", "http", "validate", "nlg")
    ]
    lines += _table(["component", *[f"{lv['users']} customers" for lv in levels]], rows)
    lines += [
        "“–” for the hub: some customers gave up waiting (errors), so their latency is not in the mean while "
        "the servers' figures include their messages. Rasa handles messages on one event loop, so its CPU time "
        "per message bounds what one Rasa process can answer:",
        "",
    ]
    if breakdowns and breakdowns[0]["cpu_ms_per_message"]["rasa"]:
        rasa_cpu = breakdowns[0]["cpu_ms_per_message"]["rasa"]
        lines += [
            f"- at {levels[0]['users']} customers Rasa spent {rasa_cpu:.0f} ms of CPU per message: at most "
            f"≈ {1000 / rasa_cpu:.1f} messages per second per Rasa process, whatever the hub does.",
            "",
        ]
    if levels:
        top = levels[0]["breakdown"]
        lines += [
            f"Rasa graph nodes at {levels[0]['users']} customers (mean ms per message, slowest first): "
            + ", ".join(f"{node} {value:.1f}" for node, value in list(top["graph_nodes_ms"].items())[:8]),
            "",
            f"p95 per stage at {levels[0]['users']} customers (ms, from histogram buckets): "
            + ", ".join(f"{name} {ms(value)}" for name, value in top["p95_ms"].items()),
            "",
        ]
    lines += [f"![time breakdown]({CHART_BREAKDOWN})", ""]
    return lines


def charts(report: dict[str, Any], out: Path) -> list[Path]:
    """The PNG charts for the sections present; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    acc = report.get("accuracy")
    if acc:
        figure, axes = plt.subplots(figsize=(9, 4.5))
        rows = acc["by_category"]
        names = [row["category"] for row in rows]
        positions = range(len(rows))
        axes.bar([p - 0.2 for p in positions], [(row["accuracy"] or 0) * 100 for row in rows], 0.4,
                 label="expected outcome")  # fmt: skip
        axes.bar([p + 0.2 for p in positions], [(row["containment"] or 0) * 100 for row in rows], 0.4,
                 label="containment")  # fmt: skip
        axes.set_xticks(list(positions), names, rotation=30, ha="right")
        axes.set_ylabel("% of turns")
        axes.set_ylim(0, 105)
        axes.set_title("Labelled traffic by category")
        axes.legend(loc="lower left")
        figure.tight_layout()
        written.append(_save(figure, out / CHART_ACCURACY))
    load = report.get("load")
    if load and load["levels"]:
        levels = load["levels"]
        users = [lv["users"] for lv in levels]
        figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
        for key, style in (("p50_ms", "o-"), ("p95_ms", "s-"), ("p99_ms", "^-")):
            left.plot(users, [lv["bot"][key] or 0 for lv in levels], style, label=f"bot {key[:3]}")
            left.plot(users, [lv["echo"][key] or 0 for lv in levels], style, alpha=0.4, label=f"echo {key[:3]}")
        left.axhline(load["goal"]["p95_ms"], color="red", linestyle="--", linewidth=1, label="p95 goal")
        left.set_yscale("log")
        left.set_xlabel("concurrent customers")
        left.set_ylabel("reply latency (ms, log)")
        left.legend(fontsize=7)
        right.plot(users, [lv["bot"]["messages_per_second"] for lv in levels], "o-", label="bot replies/s")
        right.plot(users, [lv["echo"]["messages_per_second"] for lv in levels], "o-", alpha=0.5, label="echo/s")
        right.axhline(load["goal"]["messages_per_second"], color="red", linestyle="--", linewidth=1, label="goal")
        right.set_xlabel("concurrent customers")
        right.set_ylabel("messages per second")
        right.legend(fontsize=7)
        figure.suptitle("Load through the hub")
        figure.tight_layout()
        written.append(_save(figure, out / CHART_LATENCY))

        figure, (absolute, share) = plt.subplots(1, 2, figsize=(12, 4.8))
        names = list(levels[0]["breakdown"]["components"])
        colours = plt.get_cmap("tab20").colors
        labels = [str(u) for u in users]
        values = {name: [max(lv["breakdown"]["components"][name] or 0.0, 0.0) for lv in levels] for name in names}
        totals = [sum(column) or 1.0 for column in zip(*values.values(), strict=True)]
        bottoms, share_bottoms = [0.0] * len(levels), [0.0] * len(levels)
        for colour, name in zip(colours, names, strict=False):
            shares = [100 * v / t for v, t in zip(values[name], totals, strict=True)]
            absolute.bar(labels, values[name], bottom=bottoms, label=name, color=colour)
            share.bar(labels, shares, bottom=share_bottoms, color=colour)
            bottoms = [b + v for b, v in zip(bottoms, values[name], strict=True)]
            share_bottoms = [b + v for b, v in zip(share_bottoms, shares, strict=True)]
        absolute.set_yscale("symlog", linthresh=100)
        absolute.set_xlabel("concurrent customers")
        absolute.set_ylabel("mean ms per message (symlog)")
        share.set_xlabel("concurrent customers")
        share.set_ylabel("% of the reply time")
        share.set_ylim(0, 100)
        absolute.legend(fontsize=7, loc="upper left")
        figure.suptitle("Where a reply's time goes")
        figure.tight_layout()
        written.append(_save(figure, out / CHART_BREAKDOWN))
    return written


def _save(figure: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def write_report(report: dict[str, Any], out: Path) -> list[Path]:
    """Writes the JSON, the Markdown summary and the charts into ``out``; returns every file written."""
    out.mkdir(parents=True, exist_ok=True)
    files = [write_json(report, out)]
    summary = out / MARKDOWN_NAME
    summary.write_text(markdown(report), encoding="utf-8")
    files.append(summary)
    files += charts(report, out)
    return files

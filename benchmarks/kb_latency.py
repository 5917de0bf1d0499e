"""Knowledge-base search latency at 10,000 indexed questions: the exact index against the approximate ones.

``python -m benchmarks.kb_latency [--quick] [--out reports]`` → ``reports/kb_latency.json`` and ``.md``.

The corpus is every real FAQ wording (question and paraphrases), then synthetic variants up to the size asked
for: each wording decorated with a greeting, a sentence of context and an ending (``你好，我是老用户了，提前还款
要手续费吗，谢谢``), chosen deterministically from a seed, round-robin over the wordings so every FAQ gets its
share. Variants are grouped seven at a time into synthetic FAQs (the size of a real one), so the index holds
what a knowledge base of ~1,400 FAQs would hold and its rule "an FAQ has ≤ 8 wordings" still holds.

The corpus is embedded once with the library's :class:`~knowledge_base.embedder.Embedder`; each index kind is
then built the way :meth:`FaqIndex.build <knowledge_base.index.FaqIndex.build>` builds it (the same FAISS
constructor, train, add) and searched through :meth:`KnowledgeBase.decide
<knowledge_base.service.KnowledgeBase.decide>`, exactly as the action server answers a question, with the
library's query timer supplying the embedding / search split. The query cache is off (``cache_size=0``), so
every question is embedded. Questions are the held-out ones (``knowledge_base/eval/heldout.yml``, never in the
index), one at a time, each sent to every index kind in turn (rotating which goes first), so that the shared
machine's changing load falls on all kinds alike.

The run metadata and report writing here (:func:`run_meta`, :func:`write_report`) are shared with
:mod:`benchmarks.loan_turn`.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import random
import shlex
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import faiss

from benchmarks.scoring import latency_summary
from knowledge_base.decision import Thresholds
from knowledge_base.embedder import Embedder, Vectors
from knowledge_base.evaluation import load_heldout
from knowledge_base.index import HNSW_NEIGHBOURS, FaqIndex, IndexStore, Manifest, _new_faiss_index
from knowledge_base.loader import FaqCatalog, load_catalog
from knowledge_base.schema import Faq, text_key
from knowledge_base.service import KnowledgeBase, set_query_timer
from knowledge_base.settings import IndexKind, Settings

T = TypeVar("T")

NAME = "kb_latency"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
VECTORS = 10_000  # the brief: latency at 10k indexed questions
QUICK_VECTORS = 1_000
QUICK_QUERIES = 30
MIN_QUERIES = 300  # fewer held-out questions than this make p99 the second-worst value: warn
GOAL_P95_MS = 20.0  # per question, embedding included
WARM_UP_QUESTIONS = 5  # not timed: the first forward passes allocate torch's buffers
SYNTHETIC_FAQ_WORDINGS = 7  # a real FAQ has 6–8 wordings; FETCH_PER_RESULT in index.py assumes ≤ 8
RECALL_AT = 10  # vector-level recall@10 of an approximate index against flat
SEED = 20261129
KINDS = (IndexKind.FLAT, IndexKind.HNSW, IndexKind.IVF)

# Decorations of synthetic variants: a greeting, a sentence of context, an ending. ("", "", "") is left out.
PREFIXES = ("", "你好，", "请问", "麻烦问一下，", "客服你好，", "咨询一下，", "打扰一下，", "小微，")
CONTEXTS = ("", "我是老用户了，", "我刚在app里找了半天，", "朋友跟我说的，", "上个月刚借过一笔，", "着急用钱，")
SUFFIXES = ("", "？", "呢", "，谢谢", "，急", "，在线等", "啊", "，麻烦告诉我一下")
_END_PUNCTUATION = "？?。！!"


# -- shared with benchmarks.loan_turn: run metadata, summaries, report files -------------------------------------


def cpu_model(cpuinfo: str) -> str:
    """The first ``model name`` in the text of ``/proc/cpuinfo``, or ``unknown``."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            return value.strip()
    return "unknown"


def _git(*args: str) -> str:
    try:
        completed = subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return ""
    return completed.stdout.strip()


def run_meta(module: str, argv: Sequence[str]) -> dict[str, Any]:
    """Date, commit, machine (nproc, CPU model), load average and the exact command of a run."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        cpuinfo = ""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": _git("rev-parse", "HEAD") or "unknown",
        "dirty": bool(_git("status", "--porcelain")),
        "machine": {
            "nproc": len(os.sched_getaffinity(0)),
            "cpu": cpu_model(cpuinfo),
            "os": platform.platform(),
            "python": platform.python_version(),
        },
        "command": shlex.join(["python", "-m", module, *argv]),
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
    }


def meta_markdown(meta: dict[str, Any]) -> list[str]:
    """The Markdown lines stating machine, commit, date and command."""
    machine = meta["machine"]
    return [
        f"- machine: {machine['cpu']}, nproc {machine['nproc']}, {machine['os']}, Python {machine['python']}",
        f"- commit: `{meta['commit']}`" + (" (with uncommitted changes)" if meta["dirty"] else ""),
        f"- date: {meta['date']}",
        f"- command: `{meta['command']}`",
        f"- load average (1/5/15 min) at start {meta['load_average_at_start']}, at end "
        f"{meta.get('load_average_at_end')} (the machine is shared: other work competes for its cores)",
    ]


def summary_ms(seconds: Sequence[float]) -> dict[str, float | None]:
    """Count, mean, p50, p95, p99 and max of durations given in seconds, in milliseconds (0.01 ms)."""
    summary: dict[str, float | None] = {
        key: (None if value is None else round(value, 2))
        for key, value in latency_summary([value * 1000 for value in seconds]).items()
    }
    summary["count"] = len(seconds)
    return summary


def ms(value: float | None) -> str:
    """A millisecond figure for a table; ``–`` when missing."""
    return "–" if value is None else f"{value:.1f}"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return [*lines, *("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows)]


def write_report(name: str, report: dict[str, Any], markdown: str, out: Path) -> tuple[Path, Path]:
    """Writes ``out/<name>.json`` and ``out/<name>.md``; returns both paths."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, markdown_path = out / f"{name}.json", out / f"{name}.md"
    json_path.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    markdown_path.write_text(markdown.rstrip("\n") + "\n", encoding="utf-8")
    return json_path, markdown_path


# -- the corpus -----------------------------------------------------------------------------------------------


def decorations(seed: int) -> list[tuple[str, str, str]]:
    """Every (prefix, context, suffix) but the empty one, in an order shuffled by ``seed``."""
    combos = [(p, c, s) for p in PREFIXES for c in CONTEXTS for s in SUFFIXES if (p, c, s) != ("", "", "")]
    random.Random(seed).shuffle(combos)
    return combos


def decorate(text: str, prefix: str, context: str, suffix: str) -> str:
    """``text`` with a greeting, context and ending; its own end punctuation gives way to a new ending."""
    core = text.rstrip(_END_PUNCTUATION) if suffix else text
    return f"{prefix}{context}{core}{suffix}"


def synthetic_variants(
    wordings: Sequence[tuple[str, str]], count: int, *, seed: int = SEED, exclude: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """``count`` new (text, faq id) wordings made from ``wordings``, deterministically.

    Round ``r`` gives wording ``i`` the decoration ``(i + r) mod n`` of the shuffled list, so rounds never
    repeat a decoration on a wording and every wording gets one variant per round. A variant that equals
    (by :func:`~knowledge_base.schema.text_key`) an existing wording, an earlier variant or a text in
    ``exclude`` (the held-out questions) is skipped.

    Raises:
        ValueError: ``wordings`` cannot make ``count`` distinct variants.
    """
    combos = decorations(seed)
    seen = {text_key(text) for text, _ in wordings} | {text_key(text) for text in exclude}
    variants: list[tuple[str, str]] = []
    for round_number in range(len(combos)):
        for position, (text, faq_id) in enumerate(wordings):
            if len(variants) == count:
                return variants
            variant = decorate(text, *combos[(position + round_number) % len(combos)])
            key = text_key(variant)
            if key not in seen:
                seen.add(key)
                variants.append((variant, faq_id))
    if len(variants) < count:
        raise ValueError(f"{len(wordings)} wordings make only {len(variants)} distinct variants, not {count}")
    return variants


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class Corpus:
    """The FAQs to index (real ones, then synthetic ones), and the real FAQ each synthetic one comes from."""

    catalog: FaqCatalog
    source: dict[str, str]
    real_wordings: int
    synthetic_wordings: int

    @property
    def size(self) -> int:
        """Vectors in an index of this corpus."""
        return self.catalog.text_count


def build_corpus(real: FaqCatalog, size: int, *, seed: int = SEED, exclude: Sequence[str] = ()) -> Corpus:
    """``size`` wordings: the real ones in file order (cut off at ``size``), then synthetic variants.

    Synthetic variants of one FAQ are grouped :data:`SYNTHETIC_FAQ_WORDINGS` at a time into FAQs with ids
    ``<source id>~<n>`` and the source's answer and category.
    """
    kept: list[Faq] = []
    budget = size
    for faq in real:
        if budget <= 0:
            break
        texts = faq.texts[:budget]
        kept.append(dataclasses.replace(faq, question=texts[0], paraphrases=tuple(texts[1:])))
        budget -= len(texts)
    wordings = [(text, faq.id) for faq in real for text in faq.texts]
    variants = synthetic_variants(wordings, budget, seed=seed, exclude=exclude) if budget > 0 else []
    by_source: dict[str, list[str]] = defaultdict(list)
    for text, faq_id in variants:
        by_source[faq_id].append(text)
    source: dict[str, str] = {}
    synthetic: list[Faq] = []
    for faq in real:
        for number, group in enumerate(_chunks(by_source.get(faq.id, []), SYNTHETIC_FAQ_WORDINGS), start=1):
            synthetic_id = f"{faq.id}~{number}"
            synthetic.append(
                dataclasses.replace(faq, id=synthetic_id, question=group[0], paraphrases=tuple(group[1:]), buttons=())
            )
            source[synthetic_id] = faq.id
    return Corpus(FaqCatalog(tuple(kept + synthetic)), source, size - budget, len(variants))


def spread(items: Sequence[T], count: int) -> list[T]:
    """``count`` items evenly spaced through ``items`` (all of them when ``count`` is not smaller)."""
    if count >= len(items):
        return list(items)
    return [items[position * len(items) // count] for position in range(count)]


# -- building and searching ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    """An index of the corpus and what building it took."""

    kind: IndexKind
    index: FaqIndex
    faiss_index: Any
    faiss_seconds: float
    parameters: dict[str, int]


def build(corpus: Corpus, vectors: Vectors, embedder: Embedder, kind: IndexKind, thresholds: Thresholds) -> Built:
    """Indexes the already embedded corpus as :meth:`FaqIndex.build` does: FAISS index, train, add."""
    rows = [faq.id for faq in corpus.catalog for _ in faq.texts]
    started = time.perf_counter()
    faiss_index = _new_faiss_index(kind, embedder.dimension, len(rows))
    if not faiss_index.is_trained:
        faiss_index.train(vectors)
    faiss_index.add(vectors)
    seconds = time.perf_counter() - started
    manifest = Manifest(
        version=f"benchmark-{kind.value}",
        model_id=embedder.model_id,
        model=embedder.model_name,
        data_hash="benchmark",
        index_kind=kind.value,
        dimension=embedder.dimension,
        vector_count=len(rows),
        faq_count=len(corpus.catalog),
        thresholds=thresholds,
        calibration=None,
        built_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        build_seconds=round(seconds, 3),
        normaliser_id=embedder.normaliser.fingerprint,
    )
    parameters: dict[str, int] = {}
    if kind is IndexKind.HNSW:
        parameters = {"M": HNSW_NEIGHBOURS, "efSearch": int(faiss_index.hnsw.efSearch)}
    elif kind is IndexKind.IVF:
        parameters = {"nlist": int(faiss_index.nlist), "nprobe": int(faiss_index.nprobe)}
    return Built(kind, FaqIndex(manifest, corpus.catalog, faiss_index, rows), faiss_index, seconds, parameters)


@dataclass
class Timings:
    """Per-question durations in seconds: the whole decision, the embedding, the search."""

    total: list[float] = dataclasses.field(default_factory=list)
    embed: list[float] = dataclasses.field(default_factory=list)
    search: list[float] = dataclasses.field(default_factory=list)


def time_questions(
    bases: dict[IndexKind, KnowledgeBase], questions: Sequence[str], warm_up: Sequence[str]
) -> dict[IndexKind, Timings]:
    """Asks every question of every knowledge base, one at a time, rotating which kind goes first."""
    timings = {kind: Timings() for kind in bases}
    current: list[Timings] = []

    def record(stage: str, seconds: float) -> None:
        if current:
            getattr(current[0], stage).append(seconds)

    kinds = list(bases)
    set_query_timer(record)
    try:
        for question in warm_up:
            for kb in bases.values():
                kb.decide(question)
        for number, question in enumerate(questions):
            for kind in kinds[number % len(kinds) :] + kinds[: number % len(kinds)]:
                current[:] = [timings[kind]]
                started = time.perf_counter()
                bases[kind].decide(question)
                timings[kind].total.append(time.perf_counter() - started)
                current.clear()
    finally:
        set_query_timer(None)
    return timings


def agreement(flat: Built, other: Built, vectors: Vectors) -> dict[str, float]:
    """How often ``other`` ranks the same FAQ first as flat, and its recall@10 of flat's nearest vectors."""
    same = sum(flat.index.search(vector, 1)[0].faq_id == other.index.search(vector, 1)[0].faq_id for vector in vectors)
    _, exact = flat.faiss_index.search(vectors, RECALL_AT)
    _, approximate = other.faiss_index.search(vectors, RECALL_AT)
    found = sum(len(set(a) & set(e)) for a, e in zip(approximate.tolist(), exact.tolist(), strict=True))
    return {
        "top1_agreement": round(same / len(vectors), 4),
        f"recall_at_{RECALL_AT}": round(found / (RECALL_AT * len(vectors)), 4),
    }


def heldout_top1(built: Built, vectors: Vectors, labels: Sequence[str | None], source: dict[str, str]) -> float:
    """Top-1 accuracy on the in-scope questions, a synthetic FAQ counting as the FAQ it was made from."""
    hits = total = 0
    for vector, label in zip(vectors, labels, strict=True):
        if label is None:
            continue
        total += 1
        best = built.index.search(vector, 1)[0].faq_id
        hits += source.get(best, best) == label
    return round(hits / total, 4) if total else 0.0


# -- the run ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """What to run."""

    vectors: int
    queries: int | None  # None: every held-out question
    out: Path
    seed: int
    quick: bool
    faiss_threads: int | None = None  # None: as the action server runs (KEFU_KB_TORCH_THREADS, see KnowledgeBase)


def options_from(argv: Sequence[str]) -> Options:
    """Parses the command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.kb_latency", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_VECTORS} vectors, {QUICK_QUERIES} questions")
    parser.add_argument("--out", type=Path, default=Path("reports"), help="report folder (default: reports)")
    parser.add_argument("--vectors", type=int, help=f"indexed questions (default {VECTORS})")
    parser.add_argument("--queries", type=int, help="held-out questions to time (default: all)")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the synthetic variants")
    parser.add_argument(
        "--faiss-threads", type=int, help="OpenMP threads for FAISS (default: FAISS's own, as the bot runs it)"
    )
    args = parser.parse_args(list(argv))
    vectors = args.vectors or (QUICK_VECTORS if args.quick else VECTORS)
    queries = args.queries or (QUICK_QUERIES if args.quick else None)
    if (
        vectors < 1
        or (queries is not None and queries < 1)
        or (args.faiss_threads is not None and args.faiss_threads < 1)
    ):
        parser.error("--vectors, --queries and --faiss-threads must be at least 1")
    return Options(vectors, queries, args.out, args.seed, args.quick, args.faiss_threads)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(options: Options, settings: Settings) -> dict[str, Any]:
    """Builds every index kind over the corpus and times the held-out questions; returns the figures."""
    real = load_catalog(settings.data_dir)
    heldout = load_heldout(settings.heldout_path, real)
    distinct = list({text_key(item.text): item for item in heldout}.values())
    chosen = spread(distinct, options.queries or len(distinct))
    if len(chosen) < MIN_QUERIES and not options.quick:
        _say(f"warning: only {len(chosen)} held-out questions (fewer than {MIN_QUERIES}): p99 is rough")
    questions = [item.text for item in chosen]
    corpus = build_corpus(real, options.vectors, seed=options.seed, exclude=[item.text for item in heldout])
    manifest = IndexStore(settings.index_dir).read_manifest()
    thresholds = manifest.thresholds if manifest is not None else settings.thresholds

    _say(
        f"loading {settings.embedding_model} (backend {settings.embedding_backend}, {settings.torch_threads} "
        "thread(s), query cache off)"
    )
    embedder = Embedder(
        settings.embedding_model, cache_size=0, threads=settings.torch_threads, backend=settings.embedding_backend
    )
    texts = [text for faq in corpus.catalog for text in faq.texts]
    _say(f"embedding {len(texts)} wordings ({corpus.real_wordings} real, {corpus.synthetic_wordings} synthetic)")
    started = time.perf_counter()
    vectors = embedder.encode(texts)
    embed_seconds = time.perf_counter() - started

    built = {kind: build(corpus, vectors, embedder, kind, thresholds) for kind in KINDS}
    bases = {kind: KnowledgeBase(settings, item.index, embedder, None) for kind, item in built.items()}
    if options.faiss_threads is not None:  # after the knowledge bases, which set the serving default
        faiss.omp_set_num_threads(options.faiss_threads)
    warm_up = [faq.question for faq in list(real)[:WARM_UP_QUESTIONS]]
    _say(f"timing {len(questions)} held-out questions on {', '.join(kind.value for kind in KINDS)}")
    timings = time_questions(bases, questions, warm_up)

    query_vectors = embedder.encode(questions)
    labels = [item.faq_id for item in chosen]
    flat = built[IndexKind.FLAT]
    indexes: dict[str, Any] = {}
    for kind, item in built.items():
        latency = {stage: summary_ms(getattr(timings[kind], stage)) for stage in ("total", "embed", "search")}
        p95 = latency["total"]["p95_ms"]
        indexes[kind.value] = {
            "parameters": item.parameters,
            "build_seconds": {
                "embedding": round(embed_seconds, 2),
                "faiss": round(item.faiss_seconds, 4),
                "total": round(embed_seconds + item.faiss_seconds, 2),
            },
            "latency_ms": latency,
            "meets_goal": p95 is not None and p95 <= GOAL_P95_MS,
            "heldout_top1": heldout_top1(item, query_vectors, labels, corpus.source),
            "vs_flat": None if kind is IndexKind.FLAT else agreement(flat, item, query_vectors),
        }
    return {
        "corpus": {
            "vectors": corpus.size,
            "faqs": len(corpus.catalog),
            "real_wordings": corpus.real_wordings,
            "synthetic_wordings": corpus.synthetic_wordings,
            "seed": options.seed,
        },
        "queries": {
            "count": len(questions),
            "source": str(settings.heldout_path.relative_to(PROJECT_ROOT))
            if settings.heldout_path.is_relative_to(PROJECT_ROOT)
            else str(settings.heldout_path),
            "in_scope": sum(label is not None for label in labels),
            "warm_up_untimed": len(warm_up),
        },
        "model": {
            "path": settings.embedding_model,
            "id": embedder.model_id,
            "dimension": embedder.dimension,
            "backend": embedder.backend,
            "torch_threads": settings.torch_threads,
            "faiss_threads": faiss.omp_get_max_threads(),
            "query_cache": "off (cache_size=0)",
            "corpus_texts_per_second": round(len(texts) / embed_seconds, 1),
        },
        "goal": {"p95_ms_max": GOAL_P95_MS, "what": "per question, embedding included"},
        "indexes": indexes,
    }


def markdown(report: dict[str, Any]) -> str:
    """The report as a short Markdown section."""
    corpus, queries, model = report["corpus"], report["queries"], report["model"]
    rows = []
    for kind, figures in report["indexes"].items():
        total, embed, search = (figures["latency_ms"][stage] for stage in ("total", "embed", "search"))
        vs_flat = figures["vs_flat"]
        params = ", ".join(f"{key} {value}" for key, value in figures["parameters"].items())
        rows.append(
            [
                f"{kind}" + (f" ({params})" if params else ""),
                f"{figures['build_seconds']['faiss']:.3f}",
                f"{ms(total['p50_ms'])} / {ms(total['p95_ms'])} / {ms(total['p99_ms'])}",
                f"{ms(embed['p50_ms'])} / {ms(embed['p95_ms'])}",
                f"{search['p50_ms']:.2f} / {search['p95_ms']:.2f} / {search['p99_ms']:.2f}",
                "–" if vs_flat is None else f"{vs_flat['top1_agreement'] * 100:.1f} %",
                "–" if vs_flat is None else f"{vs_flat[f'recall_at_{RECALL_AT}'] * 100:.1f} %",
                f"{figures['heldout_top1'] * 100:.1f} %",
                "yes" if figures["meets_goal"] else "**no**",
            ]
        )
    embed_seconds = next(iter(report["indexes"].values()))["build_seconds"]["embedding"]
    lines = [
        f"## Knowledge-base search latency, {corpus['vectors']:,} indexed questions",
        "",
        *meta_markdown(report["meta"]),
        "",
        f"{corpus['real_wordings']} real FAQ wordings + {corpus['synthetic_wordings']} synthetic variants "
        f"(seed {corpus['seed']}) in {corpus['faqs']} FAQs. Embedding them took {embed_seconds:.1f} s "
        f"({model['corpus_texts_per_second']} texts/s, {model.get('backend', 'torch')} backend, "
        f"{model['torch_threads']} model thread(s), FAISS "
        f"{model['faiss_threads']} OpenMP thread(s)); the FAISS "
        f"build column adds to that. {queries['count']} held-out questions ({queries['source']}), one at a "
        f"time through `KnowledgeBase.decide`, query cache off; {queries['warm_up_untimed']} untimed warm-up "
        f"questions first. Goal: p95 ≤ {report['goal']['p95_ms_max']:.0f} ms per question, embedding included.",
        "",
        *table(
            [
                "index",
                "FAISS build s",
                "total p50 / p95 / p99 ms",
                "embedding p50 / p95 ms",
                "search p50 / p95 / p99 ms",
                "top-1 = flat",
                f"recall@{RECALL_AT} vs flat",
                "held-out top-1",
                "p95 ≤ goal",
            ],
            rows,
        ),
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the benchmark, prints the figures and writes ``<out>/kb_latency.json`` and ``.md``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    options = options_from(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    meta = run_meta("benchmarks.kb_latency", argv)
    report: dict[str, Any] = {"benchmark": NAME, "meta": meta, "quick": options.quick}
    report |= run(options, Settings.from_env())
    meta["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    text = markdown(report)
    json_path, markdown_path = write_report(NAME, report, text, options.out)
    print(text)
    _say(f"wrote {json_path} and {markdown_path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

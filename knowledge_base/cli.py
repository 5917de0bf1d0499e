"""``kefu kb …``: validate, build, search, evaluate, calibrate and tune the knowledge base.

Exit codes: 0 done, 1 the knowledge base refused (invalid data, no model, no index …), 2 wrong usage.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from knowledge_base.decision import MAX_WRONG_RATE, LabelledResult, Outcomes, calibrate, outcomes
from knowledge_base.embedder import Embedder, model_fingerprint
from knowledge_base.evaluation import (
    cross_validation_folds,
    latency_summary,
    load_heldout,
    load_pairs,
    pair_scores,
    pairs_report,
    rank_questions,
    ranking_report,
)
from knowledge_base.exceptions import KnowledgeBaseError
from knowledge_base.index import IndexStore, stale_reasons
from knowledge_base.loader import data_files, load_catalog
from knowledge_base.scope import ScopeGuard
from knowledge_base.service import KnowledgeBase, build_index
from knowledge_base.settings import TUNED_MODEL_FOLDER, IndexKind, Settings, get_settings
from knowledge_base.text import default_normaliser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs ``kefu`` with ``argv`` (default: the command line); returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        settings = get_settings()
        if getattr(args, "kind", None):
            settings = settings.with_changes(index_kind=IndexKind(args.kind))
        return int(args.handler(args, settings))
    except KnowledgeBaseError as error:
        print(f"kefu: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("kefu: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kefu", description="kefu (客服) command-line tools")
    areas = parser.add_subparsers(title="areas", metavar="AREA")
    kb = areas.add_parser("kb", help="the FAQ knowledge base", description="the FAQ knowledge base")
    commands = kb.add_subparsers(title="commands", metavar="COMMAND", required=True)

    command = commands.add_parser("validate", help="check the FAQ files and the held-out questions")
    command.set_defaults(handler=_validate)

    command = commands.add_parser("build", help="embed the FAQs and publish a new index")
    command.add_argument("--if-stale", action="store_true", help="do nothing when the index is up to date")
    command.add_argument("--kind", choices=[kind.value for kind in IndexKind], help="override KEFU_KB_INDEX_KIND")
    command.set_defaults(handler=_build)

    command = commands.add_parser("search", help="show what the bot would do with a question")
    command.add_argument("question")
    command.add_argument("-k", type=int, default=5, help="candidates to show (default 5)")
    command.set_defaults(handler=_search)

    command = commands.add_parser("eval", help="score the index on the held-out questions")
    command.add_argument("--heldout", type=Path, help="labelled questions (default KEFU_KB_HELDOUT)")
    command.add_argument("--misses", action="store_true", help="list the questions ranked wrong")
    command.add_argument("--json", action="store_true", help="print the figures as JSON")
    command.set_defaults(handler=_eval)

    command = commands.add_parser("calibrate", help="choose thresholds from the held-out questions")
    command.add_argument("--heldout", type=Path, help="labelled questions (default KEFU_KB_HELDOUT)")
    command.add_argument("--max-wrong-rate", type=float, default=MAX_WRONG_RATE, help="default 0.02")
    command.add_argument("--dry-run", action="store_true", help="show the thresholds without storing them")
    command.add_argument(
        "--if-uncalibrated", action="store_true", help="do nothing when the current index is already calibrated"
    )
    command.set_defaults(handler=_calibrate)

    command = commands.add_parser("pairs", help="score sentence pairs: sentence1<TAB>sentence2<TAB>label")
    command.add_argument("file", type=Path)
    command.add_argument("--limit", type=int, help="read only the first N pairs")
    command.add_argument("--threshold", type=float, help="match threshold (default: the answer threshold)")
    command.set_defaults(handler=_pairs)

    command = commands.add_parser("tune", help="fine-tune the embedding model on the FAQ paraphrases")
    command.add_argument(
        "--base", help="the model to fine-tune (default: KEFU_EMBEDDING_MODEL if set, else the converted base model)"
    )
    command.add_argument(
        "--out", type=Path, help=f"where to keep the tuned model (default <var>/{TUNED_MODEL_FOLDER.as_posix()})"
    )
    command.add_argument(
        "--if-stale",
        action="store_true",
        help="do nothing when this base model was already tuned with these options (kept or not)",
    )
    command.add_argument("--epochs", type=int, default=1)
    command.add_argument("--batch-size", type=int, default=32)
    command.add_argument("--learning-rate", type=float, default=2e-5)
    command.add_argument("--seed", type=int, default=7)
    command.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="CPU threads for training (default: all cores; answering uses KEFU_KB_TORCH_THREADS)",
    )
    command.set_defaults(handler=_tune)
    return parser


def _validate(args: argparse.Namespace, settings: Settings) -> int:
    catalog = load_catalog(settings.data_dir)
    files = len(data_files(settings.data_dir))
    print(f"{settings.data_dir}: {files} files, {len(catalog)} FAQs, {catalog.text_count} questions: valid")
    if settings.heldout_path.exists():
        questions = load_heldout(settings.heldout_path, catalog)
        out_of_scope = sum(1 for question in questions if question.faq_id is None)
        print(f"{settings.heldout_path}: {len(questions)} questions ({out_of_scope} out of scope): valid")
    if settings.scope_file is not None and settings.scope_file.exists():
        scope = ScopeGuard.load(settings.scope_file)
        print(f"{settings.scope_file}: {len(scope.terms)} products not covered: valid")
    return 0


def _build(args: argparse.Namespace, settings: Settings) -> int:
    store = IndexStore(settings.index_dir)
    catalog = load_catalog(settings.data_dir)
    if args.if_stale:
        reasons = stale_reasons(
            store.read_manifest(),
            data_hash=catalog.data_hash,
            model_id=model_fingerprint(settings.embedding_model, settings.embedding_backend),
            index_kind=settings.index_kind,
            normaliser_id=default_normaliser().fingerprint,
        )
        if not reasons:
            print(f"knowledge-base index is up to date ({store.current_version()})")
            return 0
        print(f"rebuilding the knowledge-base index: {'; '.join(reasons)}")
    embedder = Embedder(
        settings.embedding_model, cache_size=0, threads=settings.torch_threads, backend=settings.embedding_backend
    )
    with store.build_lock():
        index = build_index(settings, embedder, progress=sys.stderr.isatty())
        store.publish(index)
    manifest = index.manifest
    print(
        f"built index {manifest.version}: {manifest.faq_count} FAQs, {manifest.vector_count} vectors "
        f"({manifest.index_kind}, {manifest.dimension} dims) in {manifest.build_seconds:.1f} s → {store.root}"
    )
    return 0


def _open(settings: Settings) -> KnowledgeBase:
    knowledge_base = KnowledgeBase.open(settings, build_if_missing=False)
    reasons = knowledge_base.is_stale()
    if reasons:
        print(f"kefu: warning: the index is stale ({'; '.join(reasons)}): run `kefu kb build`", file=sys.stderr)
    return knowledge_base


def _search(args: argparse.Namespace, settings: Settings) -> int:
    knowledge_base = _open(settings)
    started = time.perf_counter()
    candidates = knowledge_base.search(args.question, args.k)
    elapsed = (time.perf_counter() - started) * 1000
    decision = knowledge_base.decide(args.question)
    print(f"decision: {decision.kind.value}" + (f" → {decision.faq.id}" if decision.faq else ""))
    for candidate in candidates:
        print(f"  {candidate.score:.4f}  {candidate.faq_id:<14} {candidate.question}")
    thresholds = knowledge_base.thresholds
    print(
        f"thresholds: answer {thresholds.answer:.4f}, margin {thresholds.margin:.4f}, "
        f"clarify {thresholds.clarify:.4f}; search took {elapsed:.1f} ms"
    )
    return 0


def _labelled_results(
    knowledge_base: KnowledgeBase, heldout: Path
) -> tuple[list[Any], list[LabelledResult], list[float]]:
    questions = load_heldout(heldout, knowledge_base.index.catalog)
    knowledge_base.search("预热", 1)  # the first call pays for lazy initialisation; keep it out of the latency
    results, latencies = rank_questions(questions, knowledge_base.search, progress=sys.stderr.isatty())
    return questions, results, latencies


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    knowledge_base = _open(settings)
    heldout = args.heldout or settings.heldout_path
    questions, results, latencies = _labelled_results(knowledge_base, heldout)
    ranking = ranking_report(questions, results)
    decided = outcomes(results, knowledge_base.thresholds)
    latency = latency_summary(latencies)
    figures = {
        "index": knowledge_base.manifest.version,
        "model": knowledge_base.manifest.model_id,
        "questions": len(questions),
        "top1": ranking.top1,
        "recall_at_3": ranking.recall_at_3,
        "thresholds": knowledge_base.thresholds.to_dict(),
        "calibrated": bool(knowledge_base.manifest.calibration),
        # thresholds chosen without the questions they are measured on: the honest decision figures
        "cross_validated": (knowledge_base.manifest.calibration or {}).get("cross_validated"),
        **decided.to_dict(),
        "latency": latency,
    }
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=1))
        return 0
    manifest = knowledge_base.manifest
    print(f"index {manifest.version} ({manifest.model_id}, {manifest.index_kind}, {manifest.vector_count} vectors)")
    print(f"held-out: {len(questions)} questions, {decided.in_scope} in scope, {decided.out_of_scope} out of scope")
    print(f"ranking:  top-1 {ranking.top1:.1%}   recall@3 {ranking.recall_at_3:.1%}")
    source = "calibrated" if manifest.calibration else "defaults, not calibrated"
    thresholds = knowledge_base.thresholds
    print(
        f"decision: answer ≥ {thresholds.answer:.4f}, margin ≥ {thresholds.margin:.4f}, "
        f"clarify ≥ {thresholds.clarify:.4f} ({source})"
    )
    _print_outcomes(decided)
    held_out = (manifest.calibration or {}).get("cross_validated")
    if held_out:
        print(
            f"          cross-validated (each question judged by thresholds calibrated without it): wrong-answer "
            f"rate {held_out['wrong_rate']:.1%}, coverage {held_out['coverage']:.1%}"
        )
    print(f"latency:  p50 {latency['p50_ms']} ms, p95 {latency['p95_ms']} ms (embed + search, one question)")
    if args.misses:
        print("ranked wrong (question → labelled / ranked first):")
        for text, gold, first in ranking.misses:
            print(f"  {text} → {gold} / {first}")
    return 0


def _print_outcomes(decided: Outcomes, indent: str = "          ") -> None:
    print(
        f"{indent}answered {decided.answered} (correct {decided.correct}, wrong {decided.wrong}: "
        f"wrong-answer rate {decided.wrong_rate:.1%}), coverage {decided.coverage:.1%} of in-scope"
    )
    print(
        f"{indent}clarified {decided.clarified} (right FAQ among the options {decided.clarified_helpful}), "
        f"no answer {decided.abstained}"
    )
    print(
        f"{indent}abstain precision {decided.abstain_precision:.1%}, "
        f"recall {decided.abstain_recall:.1%} (out-of-scope questions given no answer)"
    )


def _calibrate(args: argparse.Namespace, settings: Settings) -> int:
    knowledge_base = _open(settings)
    if args.if_uncalibrated and knowledge_base.manifest.calibration:
        calibrated_at = knowledge_base.manifest.calibration.get("calibrated_at", "?")
        print(f"index {knowledge_base.manifest.version} is already calibrated ({calibrated_at})")
        return 0
    heldout = args.heldout or settings.heldout_path
    questions, results, _ = _labelled_results(knowledge_base, heldout)
    chosen = calibrate(results, args.max_wrong_rate)
    folds = [
        outcomes([results[i] for i in test], calibrate([results[i] for i in train], args.max_wrong_rate).thresholds)
        for train, test in cross_validation_folds(results)
    ]
    held = _sum_outcomes(folds)
    thresholds = chosen.thresholds
    print(
        f"thresholds: answer {thresholds.answer:.4f}, margin {thresholds.margin:.4f}, clarify {thresholds.clarify:.4f}"
        f" (wrong answers ≤ {args.max_wrong_rate:.1%} of answers)"
    )
    print("on all held-out questions (what the thresholds were chosen on):")
    _print_outcomes(chosen.outcomes)
    print(f"{len(folds)}-fold cross-validation (each question judged by thresholds calibrated on the other folds):")
    _print_outcomes(held)
    if args.dry_run:
        return 0
    manifest = knowledge_base.manifest
    calibration = {
        "calibrated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "heldout": heldout.name,
        "heldout_sha256": hashlib.sha256(heldout.read_bytes()).hexdigest(),
        "questions": len(questions),
        "data_hash": manifest.data_hash,
        "max_wrong_rate": args.max_wrong_rate,
        "outcomes": chosen.outcomes.to_dict(),
        "cross_validated": {**held.to_dict(), "folds": len(folds)},
    }
    from dataclasses import replace

    IndexStore(settings.index_dir).write_manifest(replace(manifest, thresholds=thresholds, calibration=calibration))
    print(f"stored in {settings.index_dir / manifest.version / 'manifest.json'}")
    return 0


def _sum_outcomes(parts: Sequence[Outcomes]) -> Outcomes:
    fields = Outcomes.__dataclass_fields__
    return Outcomes(**{name: sum(getattr(part, name) for part in parts) for name in fields})


def _pairs(args: argparse.Namespace, settings: Settings) -> int:
    pairs = load_pairs(args.file, args.limit)
    manifest = IndexStore(settings.index_dir).read_manifest()
    threshold = args.threshold
    if threshold is None:
        threshold = manifest.thresholds.answer if manifest is not None else settings.thresholds.answer
    embedder = Embedder(
        settings.embedding_model, cache_size=0, threads=settings.torch_threads, backend=settings.embedding_backend
    )
    started = time.perf_counter()
    scores = pair_scores(pairs, embedder, progress=sys.stderr.isatty())
    elapsed = time.perf_counter() - started
    report = pairs_report(pairs, scores, threshold)
    print(f"{args.file}: {report.pairs} pairs, model {embedder.model_id}, embedded in {elapsed:.1f} s")
    print(f"spearman×100 {report.spearman_x100:.2f}   roc-auc {report.roc_auc:.4f}")
    print(
        f"accuracy {report.accuracy:.2%} at the match threshold {report.threshold:.4f}; "
        f"best {report.best_accuracy:.2%} at {report.best_threshold:.4f}"
    )
    return 0


def _tune(args: argparse.Namespace, settings: Settings) -> int:
    from knowledge_base.tuning import TuningOptions, previous_run, tune

    base = args.base or settings.tuning_base_model
    out = args.out or settings.var_dir / TUNED_MODEL_FOLDER
    options = TuningOptions(
        epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate, seed=args.seed
    )
    if args.if_stale:
        previous = previous_run(base, out, options)
        if previous is not None:
            outcome = f"kept in {out}" if previous["kept"] else "not kept: it did not beat the base model"
            print(f"{base} was already tuned with these options on {previous['tuned_at']} ({outcome})")
            return 0
    result = tune(settings.with_changes(embedding_model=base, torch_threads=max(1, args.threads)), out, options)
    print(result.summary())
    if result.kept:
        print(f"kept the tuned model in {out}; it is the default model while it exists (`kefu kb build` next)")
    else:
        print("the tuned model did not beat the base model: nothing kept")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

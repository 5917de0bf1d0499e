"""The FAQ index: build, search, persist, staleness, versions and the atomic `current` pointer."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from knowledge_base.decision import Thresholds
from knowledge_base.embedder import Embedder
from knowledge_base.exceptions import IndexIncompatibleError, IndexUnavailableError
from knowledge_base.index import KEEP_VERSIONS, FaqIndex, IndexStore, stale_reasons
from knowledge_base.loader import FaqCatalog, load_catalog
from knowledge_base.settings import IndexKind, Settings

THRESHOLDS = Thresholds(answer=0.9, margin=0.05, clarify=0.5)


@pytest.fixture(scope="module")
def embedder(tiny_model: Path) -> Embedder:
    return Embedder(str(tiny_model))


@pytest.fixture
def catalog(settings: Settings) -> FaqCatalog:
    return load_catalog(settings.data_dir)


@pytest.mark.parametrize("kind", list(IndexKind))
def test_search_paraphrase_ranks_its_faq_first_with_every_index_kind(
    kind: IndexKind, catalog: FaqCatalog, embedder: Embedder
) -> None:
    index = FaqIndex.build(catalog, embedder, kind=kind, thresholds=THRESHOLDS)

    found = index.search(embedder.encode_query("提额有什么办法"), k=3)

    assert found[0].faq_id == "limit-001"
    assert found[0].question == "怎么提高额度？"
    assert found[0].score == pytest.approx(1.0, abs=1e-5)
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)


def test_search_faq_score_is_the_best_of_its_wordings(catalog: FaqCatalog, embedder: Embedder) -> None:
    index = FaqIndex.build(catalog, embedder, thresholds=THRESHOLDS)
    question = embedder.encode_query("逾期了会上征信吗")

    [top, *_] = index.search(question, k=3)
    wordings = embedder.encode(list(catalog.get("overdue-001").texts))  # type: ignore[union-attr]

    assert top.faq_id == "overdue-001"
    assert top.score == pytest.approx(float((wordings @ question).max()), abs=1e-5)


def test_search_each_faq_appears_once(catalog: FaqCatalog, embedder: Embedder) -> None:
    index = FaqIndex.build(catalog, embedder, thresholds=THRESHOLDS)

    found = index.search(embedder.encode_query("额度"), k=10)

    assert sorted(c.faq_id for c in found) == ["limit-001", "limit-002", "overdue-001"]


def test_search_vector_of_another_dimension_is_incompatible(catalog: FaqCatalog, embedder: Embedder) -> None:
    index = FaqIndex.build(catalog, embedder, thresholds=THRESHOLDS)

    with pytest.raises(IndexIncompatibleError):
        index.search(embedder.encode_query("额度")[:10], k=3)


def test_manifest_records_model_data_counts_and_thresholds(catalog: FaqCatalog, embedder: Embedder) -> None:
    manifest = FaqIndex.build(catalog, embedder, thresholds=THRESHOLDS).manifest

    assert manifest.model_id == embedder.model_id
    assert manifest.data_hash == catalog.data_hash
    assert (manifest.vector_count, manifest.faq_count, manifest.dimension) == (8, 3, embedder.dimension)
    assert manifest.thresholds == THRESHOLDS
    assert manifest.built_at


def test_publish_then_load_gives_the_same_results(tmp_path: Path, catalog: FaqCatalog, embedder: Embedder) -> None:
    store = IndexStore(tmp_path / "index")
    built = FaqIndex.build(catalog, embedder, kind=IndexKind.HNSW, thresholds=THRESHOLDS)

    version = store.publish(built)
    loaded = store.load()

    assert store.current_version() == version == loaded.manifest.version
    assert (tmp_path / "index" / "current").is_symlink()
    question = embedder.encode_query("最多能有多少额度")
    assert loaded.search(question, 3) == built.search(question, 3)
    assert loaded.faq("limit-002") == catalog.get("limit-002")


def test_publish_keeps_only_the_latest_versions(tmp_path: Path, catalog: FaqCatalog, embedder: Embedder) -> None:
    store = IndexStore(tmp_path / "index")

    versions = [store.publish(FaqIndex.build(catalog, embedder, thresholds=THRESHOLDS)) for _ in range(5)]

    assert store.versions() == versions[-KEEP_VERSIONS:]
    assert store.current_version() == versions[-1]
    assert not [p for p in store.root.iterdir() if p.name.startswith(".staging")]


def test_load_without_any_build_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(IndexUnavailableError, match="kefu kb build"):
        IndexStore(tmp_path / "index").load()


def test_write_manifest_changes_the_stamp(tmp_path: Path, catalog: FaqCatalog, embedder: Embedder) -> None:
    store = IndexStore(tmp_path / "index")
    store.publish(FaqIndex.build(catalog, embedder, thresholds=THRESHOLDS))
    before = store.stamp()
    manifest = store.read_manifest()
    assert manifest is not None

    store.write_manifest(dataclasses.replace(manifest, thresholds=Thresholds(0.95, 0.0, 0.6), calibration={"n": 1}))

    assert store.stamp() != before
    assert store.load().thresholds == Thresholds(0.95, 0.0, 0.6)


def test_stale_reasons_fresh_index_has_none(catalog: FaqCatalog, embedder: Embedder) -> None:
    manifest = FaqIndex.build(catalog, embedder, thresholds=THRESHOLDS).manifest

    reasons = stale_reasons(
        manifest,
        data_hash=catalog.data_hash,
        model_id=embedder.model_id,
        index_kind=IndexKind.FLAT,
        normaliser_id=embedder.normaliser.fingerprint,
    )

    assert reasons == []


def test_stale_reasons_changed_data_model_and_kind_are_all_named(catalog: FaqCatalog, embedder: Embedder) -> None:
    manifest = FaqIndex.build(catalog, embedder, thresholds=THRESHOLDS).manifest

    reasons = stale_reasons(
        manifest, data_hash="other", model_id="other-model", index_kind=IndexKind.HNSW, normaliser_id="other"
    )

    assert len(reasons) == 4
    fresh = stale_reasons(None, data_hash="x", model_id="y", index_kind=IndexKind.FLAT, normaliser_id="z")
    assert fresh == ["no index has been built"]

"""The FAQ knowledge base: validated FAQ files, a versioned vector index, and answer / clarify / no-answer.

Modules, in the order data flows through them:

* :mod:`~knowledge_base.schema`, :mod:`~knowledge_base.loader` — FAQ files → a validated catalog (all or nothing)
* :mod:`~knowledge_base.text`, :mod:`~knowledge_base.embedder` — folding and embedding questions
* :mod:`~knowledge_base.index` — the FAISS index, its manifest, versions and the atomic ``current`` pointer
* :mod:`~knowledge_base.decision` — the decision rule and threshold calibration
* :mod:`~knowledge_base.service` — :class:`~knowledge_base.service.KnowledgeBase`, used by actions and the hub
* :mod:`~knowledge_base.evaluation`, :mod:`~knowledge_base.tuning`, :mod:`~knowledge_base.cli` — ``kefu kb …``

See ``knowledge_base/README.md`` for how a trainer adds an FAQ and what the figures are.
"""

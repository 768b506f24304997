"""Retrieval: language detection, the lexical (BM25) index and hybrid fusion."""

"""Indexing: embedders, the vector store, its crash-safe generations and the indexer."""

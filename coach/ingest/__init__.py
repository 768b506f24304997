"""Ingestion: the corpus format, didactic questions, lint, chunking, advice items and curation."""

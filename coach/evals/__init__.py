"""Evaluation: datasets, suites, metrics, the hub report and the Ragas run."""

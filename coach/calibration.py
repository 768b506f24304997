"""How sure the coach must be before it answers: thresholds on one embedder's own cosine scale."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Calibration:
    """How sure the coach must be before it answers and before it suggests from a document.
    Scores live on an embedder's own cosine scale, so each embedder has its own calibration
    (carried by its entry in `coach.index.embedders.BACKENDS`).

    - grounded: the best chunk cosine is at least `similarity` AND the best document's hybrid
      score (chunk cosine + item cosine + lexical share; coach.retrieve.fusion.Fusion) at
      least `score`: two pieces of evidence, the words and the meaning, must both bear on it;
    - the best document is suggested from; a further one only when its score is within
      `suggest_gap` of the best (as good a fit); one within `related_gap` is listed apart as
      related reading; the rest is left out.
    """

    similarity: float
    score: float
    suggest_gap: float = 0.0
    related_gap: float = 0.15

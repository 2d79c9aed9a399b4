"""Scoring change points against human annotations with the TCPD benchmark's definitions (van den Burg and
Williams 2020): F1 with a margin, and segmentation cover. Index 0 counts as a change point everywhere.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping


def true_positives(truth: Iterable[int], predicted: Iterable[int], margin: int = 5) -> set[int]:
    """Annotated points with a prediction within ``margin``, each prediction used at most once."""
    left = set(predicted)
    found: set[int] = set()
    for tau in sorted(set(truth)):
        close = sorted((abs(tau - x), x) for x in left if abs(tau - x) <= margin)
        if close:
            found.add(tau)
            left.remove(close[0][1])
    return found


def f_measure(annotations: Mapping[str, Iterable[int]], predicted: Iterable[int], margin: int = 5) -> float:
    """F1: precision over the union of all annotators' points, recall averaged over annotators."""
    per_user = [set(points) | {0} for points in annotations.values()]
    if not per_user:
        raise ValueError("no annotator")
    guess = set(predicted) | {0}
    union = set().union(*per_user)
    precision = len(true_positives(union, guess, margin)) / len(guess)
    recall = sum(len(true_positives(t, guess, margin)) / len(t) for t in per_user) / len(per_user)
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def partition(points: Iterable[int], length: int) -> list[set[int]]:
    """The segments of ``range(length)`` that change points start."""
    bounds = sorted({p for p in points if 0 < p < length} | {0, length})
    return [set(range(a, b)) for a, b in itertools.pairwise(bounds)]


def cover_single(predicted: list[set[int]], truth: list[set[int]]) -> float:
    """Covering of the segmentation ``truth`` by ``predicted`` (Arbelaez et al. 2010, eq. 8)."""
    total = sum(len(a) for a in truth)
    score = 0.0
    for a in truth:
        score += len(a) * max(len(a & b) / len(a | b) for b in predicted)
    return score / total


def covering(annotations: Mapping[str, Iterable[int]], predicted: Iterable[int], length: int) -> float:
    """Cover averaged over annotators."""
    guess = partition(predicted, length)
    scores = [cover_single(guess, partition(points, length)) for points in annotations.values()]
    if not scores:
        raise ValueError("no annotator")
    return sum(scores) / len(scores)

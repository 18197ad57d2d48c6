"""Precision and recall of whole-value PII detection on a labelled sample (printed, with floors)."""

from __future__ import annotations

from collections import Counter

import pytest

from pii.labelled_sample import build
from tenantflow.pii.detectors import classify_value, detectors, find_in_text

PRECISION_FLOOR = 0.95
RECALL_FLOOR = 0.9


@pytest.fixture(scope="module")
def scored() -> tuple[list[tuple[str, str | None]], list[str | None]]:
    sample = build()
    return sample, [classify_value(value) for value, _ in sample]


def test_sample_is_large_and_covers_every_type(scored) -> None:
    sample, _ = scored
    labels = Counter(label for _, label in sample)
    assert len(sample) >= 200
    assert labels[None] >= 100, "tricky negatives are half the point"
    assert {d.name for d in detectors()} <= set(labels)


def test_precision_and_recall_per_type(scored, capsys) -> None:
    sample, predicted = scored
    report, failures = [], []
    for pii_type in (d.name for d in detectors()):
        tp = sum(1 for (_, label), p in zip(sample, predicted, strict=True) if p == pii_type and label == pii_type)
        fp = sum(1 for (_, label), p in zip(sample, predicted, strict=True) if p == pii_type and label != pii_type)
        fn = sum(1 for (_, label), p in zip(sample, predicted, strict=True) if p != pii_type and label == pii_type)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        report.append(f"{pii_type:12s} n={tp + fn:3d} precision={precision:.3f} recall={recall:.3f} (fp={fp}, fn={fn})")
        if precision < PRECISION_FLOOR or recall < RECALL_FLOOR:
            failures.append(pii_type)
    with capsys.disabled():
        print(f"\nPII detection on {len(sample)} labelled values:\n  " + "\n  ".join(report))
    misses = [(v, label, p) for (v, label), p in zip(sample, predicted, strict=True) if label != p]
    assert not failures, f"below floors for {failures}; misclassified (value, label, predicted): {misses}"


def test_no_negative_is_flagged_as_any_type(scored) -> None:
    sample, predicted = scored
    pairs = zip(sample, predicted, strict=True)
    flagged = [(value, p) for (value, label), p in pairs if label is None and p is not None]
    # a few ambiguous look-alikes may slip through, but not more than 2% of the negatives
    negatives = sum(1 for _, label in sample if label is None)
    assert len(flagged) <= 0.02 * negatives, flagged


TEMPLATES = ("Contact: {}.", "please use {} for this order", "{}", "ref ({}) noted")


def test_precision_and_recall_of_embedded_pii_in_free_text(capsys) -> None:
    sample = [(TEMPLATES[i % len(TEMPLATES)].format(value), label) for i, (value, label) in enumerate(build())]
    predicted = [(hit or (None, None))[0] for hit in map(find_in_text, (text for text, _ in sample))]
    report, failures = [], []
    for pii_type in (d.name for d in detectors()):
        pairs = list(zip((label for _, label in sample), predicted, strict=True))
        tp = sum(1 for label, p in pairs if p == pii_type and label == pii_type)
        fp = sum(1 for label, p in pairs if p == pii_type and label != pii_type)
        fn = sum(1 for label, p in pairs if p != pii_type and label == pii_type)
        precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
        report.append(f"{pii_type:12s} precision={precision:.3f} recall={recall:.3f} (fp={fp}, fn={fn})")
        if precision < PRECISION_FLOOR or recall < RECALL_FLOOR:
            failures.append(pii_type)
    with capsys.disabled():
        print(f"\nEmbedded PII in {len(sample)} free-text values:\n  " + "\n  ".join(report))
    misses = [(text, label, p) for (text, label), p in zip(sample, predicted, strict=True) if label != p]
    assert not failures, f"below floors for {failures}; misclassified (text, label, predicted): {misses}"

r"""Metrics every model reports: regression errors and binary-classification ROC quantities.

Classification conventions: label 1 = signal (positive), 0 = background; a cut ``score >= t`` has
true-positive rate ``eps_S`` and false-positive rate ``eps_B``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["accuracy", "auc", "auc_standard_error", "mae", "rmse", "roc_curve"]


def _pair(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, target = np.asarray(pred, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if pred.shape != target.shape or pred.size == 0:
        raise ValueError(f"predictions and targets must be non-empty arrays of one shape, got {pred.shape} "
                         f"and {target.shape}")
    if not (np.all(np.isfinite(pred)) and np.all(np.isfinite(target))):
        raise ValueError("predictions or targets contain NaN or infinite values")
    return pred, target


def mae(pred: np.ndarray, target: np.ndarray) -> float:
    r"""Mean absolute error :math:`\frac1n \sum_i |p_i - t_i|`.

    >>> mae(np.array([1.0, 2.0]), np.array([0.0, 4.0]))
    1.5
    """
    pred, target = _pair(pred, target)
    return float(np.mean(np.abs(pred - target)))


def rmse(pred: np.ndarray, target: np.ndarray) -> float:
    r"""Root-mean-square error :math:`\sqrt{\frac1n \sum_i (p_i - t_i)^2}`.

    >>> rmse(np.array([1.0, 2.0]), np.array([0.0, 4.0]))
    1.5811388300841898
    """
    pred, target = _pair(pred, target)
    return float(np.sqrt(np.mean((pred - target) ** 2)))


def _check(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    if labels.ndim != 1 or labels.shape != scores.shape:
        raise ValueError(f"labels and scores must be 1-d arrays of equal length, got {labels.shape} and "
                         f"{scores.shape}")
    if not np.all(np.isin(labels, (0, 1))):
        raise ValueError("labels must be 0 (background) or 1 (signal)")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores contain NaN or infinite values")
    if labels.sum() == 0 or labels.sum() == len(labels):
        raise ValueError("both classes must be present")
    return labels.astype(bool), scores


def accuracy(labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> float:
    """Fraction of samples with ``(score >= threshold) == label``.

    >>> accuracy(np.array([0, 1, 1]), np.array([0.2, 0.9, 0.4]))
    0.6666666666666666
    """
    labels, scores = _check(labels, scores)
    return float(np.mean((scores >= threshold) == labels))


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(eps_B, eps_S, thresholds)`` for the cuts ``score >= t``, ``t`` running over the distinct scores
    in decreasing order; the curve starts at ``(0, 0)`` (``t = +inf``) and ends at ``(1, 1)``.  Tied
    scores form one point, so the curve is the exact step/diagonal ROC.

    >>> eps_b, eps_s, _ = roc_curve(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    >>> eps_b.tolist(), eps_s.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    labels, scores = _check(labels, scores)
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # last index of each distinct score
    tp, fp = np.cumsum(y)[last], np.cumsum(~y)[last]
    eps_s = np.r_[0.0, tp / y.sum()]
    eps_b = np.r_[0.0, fp / (~y).sum()]
    return eps_b, eps_s, np.r_[np.inf, s[last]]


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (trapezoids; equals the Mann–Whitney probability that a random signal
    sample scores above a random background sample, ties counting 1/2).

    >>> auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    eps_b, eps_s, _ = roc_curve(labels, scores)
    return float(np.sum(np.diff(eps_b) * (eps_s[1:] + eps_s[:-1]) / 2))


def auc_standard_error(labels: np.ndarray, scores: np.ndarray) -> float:
    r"""Statistical standard error of the AUC ``A`` (Hanley & McNeil, Radiology 143 (1982) 29):

    .. math:: \sigma^2 = \frac{A(1-A) + (n_S - 1)(Q_1 - A^2) + (n_B - 1)(Q_2 - A^2)}{n_S n_B},
              \quad Q_1 = \frac{A}{2 - A}, \quad Q_2 = \frac{2A^2}{1 + A}.

    >>> round(auc_standard_error(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])), 4)
    0.2763
    """
    labels, scores = _check(labels, scores)
    a, n_s, n_b = auc(labels, scores), int(labels.sum()), int((~labels).sum())
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n_s - 1) * (q1 - a * a) + (n_b - 1) * (q2 - a * a)) / (n_s * n_b)
    return float(np.sqrt(max(var, 0.0)))

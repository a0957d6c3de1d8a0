"""Sampling covariance of dependent effect sizes: :func:`vcalc` and :func:`block_diag`.

When several effect sizes come from the same participants (several outcomes or
time points of one study), their sampling errors are correlated. Rarely is the
correlation reported; the usual practice is to assume one (``rho``) and build
the block-diagonal covariance matrix ``V``, one block per study, then check how
the conclusions move with ``rho`` (a sensitivity analysis). ``V`` goes to
:meth:`metapool.MultilevelModel.fit` as ``V=``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from metapool._moderators import group_codes, read_cells
from metapool._warnings import warn
from metapool.exceptions import (
    DegenerateDataWarning,
    InvalidDataError,
    InvalidParameterError,
    MetapoolTypeError,
)

__all__ = ["block_diag", "vcalc"]

Array = NDArray[np.float64]


def _ids(owner: str, name: str, values: Any, k: int) -> NDArray[np.intp]:
    cells, _ = read_cells(owner, f"'{name}'", values)
    if cells.size != k:
        raise InvalidDataError(
            f"{owner}: '{name}' has {cells.size} values; expected one per effect size ({k})."
        )
    need = f"every effect size needs a '{name}' value"
    codes, _ = group_codes(owner, f"'{name}'", cells, np.arange(k), [None] * k, need)
    return codes


def vcalc(
    vi: ArrayLike, cluster: Any, obs: Any = None, *, rho: float, check_pd: bool = True
) -> Array:
    """Block-diagonal sampling covariance with an assumed within-cluster correlation.

    ``V[i, j] = r_ij · sqrt(vi_i · vi_j)`` for effect sizes ``i`` and ``j`` of the
    same cluster, 0 across clusters, where ``r_ij = 1`` if they are the same
    observation (equal ``obs``) and ``rho`` otherwise. This is metafor's
    ``vcalc(vi, cluster, obs, rho)``.

    Parameters
    ----------
    vi : array_like
        Sampling variances, one per effect size (> 0).
    cluster : array_like
        Cluster (study) of each effect size; numbers or text.
    obs : array_like, optional
        Observation (outcome, time point) of each effect size within its cluster;
        effect sizes of one cluster with equal ``obs`` are perfectly correlated. By
        default every effect size is a different observation (metafor's ``vcalc``
        without ``obs`` treats them all as the same one, correlation 1, and ignores
        ``rho``: pass ``obs`` to reproduce that).
    rho : float
        Correlation between different observations of a cluster, in [-1, 1].
    check_pd : bool, default True
        Warn (:class:`~metapool.exceptions.DegenerateDataWarning`) naming the
        clusters whose block is not positive definite (as metafor's ``checkpd``).

    Returns
    -------
    ndarray
        The ``k × k`` covariance matrix, rows in the order of ``vi``.

    Raises
    ------
    InvalidParameterError
        If ``rho`` is not a number in [-1, 1].
    InvalidDataError
        If ``vi`` has a value that is not finite and > 0, or ``cluster``/``obs`` has
        the wrong length or a missing value.

    References
    ----------
    .. [1] Viechtbauer W. vcalc: construct or approximate the variance-covariance
       matrix of dependent effect sizes. metafor R package, version 3.8.
    .. [2] Pustejovsky JE, Tipton E (2022). Meta-analysis with robust variance
       estimation: expanding the range of working models. Prev Sci 23:425-438.

    Examples
    --------
    >>> import metapool as mp
    >>> mp.vcalc([0.1, 0.2, 0.4], cluster=[1, 1, 2], rho=0.5).round(4).tolist()
    [[0.1, 0.0707, 0.0], [0.0707, 0.2, 0.0], [0.0, 0.0, 0.4]]
    """
    owner = "vcalc"
    if isinstance(rho, bool) or not isinstance(rho, (int, float, np.integer, np.floating)):
        raise InvalidParameterError(
            f"The 'rho' parameter of vcalc must be a number in [-1, 1]. Got {rho!r} instead."
        )
    if not -1.0 <= float(rho) <= 1.0:
        raise InvalidParameterError(
            f"The 'rho' parameter of vcalc must be in [-1, 1]. Got {rho!r} instead."
        )
    try:
        v = np.asarray(vi, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MetapoolTypeError(f"vcalc: 'vi' must be numbers ({exc}).") from exc
    if v.ndim != 1 or v.size == 0:
        raise InvalidDataError(f"vcalc: 'vi' must be one-dimensional and non-empty; got {v.shape}.")
    bad = np.flatnonzero(~(np.isfinite(v) & (v > 0)))
    if bad.size:
        raise InvalidDataError(
            f"vcalc: 'vi' must be finite and > 0; effect size {bad[0] + 1} has "
            f"{float(v[bad[0]])!r}."
        )
    k = v.size
    cl = _ids(owner, "cluster", cluster, k)
    ob = np.arange(k) if obs is None else _ids(owner, "obs", obs, k)
    same_cluster = cl[:, None] == cl[None, :]
    r = np.where(ob[:, None] == ob[None, :], 1.0, float(rho))
    sd = np.sqrt(v)
    V = np.where(same_cluster, r * np.outer(sd, sd), 0.0)
    np.fill_diagonal(V, v)
    if check_pd:
        failing = []
        for c in np.unique(cl).tolist():
            rows = np.flatnonzero(cl == c)
            eig = np.linalg.eigvalsh(V[np.ix_(rows, rows)]) if rows.size > 1 else None
            # Singular up to rounding counts as not positive definite.
            if eig is not None and eig[0] <= 1e-12 * eig[-1]:
                failing.append(int(rows[0]) + 1)
        if failing:
            warn(
                "vcalc: the covariance block of the cluster(s) starting at effect size(s) "
                f"{failing[:10]} is not positive definite (e.g. equal 'obs' with rho = 1).",
                DegenerateDataWarning,
            )
    return V


def block_diag(blocks: Sequence[ArrayLike]) -> Array:
    """The block-diagonal matrix of square ``blocks`` (metafor's ``bldiag``).

    Parameters
    ----------
    blocks : sequence of array_like
        Square matrices (a number is a 1 × 1 block).

    Returns
    -------
    ndarray

    Raises
    ------
    InvalidDataError
        If a block is not square.

    Examples
    --------
    >>> import metapool as mp
    >>> mp.block_diag([[[1, 0.5], [0.5, 1]], 2]).tolist()
    [[1.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 2.0]]
    """
    mats = []
    for j, b in enumerate(blocks):
        m = np.atleast_2d(np.asarray(b, dtype=np.float64))
        if m.ndim != 2 or m.shape[0] != m.shape[1]:
            raise InvalidDataError(
                f"block_diag: block {j + 1} must be a square matrix; got shape {m.shape}."
            )
        mats.append(m)
    n = sum(m.shape[0] for m in mats)
    out = np.zeros((n, n))
    at = 0
    for m in mats:
        s = m.shape[0]
        out[at : at + s, at : at + s] = m
        at += s
    return out

"""Number formatting in the styles reviewers know (RevMan, metafor)."""

from __future__ import annotations

import math

__all__ = ["fmt", "fmt_p_metafor", "fmt_p_revman"]


def fmt(x: float | None, digits: int = 4) -> str:
    """Fixed-point number, or ``"NA"`` for a missing value."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    return f"{x:.{digits}f}"


def fmt_p_revman(p: float) -> str:
    """RevMan's P-value style: ``P < 0.00001``, else ``P = `` rounded at its first
    significant digit but with at least two decimals (``P = 0.03``, ``P = 0.004``).

    Examples
    --------
    >>> fmt_p_revman(0.0269), fmt_p_revman(0.00412), fmt_p_revman(3e-8), fmt_p_revman(0.127)
    ('P = 0.03', 'P = 0.004', 'P < 0.00001', 'P = 0.13')
    """
    if math.isnan(p):
        return "P = NA"
    if p < 0.00001:
        return "P < 0.00001"
    decimals = max(2, -math.floor(math.log10(p))) if p > 0 else 5
    return f"P = {p:.{decimals}f}"


def fmt_p_metafor(p: float) -> str:
    """metafor's style: ``<.0001`` or four decimals without the leading zero.

    Examples
    --------
    >>> fmt_p_metafor(0.12694), fmt_p_metafor(1e-6)
    ('0.1269', '<.0001')
    """
    if math.isnan(p):
        return "NA"
    if p < 0.0001:
        return "<.0001"
    return f"{p:.4f}"

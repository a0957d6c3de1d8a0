"""Named bundles of defaults: the conventions of metafor and of RevMan 5.

A convention fixes, in one word, every choice on which the two reference
programs differ. Pass ``convention="revman5"`` to an effect-size class or a
model; any setting given explicitly still wins.

==========================  ==========================  ==============================
setting                     ``"metafor"`` (default)     ``"revman5"``
==========================  ==========================  ==============================
τ² estimator                REML                        DerSimonian–Laird (DL)
CI for the pooled effect    Wald z                      Wald z
I² and H²                   from τ² (``"tau2"``)        from Q (``"q"``)
SMD bias correction         exact (gamma function)      approximate 1 − 3/(4N − 9)
SMD variance                ``"LS"``: 1/n1 + 1/n2       ``"revman"``: N/(n1 n2)
                            + g²/(2N)                   + g²/(2(N − 3.94))
zero cells (RR, OR, RD)     +0.5 to all four cells      +0.5 to all four cells
                            of zero-cell studies        of zero-cell studies
double-zero studies         kept (corrected)            dropped for RR and OR
(RR, OR)                                                ("not estimable")
MH heterogeneity            Q around the MH estimate    Q around the MH estimate
==========================  ==========================  ==============================
"""

from __future__ import annotations

import attrs

from metapool._config import get_config, register_setting
from metapool.exceptions import InvalidParameterError

__all__ = ["CONVENTIONS", "Convention", "get_convention"]


@attrs.frozen(kw_only=True)
class Convention:
    """A named set of defaults shared by effect sizes and models.

    Attributes
    ----------
    name : str
        Name of the convention.
    tau2 : str
        Default τ² estimator of :class:`~metapool.RandomEffects`.
    ci : str
        Default method for the confidence interval of the pooled effect.
    i2 : {"tau2", "q"}
        How I² and H² are computed: from τ² and the typical within-study
        variance (Higgins & Thompson 2002, as metafor) or from Q (as RevMan 5).
    prediction : {"metafor", "higgins"}
        Default prediction-interval method.
    smd_correction : {"exact", "approx", "none"}
        Small-sample correction of the SMD.
    smd_variance : {"LS", "UB", "revman"}
        Variance formula of the SMD.
    continuity : float
        Value added to cells for zero-cell studies.
    continuity_to : {"zero", "all", "none"}
        Which studies get the continuity correction.
    double_zero : {"keep", "drop"}
        What to do with RR/OR studies that have no events (or only events) in both arms.
    md_variance : {"unpooled", "pooled"}
        Variance of the mean difference (both programs: unpooled).
    """

    name: str
    tau2: str = "REML"
    ci: str = "z"
    i2: str = "tau2"
    prediction: str = "metafor"
    smd_correction: str = "exact"
    smd_variance: str = "LS"
    continuity: float = 0.5
    continuity_to: str = "zero"
    double_zero: str = "keep"
    md_variance: str = "unpooled"


CONVENTIONS: dict[str, Convention] = {
    "metafor": Convention(name="metafor"),
    "revman5": Convention(
        name="revman5",
        tau2="DL",
        ci="z",
        i2="q",
        prediction="metafor",
        smd_correction="approx",
        smd_variance="revman",
        continuity=0.5,
        continuity_to="zero",
        double_zero="drop",
    ),
}


def get_convention(convention: str | Convention | None, owner: str | None = None) -> Convention:
    """Return the :class:`Convention` named ``convention`` (or ``convention`` itself);
    ``None`` means the session default (:func:`metapool.set_config`, ``"metafor"``
    unless set).

    ``owner`` (the class whose parameter this is) is named in the error message.

    Examples
    --------
    >>> from metapool.conventions import get_convention
    >>> get_convention("revman5").tau2
    'DL'
    """
    if isinstance(convention, Convention):
        return convention
    if convention is None:
        convention = str(get_config()["convention"])
    if isinstance(convention, str) and convention.lower() in CONVENTIONS:
        return CONVENTIONS[convention.lower()]
    names = ", ".join(repr(n) for n in CONVENTIONS)
    raise InvalidParameterError(
        f"The 'convention' parameter{' of ' + owner if owner else ''} must be one of "
        f"{names} or a Convention. "
        f"Got {convention!r} instead."
    )


register_setting("convention", lambda value: get_convention(value, "set_config").name)

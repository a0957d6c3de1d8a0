"""Named bundles of defaults: the conventions of metafor, RevMan 5 and RevMan Web.

A convention fixes, in one word, every choice on which the two reference
programs differ. Pass ``convention="revman5"`` to an effect-size class or a
model; any setting given explicitly still wins.

Each setting, as ``"metafor"`` (the default) / ``"revman5"``; ``"revman-web"`` is
``"revman5"`` except where said:

* τ² estimator (``tau2``): REML / DerSimonian–Laird (DL).
* CI for the pooled effect (``ci``): Wald z / Wald z.
* I² and H² (``i2``): from τ² (``"tau2"``) / from Q (``"q"``).
* SMD bias correction (``smd_correction``): exact (gamma function) /
  approximate, 1 − 3/(4N − 9).
* SMD variance (``smd_variance``): ``"LS"``, 1/n1 + 1/n2 + g²/(2N) /
  ``"revman"``, N/(n1 n2) + g²/(2(N − 3.94)).
* zero cells, RR, OR, RD (``continuity``, ``continuity_to``): +0.5 to all four
  cells of zero-cell studies, under both.
* RD of a zero-cell study (``rd_estimate``): from the corrected cells
  (``"corrected"``) / from the raw counts, only its SE from the corrected cells
  (``"raw"``).
* double-zero studies, RR and OR (``double_zero``): kept, corrected / dropped
  ("not estimable").
* every participant had the event, RR and OR (``all_events``): a double-zero
  study (``"double-zero"``) / the same; ``"revman-web"``: RR = OR = 1 with the SE
  from the corrected cells, pooled (``"null"``).
* MD and SMD with an arm of n = 1 (``md_min_n``): refused, 2 (the SD of one
  value is undefined) / computed with the SD as entered, 1 (the SMD needs
  n1 + n2 >= 3 for its pooled SD).
* Mantel–Haenszel tables of zero-cell studies, RR and OR (``mh_tables``): raw
  counts (``"raw"``) / the 0.5-corrected tables, N + 2, in the sums
  (``"corrected"``); the RD uses the raw counts under both. Under
  ``"revman-web"`` a study given RR = OR = 1 by the all-events rule enters the
  sums with RR = OR = 1 (its R term equal to its S term, from the corrected table).
* Mantel–Haenszel heterogeneity: Q around the MH estimate, under both.

"M-H, Random" (``MantelHaenszel(random=True)``) takes DerSimonian–Laird's τ² from
the Q around the M-H estimate under every convention.
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
    rd_estimate : {"corrected", "raw"}
        The risk difference of a zero-cell study: from the continuity-corrected
        cells (metafor's ``escalc``) or from the raw counts, with only its variance
        from the corrected cells (RevMan).
    all_events : {"double-zero", "null"}
        RR/OR studies in which every participant in both arms had the event:
        handled as double-zero studies (``double_zero``), or given the null
        effect (RR = OR = 1) with the variance from the corrected cells and
        pooled (RevMan Web).
    md_min_n : int
        Smallest arm size accepted by the mean difference and the SMD: 2
        (metafor: the SD of one value is undefined) or 1 (RevMan: the SD as
        entered; the SMD also needs n1 + n2 >= 3 for its pooled SD).
    mh_tables : {"raw", "corrected"}
        The 2×2 tables of zero-cell studies in the Mantel–Haenszel sums of RR and
        OR: as given (metafor's ``rma.mh``) or with the continuity correction
        (RevMan, N + 2); the RD always uses the raw counts.
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
    rd_estimate: str = "corrected"
    all_events: str = "double-zero"
    md_min_n: int = 2
    mh_tables: str = "raw"


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
        rd_estimate="raw",
        all_events="double-zero",
        md_min_n=1,
        mh_tables="corrected",
    ),
}
CONVENTIONS["revman-web"] = attrs.evolve(
    CONVENTIONS["revman5"], name="revman-web", all_events="null"
)


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

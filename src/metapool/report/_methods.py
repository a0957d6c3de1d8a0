"""The methods paragraph of a report, written from the settings a result was fitted with,
and the references it cites."""

from __future__ import annotations

from typing import Any

__all__ = ["REFERENCES", "methods_text"]

#: Reference key -> citation.
REFERENCES: dict[str, str] = {
    "DL": "DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. Control Clin "
    "Trials 7:177-188.",
    "Viechtbauer2005": "Viechtbauer W (2005). Bias and efficiency of meta-analytic variance "
    "estimators in the random-effects model. J Educ Behav Stat 30:261-293.",
    "PM": "Paule RC, Mandel J (1982). Consensus values and weighting factors. J Res Natl Bur "
    "Stand 87:377-385.",
    "EB": "Morris CN (1983). Parametric empirical Bayes inference: theory and applications. "
    "J Am Stat Assoc 78:47-55.",
    "SJ": "Sidik K, Jonkman JN (2005). Simple heterogeneity variance estimation for "
    "meta-analysis. J R Stat Soc C 54:367-384.",
    "HE": "Hedges LV, Olkin I (1985). Statistical Methods for Meta-Analysis. Academic Press.",
    "HS": "Hunter JE, Schmidt FL (2004). Methods of Meta-Analysis, 2nd ed. Sage.",
    "HK": "Hartung J, Knapp G (2001). A refined method for the meta-analysis of controlled "
    "clinical trials with binary outcome. Stat Med 20:3875-3889.",
    "IntHout2014": "IntHout J, Ioannidis JPA, Borm GF (2014). The Hartung-Knapp-Sidik-Jonkman "
    "method for random effects meta-analysis is straightforward and considerably outperforms "
    "the standard DerSimonian-Laird method. BMC Med Res Methodol 14:25.",
    "MH": "Mantel N, Haenszel W (1959). Statistical aspects of the analysis of data from "
    "retrospective studies of disease. J Natl Cancer Inst 22:719-748.",
    "GR": "Greenland S, Robins JM (1985). Estimation of a common effect parameter from sparse "
    "follow-up data. Biometrics 41:55-68.",
    "Peto": "Yusuf S, Peto R, Lewis J, Collins R, Sleight P (1985). Beta blockade during and "
    "after myocardial infarction: an overview of the randomized trials. Prog Cardiovasc Dis "
    "27:335-371.",
    "I2": "Higgins JPT, Thompson SG (2002). Quantifying heterogeneity in a meta-analysis. "
    "Stat Med 21:1539-1558.",
    "QP": "Viechtbauer W (2007). Confidence intervals for the amount of heterogeneity in "
    "meta-analysis. Stat Med 26:37-52.",
    "PI": "Riley RD, Higgins JPT, Deeks JJ (2011). Interpretation of random effects "
    "meta-analyses. BMJ 342:d549.",
    "Higgins2009": "Higgins JPT, Thompson SG, Spiegelhalter DJ (2009). A re-evaluation of "
    "random-effects meta-analysis. J R Stat Soc A 172:137-159.",
    "Sterne2011": "Sterne JAC, Sutton AJ, Ioannidis JPA, et al. (2011). Recommendations for "
    "examining and interpreting funnel plot asymmetry in meta-analyses of randomised "
    "controlled trials. BMJ 343:d4002.",
}

_TAU2 = {
    "DL": ("the DerSimonian-Laird method of moments", ["DL"]),
    "REML": ("restricted maximum likelihood", ["Viechtbauer2005"]),
    "REML-FS": (
        "restricted maximum likelihood (Fisher scoring, as RevMan Web)",
        ["Viechtbauer2005"],
    ),
    "ML": ("maximum likelihood", ["Viechtbauer2005"]),
    "PM": ("the Paule-Mandel method", ["PM"]),
    "EB": ("the empirical Bayes method", ["EB"]),
    "SJ": ("the Sidik-Jonkman method", ["SJ"]),
    "HE": ("the Hedges method of moments", ["HE"]),
    "HS": ("the Hunter-Schmidt method", ["HS"]),
    "fixed": ("a fixed value", []),
}
_CI = {
    "z": ("a Wald-type interval from the normal distribution", []),
    "t": ("a Wald-type interval with the t distribution on k - 1 degrees of freedom", []),
    "hksj": (
        "an interval by the Hartung-Knapp-Sidik-Jonkman method (t distribution on k - 1 "
        "degrees of freedom)",
        ["HK", "IntHout2014"],
    ),
    "hksj-adhoc": (
        "an interval by the Hartung-Knapp-Sidik-Jonkman method with the ad hoc correction that "
        "keeps it no narrower than the Wald interval",
        ["HK", "IntHout2014"],
    ),
}


def _plural(name: str) -> str:
    return name if name.endswith("s") else name + "s"


def methods_text(result: Any, cite: list[str]) -> str:
    """One paragraph describing how ``result`` (a MetaResult) was computed.

    Citations are numbered in ``cite`` (keys of :data:`REFERENCES`, appended in
    the order of first use) and written ``[n]``.
    """

    def ref(*keys: str) -> str:
        numbers = []
        for key in keys:
            if key not in cite:
                cite.append(key)
            numbers.append(str(cite.index(key) + 1))
        return f" [{', '.join(numbers)}]" if numbers else ""

    measure = result.measure
    pct = round(100 * result.level)
    model = type(result.model).__name__
    effect = _plural(measure.name)
    parts: list[str] = []
    random = result.tau2_method is not None
    if model == "MantelHaenszel":
        parts.append(
            f"{effect[0].upper()}{effect[1:]} were pooled with the Mantel-Haenszel method"
            f"{ref('MH', 'GR')}"
            + (" in a random-effects model" if random else " (common-effect model)")
        )
    elif model == "Peto":
        parts.append(
            f"Odds ratios were pooled with Peto's method{ref('Peto')} (common-effect model)"
        )
    else:
        kind = "a random-effects model" if random else "a common-effect (inverse-variance) model"
        parts.append(f"{effect[0].upper()}{effect[1:]} were pooled by inverse variance in {kind}")
    if not measure.scale.is_identity:
        parts[-1] += f", on the {measure.scale.name} scale"
    text = parts[0] + "."
    if random:
        how, keys = _TAU2.get(result.tau2_method, (f"the {result.tau2_method} estimator", []))
        text += f" The between-study variance \u03c4\u00b2 was estimated with {how}{ref(*keys)}"
        text += f", with a Q-profile {pct}% confidence interval{ref('QP')}."
    ci_how, ci_keys = _CI.get(result.ci_method, (f"the {result.ci_method} method", []))
    text += f" The {pct}% confidence interval of the pooled effect is {ci_how}{ref(*ci_keys)}."
    if random:
        if result.pi_method == "higgins":
            text += (
                f" The {pct}% prediction interval uses the t distribution on k - 2 degrees of "
                f"freedom{ref('Higgins2009')}."
            )
        else:
            text += (
                f" The {pct}% prediction interval{ref('PI')} uses the same distribution as the "
                "confidence interval."
            )
    i2 = "from \u03c4\u00b2" if result.i2_method == "tau2" else "from Cochran's Q"
    text += f" Heterogeneity is described by Cochran's Q, I\u00b2 (computed {i2}){ref('I2')}" + (
        " and \u03c4\u00b2." if random else "."
    )
    if result.excluded:
        text += f" {len(result.excluded)} studies could not be analysed (listed below)."
    return text

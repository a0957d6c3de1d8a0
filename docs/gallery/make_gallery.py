"""Draw the images of the plot gallery (docs/gallery.rst) into docs/gallery/.

Run from anywhere::

    python docs/gallery/make_gallery.py

The published data sets come from the pinned metafor reference
(tests/reference/pooling.json); the 100-study example is simulated
with a fixed seed. Images are PNG at 130 dpi (110 for the 100-study plot)
with a 64-colour palette, small enough to commit.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "src"))

import metapool as mp  # noqa: E402

DPI = 130
DPI_LONG = 110  # the 100-study plot is 20 inches tall
REFERENCE = ROOT / "tests" / "reference" / "pooling.json"

#: dat.bcg's method of treatment allocation (Colditz et al. 1994), in the
#: order of the 13 trials in the reference file.
BCG_ALLOCATION = ["Random"] * 4 + ["Alternate"] * 2 + ["Random"] * 3 + ["Systematic"] * 4


def dataset(name: str) -> dict[str, Any]:
    data = json.loads(REFERENCE.read_text(encoding="utf-8"))
    return next(d for d in data["datasets"] if d["name"] == name)


def binary(name: str, cls: type[mp.EffectSet]) -> mp.EffectSet:
    ds = dataset(name)
    return cls(**ds["input"], labels=ds["labels"])  # type: ignore[call-arg]


def continuous_md(name: str) -> mp.EffectSet:
    ds = dataset(name)
    return mp.MeanDifference(**ds["input"], labels=ds["labels"])


def generic(name: str, measure: str) -> mp.EffectSet:
    ds = dataset(name)
    return mp.GenericEffect(
        yi=ds["input"]["yi"], vi=ds["input"]["vi"], labels=ds["labels"], measure=measure
    )


def simulated_trials(k: int = 100, seed: int = 20240611) -> tuple[mp.EffectSet, list[int]]:
    """``k`` two-arm trials with a binary outcome (true log OR -0.25, tau 0.2), and years."""
    rng = np.random.default_rng(seed)
    n1 = rng.integers(40, 900, size=k)
    n2 = n1 + rng.integers(-20, 21, size=k)
    p2 = rng.uniform(0.08, 0.35, size=k)
    log_or = rng.normal(-0.25, 0.2, size=k)
    odds1 = p2 / (1 - p2) * np.exp(log_or)
    p1 = odds1 / (1 + odds1)
    events1, events2 = rng.binomial(n1, p1), rng.binomial(n2, p2)
    years = sorted(int(y) for y in rng.integers(1985, 2024, size=k))
    authors = rng.choice(
        [
            "Smith",
            "Garcia",
            "Nakamura",
            "Okafor",
            "Lindqvist",
            "Moreau",
            "Rossi",
            "Kowalski",
            "Chen",
            "Haddad",
            "Novak",
            "Silva",
            "Brown",
            "Müller",
            "Ivanova",
            "Patel",
        ],
        size=k,
    )
    labels = [f"{a} et al." for a in authors]
    labels[17] = "Multicentre Randomised Evaluation of Early Treatment (MREET)"
    labels[63] = "Scandinavian Collaborative Prevention Trial, extended follow-up"
    effects = mp.OddsRatio(events1=events1, n1=n1, events2=events2, n2=n2, labels=labels)
    return effects, years


def shrink(path: Path) -> None:
    """Re-save a PNG with a 64-colour palette: a third of the size, looks the same."""
    from PIL import Image  # Pillow, a dependency of matplotlib

    with Image.open(path) as im:
        small = im.convert("RGB").quantize(
            colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
    small.save(path, optimize=True)


def diagnostic_plots(keep: Any) -> None:
    """Baujat, radial, L'Abbé, bubble and GOSH plots of the BCG trials (REML), the
    forest plots of their leave-one-out and cumulative analyses, and forest plots
    at the widths of one and of two journal columns."""
    diag = json.loads((ROOT / "tests" / "reference" / "diagnostic_plots.json").read_text())
    effects = binary("bcg_rr", mp.RiskRatio)
    reml = mp.RandomEffects().fit(effects)
    keep(mp.baujat_plot(reml), "baujat_bcg.png")
    keep(mp.radial_plot(reml), "radial_bcg.png")
    keep(mp.labbe_plot(reml), "labbe_bcg.png")
    keep(mp.gosh_plot(reml), "gosh_bcg.png")
    keep(mp.influence_plot(reml), "influence_bcg.png")
    rr = mp.GenericEffect(
        yi=effects.yi, vi=effects.vi, labels=effects.labels, measure="RR", log_scale=True
    )
    reg = diag["regplot"]
    by_latitude = mp.MetaRegression().fit(rr, {"ablat": reg["ablat"], "year": reg["year"]})
    keep(
        mp.bubble_plot(by_latitude, "ablat", pi=True, xlabel="Absolute latitude (degrees)"),
        "bubble_bcg_ablat.png",
    )
    by_allocation = mp.MetaRegression().fit(rr, {"allocation": reg["alloc"]})
    keep(mp.bubble_plot(by_allocation, "allocation"), "bubble_bcg_allocation.png")
    revman = mp.RandomEffects(convention="revman5")
    bcg = revman.fit(effects)
    years = [int(label.rsplit(" ", 1)[1]) for label in bcg.labels]
    keep(mp.forest_plot(mp.leave_one_out(bcg)), "forest_bcg_leave_one_out.png")
    keep(mp.forest_plot(mp.cumulative(bcg, order=years)), "forest_bcg_cumulative.png")
    keep(mp.forest_plot(bcg, width="single"), "forest_bcg_single_column.png")
    keep(
        mp.forest_plot(revman.fit(continuous_md("normand1999")), width="double"),
        "forest_normand_double_column.png",
    )


def review_figures(keep: Any) -> None:
    """Risk-of-bias figures (RoB 2 and ROBINS-I) of made-up judgements, and a PRISMA
    2020 flow diagram of made-up counts: what the figures look like, not real data."""
    rob2 = {
        "Study": [f"Study {i}" for i in range(1, 9)],
        "D1": ["Low", "Low", "Some concerns", "Low", "High", "Low", "Low", "Some concerns"],
        "D2": ["Low", "Some concerns", "Low", "Low", "Low", "Low", "High", "Low"],
        "D3": ["Low", "Low", "Low", "High", "Low", "Some concerns", "Low", "Low"],
        "D4": ["Some concerns", "Low", "Low", "Low", "High", "Low", "Low", "Low"],
        "D5": ["Low", "Low", "Low", "Some concerns", "Low", "Low", "Low", "Low"],
        "Overall": ["Some concerns", "Some concerns", "Some concerns", "High", "High",
                    "Some concerns", "High", "Some concerns"],
    }  # fmt: skip
    keep(mp.rob_traffic_light(rob2), "rob2_traffic_light.png")
    keep(mp.rob_summary(rob2, weights=[12, 8, 15, 20, 5, 10, 18, 12]), "rob2_summary.png")
    judgements = ["Low", "Moderate", "Serious", "Critical", "No information"]
    robins = {"Study": [f"Cohort {i}" for i in range(1, 6)]}
    robins.update({f"D{d}": judgements[d % 5 :] + judgements[: d % 5] for d in range(1, 8)})
    robins["Overall"] = ["Serious", "Critical", "Serious", "Moderate", "Critical"]
    keep(mp.rob_traffic_light(robins, tool="robins-i"), "robins_i_traffic_light.png")
    keep(
        mp.prisma_flow(
            {
                "databases": {"MEDLINE": 412, "Embase": 388, "CENTRAL": 150},
                "registers": 35,
                "duplicates_removed": 310,
                "records_excluded": 545,
                "reports_not_retrieved": 4,
                "reports_excluded": {"Wrong population": 22, "Not randomised": 20},
                "studies_included": 18,
                "reports_included": 22,
                "other_sources": {"Citation searching": 12},
                "other_not_retrieved": 2,
                "other_excluded": 8,
            }
        ),
        "prisma_flow.png",
    )


def main() -> list[Path]:
    warnings.simplefilter("ignore", mp.exceptions.MetapoolWarning)
    revman = mp.RandomEffects(convention="revman5")
    written: list[Path] = []

    def keep(fig: Any, name: str, dpi: int = DPI) -> None:
        path = HERE / name
        fig.savefig(path, dpi=dpi)
        plt.close(fig)
        shrink(path)
        written.append(path)

    # Two studies: the smallest forest plot.
    k2 = revman.fit(generic("bangertdrowns2004_k2", "SMD"))
    keep(mp.forest_plot(k2), "forest_two_studies.png")

    # 13 studies, risk ratio, arm-level columns, prediction interval.
    bcg = revman.fit(binary("bcg_rr", mp.RiskRatio))
    keep(
        mp.forest_plot(
            bcg,
            prediction=True,
            label_experimental="Favours BCG",
            label_control="Favours no vaccine",
        ),
        "forest_bcg_rr.png",
    )

    # Mean difference with means and SDs (RevMan's continuous layout).
    normand = revman.fit(continuous_md("normand1999"))
    keep(
        mp.forest_plot(
            normand,
            group_names=("Specialist care", "Routine care"),
            label_experimental="Favours specialist",
            label_control="Favours routine",
        ),
        "forest_normand_md.png",
    )

    # Subgroups: BCG trials by method of allocation, Mantel-Haenszel.
    sg = mp.subgroup_analysis(binary("bcg_rr", mp.RiskRatio), BCG_ALLOCATION, model=revman)
    keep(
        mp.forest_plot(sg, label_experimental="Favours BCG", label_control="Favours no vaccine"),
        "forest_bcg_subgroups.png",
    )

    # RevMan 5's Mantel-Haenszel risk ratio with a double-zero study: "Not estimable".
    niel = dataset("nielweise2007_rr")
    niel_rr = mp.RiskRatio(**niel["input"], labels=niel["labels"], convention="revman5")
    keep(
        mp.forest_plot(
            mp.MantelHaenszel(convention="revman5").fit(niel_rr),
            group_names=("Anti-infective", "Standard"),
            label_experimental="Favours anti-infective",
            label_control="Favours standard",
        ),
        "forest_nielweise_not_estimable.png",
    )

    # 48 studies without arm-level data, sorted by effect.
    bd = revman.fit(generic("bangertdrowns2004", "SMD"))
    keep(
        mp.forest_plot(
            bd,
            sort_by="effect",
            label_experimental="Favours control",
            label_control="Favours writing",
            title="Writing-to-learn interventions",
        ),
        "forest_bangertdrowns_48.png",
    )

    # 100 simulated trials with a year column, sorted by year, long labels wrapped.
    sim, years = simulated_trials()
    sim_res = revman.fit(sim)
    keep(
        mp.forest_plot(
            sim_res,
            columns=("study", "Year", "weight", "effect", "plot"),
            extra_columns={"Year": years},
            sort_by=years,
            prediction=True,
        ),
        "forest_simulated_100.png",
        dpi=DPI_LONG,
    )

    # Funnel plots.
    keep(mp.funnel_plot(bcg, contours=(0.90, 0.95, 0.99)), "funnel_bcg_contours.png")
    bd_reml = mp.RandomEffects(tau2="REML").fit(generic("bangertdrowns2004", "SMD"))
    keep(mp.funnel_plot(bd_reml, trimfill=mp.trim_and_fill(bd_reml)), "funnel_trimfill.png")
    keep(mp.funnel_plot(bd_reml), "funnel_bangertdrowns.png")
    keep(mp.funnel_plot(bd_reml, sunset=True), "funnel_sunset.png")
    diagnostic_plots(keep)
    review_figures(keep)
    return written


if __name__ == "__main__":
    for path in main():
        print(path.relative_to(ROOT))

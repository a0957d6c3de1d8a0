# Generate pinned reference numbers for metapool.robust (cluster-robust inference).
#
# Usage (from the repository root):
#   Rscript tests/reference/make_robust.R
#
# Writes tests/reference/robust.json.  Needs R with metafor (3.8-1 was used),
# clubSandwich (0.5.8), metadat and jsonlite; reuses the controls and the
# full-precision JSON writer of common.R.  Takes a few seconds.
#
# What is recorded, per case (one fitted model and one clustering variable):
#   input   - yi, vi, the model matrix X (row-major), its column names, the
#             cluster labels, and what fixes the working covariance: tau2
#             (rma.uni) or sigma2 with the group labels of every random-effects
#             level (rma.mv; the script checks that diag(vi) + sum_l sigma2_l
#             Z_l Z_l' rebuilt from them equals the fit's marginal matrix M;
#             two cases use V = vcalc(vi, study, obs = esid, rho = 0.6) for the
#             sampling errors, recorded as rho).
#   CR0     - metafor's robust(fit, cluster, adjust = FALSE): coefficients,
#             SEs, t statistics, p-values, df (= clusters - p), CIs, vcov and
#             the F test of the moderators (QM, QMdf, QMp).
#   CR1     - the same with adjust = TRUE (vcov * n / (n - p)).
#   CR2     - clubSandwich's vcovCR(fit, cluster, type = "CR2") (its default
#             target for these models: the working covariance, inverse_var),
#             coef_test(test = "Satterthwaite"), conf_int at 95% and 90%, and
#             Wald_test(test = "HTZ") of every coefficient but the intercept
#             (of the intercept for intercept-only fits) and of any extra
#             constraint matrices listed in the case.
#
# Fits use tight controls (rma.uni: threshold 1e-13 * var(yi); rma.mv: nlminb
# rel.tol 1e-12, or the tightest of 1e-11 and 1e-10 that converges) so that the variance components are converged well beyond the
# tolerances of the Python tests; the robust computations themselves are
# closed-form given the fit.

local({
  args <- commandArgs(trailingOnly = FALSE)
  file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
  script_dir <- if (length(file_arg)) dirname(normalizePath(file_arg[1])) else "tests/reference"
  assign("SCRIPT_DIR", script_dir, envir = globalenv())
})
source(file.path(SCRIPT_DIR, "common.R"))
suppressPackageStartupMessages({
  library(metadat)
  library(clubSandwich)
})

OUT_FILE <- file.path(SCRIPT_DIR, "robust.json")
MV_CONTROL <- list(rel.tol = 1e-12, iter.max = 10000L, eval.max = 10000L)

# rma.mv with nlminb's rel.tol as tight as it will go: 1e-12, else 1e-11, else
# 1e-10 (nlminb reports "false convergence" when asked for more than the
# likelihood's rounding allows; the fit used is recorded as mv_rel_tol).
rma_mv_tight <- function(random, data, mods = NULL, V = NULL) {
  if (is.null(V)) V <- data$vi
  for (rt in c(1e-12, 1e-11, 1e-10)) {
    ctl <- modifyList(MV_CONTROL, list(rel.tol = rt))
    fit <- if (is.null(mods)) {
      try(rma.mv(data$yi, V, random = random, data = data, control = ctl), silent = TRUE)
    } else {
      try(rma.mv(data$yi, V, mods = mods, random = random, data = data, control = ctl),
          silent = TRUE)
    }
    if (!inherits(fit, "try-error")) {
      fit$mv_rel_tol <- rt
      return(fit)
    }
  }
  stop("rma.mv did not converge")
}

flat <- function(m) jarray(as.numeric(t(as.matrix(m))))   # row-major

metafor_robust <- function(fit, cluster, adjust) {
  r <- robust(fit, cluster = cluster, adjust = adjust)
  list(coef = jarray(as.numeric(r$beta)), se = jarray(as.numeric(r$se)),
       tstat = jarray(as.numeric(r$zval)), pvalue = jarray(as.numeric(r$pval)),
       df = jarray(rep(as.numeric(r$ddf), length(r$beta))),
       ci_low = jarray(as.numeric(r$ci.lb)), ci_high = jarray(as.numeric(r$ci.ub)),
       vcov = flat(r$vb), n_clusters = r$n,
       wald = list(statistic = as.numeric(r$QM), df_num = as.numeric(r$QMdf[1]),
                   df_denom = as.numeric(r$QMdf[2]), pvalue = as.numeric(r$QMp)))
}

wald_record <- function(w) {
  list(statistic = as.numeric(w$Fstat), delta = as.numeric(w$delta),
       df_num = as.numeric(w$df_num), df_denom = as.numeric(w$df_denom),
       pvalue = as.numeric(w$p_val))
}

club_cr2 <- function(fit, cluster, btt, extra) {
  vb <- vcovCR(fit, cluster = cluster, type = "CR2")
  ct <- coef_test(fit, vcov = vb, test = "Satterthwaite")
  ci95 <- conf_int(fit, vcov = vb, test = "Satterthwaite", level = 0.95)
  ci90 <- conf_int(fit, vcov = vb, test = "Satterthwaite", level = 0.90)
  p <- length(coef(fit))
  main <- Wald_test(fit, constraints = constrain_zero(btt, coefs = coef(fit)), vcov = vb,
                    test = c("HTZ", "chi-sq"))
  out <- list(coef = jarray(as.numeric(ct$beta)), se = jarray(as.numeric(ct$SE)),
              tstat = jarray(as.numeric(ct$tstat)), pvalue = jarray(as.numeric(ct$p_Satt)),
              df = jarray(as.numeric(ct$df_Satt)),
              ci_low = jarray(as.numeric(ci95$CI_L)), ci_high = jarray(as.numeric(ci95$CI_U)),
              ci90_low = jarray(as.numeric(ci90$CI_L)), ci90_high = jarray(as.numeric(ci90$CI_U)),
              vcov = flat(as.matrix(vb)), n_clusters = nlevels(as.factor(cluster)),
              wald = wald_record(main[main$test == "HTZ", ]),
              wald_chisq = wald_record(main[main$test == "chi-sq", ]))
  out$extra_wald <- lapply(extra, function(C) {
    w <- Wald_test(fit, constraints = C, vcov = vb, test = "HTZ")
    c(list(constraints = flat(C), q = nrow(C)), wald_record(w))
  })
  out
}

# rho: the within-cluster correlation of the sampling errors when V was built with
# vcalc(vi, cluster, obs = <distinct within cluster>, rho = rho) (recorded, and V is
# rebuilt from vi, the outer groups and rho in the check below and in the tests).
make_case <- function(name, fit, cluster, kind, groups = NULL, extra = list(), note = "",
                      rho = NULL) {
  X <- model.matrix(fit)
  btt <- if (ncol(X) == 1L) 1L else 2:ncol(X)
  cluster <- as.character(cluster)
  rec <- list(name = name, kind = kind, note = note,
              yi = jarray(as.numeric(fit$yi)), vi = jarray(as.numeric(fit$vi)),
              X = flat(X), p = ncol(X), coef_names = jarray(colnames(X)),
              cluster = jarray(cluster), btt = jarray(btt),
              method = fit$method)
  if (kind == "uni") {
    rec$tau2 <- as.numeric(fit$tau2)
  } else {
    rec$sigma2 <- jarray(as.numeric(fit$sigma2))
    rec$mv_rel_tol <- fit$mv_rel_tol
    rec$groups <- lapply(groups, function(g) jarray(as.character(g)))
    M <- diag(fit$vi)
    if (!is.null(rho)) {
      rec$rho <- rho
      same <- outer(groups[[1]], groups[[1]], "==")
      M <- M + rho * sqrt(outer(fit$vi, fit$vi)) * (same & !diag(length(fit$vi)))
    }
    for (l in seq_along(groups)) {
      g <- groups[[l]]
      M <- M + fit$sigma2[l] * outer(g, g, "==")
    }
    err <- max(abs(M - fit$M))
    if (err > 1e-12) stop(sprintf("%s: rebuilt M differs from fit$M by %g", name, err))
  }
  rec$CR0 <- metafor_robust(fit, cluster, adjust = FALSE)
  rec$CR1 <- metafor_robust(fit, cluster, adjust = TRUE)
  rec$CR2 <- club_cr2(fit, cluster, btt, extra)
  rec
}

cases <- list()

# --- dat.bcg: log risk ratios, random effects and meta-regression ----------
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
ctl <- tight_rma_control(bcg$yi, bcg$vi)
grp6 <- c("g1", "g1", "g1", "g2", "g2", "g3", "g3", "g4", "g5", "g5", "g5", "g6", "g6")

fit <- rma(yi, vi, data = bcg, method = "REML", control = ctl)
cases[[length(cases) + 1L]] <- make_case("bcg_reml_alloc", fit, bcg$alloc, "uni")
cases[[length(cases) + 1L]] <- make_case("bcg_reml_grp6", fit, grp6, "uni")
fit <- rma(yi, vi, data = bcg, method = "DL")
cases[[length(cases) + 1L]] <- make_case("bcg_dl_grp6", fit, grp6, "uni")
fit <- rma(yi, vi, data = bcg, method = "EE")
cases[[length(cases) + 1L]] <- make_case("bcg_ee_grp6", fit, grp6, "uni")
fit <- rma(yi, vi, mods = ~ ablat, data = bcg, method = "REML", control = ctl)
cases[[length(cases) + 1L]] <- make_case("bcg_ablat_reml_alloc", fit, bcg$alloc, "uni")
cases[[length(cases) + 1L]] <- make_case("bcg_ablat_reml_grp6", fit, grp6, "uni")
fit <- rma(yi, vi, mods = ~ ablat + year, data = bcg, method = "REML", control = ctl)
cases[[length(cases) + 1L]] <- make_case(
  "bcg_ablat_year_reml_grp6", fit, grp6, "uni",
  extra = list(constrain_zero(2, coefs = coef(fit)),
               matrix(c(0, 1, -1, 1, 0, 0), nrow = 2, byrow = TRUE)))
fit <- rma(yi, vi, mods = ~ ablat + year, data = bcg, method = "EE")
cases[[length(cases) + 1L]] <- make_case("bcg_ablat_year_ee_grp6", fit, grp6, "uni")

# --- dat.assink2016: three-level model, clusters = studies -------------------
ak <- dat.assink2016
ak$esid_in_study <- paste(ak$study, ak$esid, sep = "/")
fit <- rma_mv_tight(random = ~ 1 | study / esid, data = ak)
cases[[length(cases) + 1L]] <- make_case("assink_3level", fit, ak$study, "mv",
                                         groups = list(ak$study, ak$esid_in_study))
fit <- rma_mv_tight(mods = ~ deltype, random = ~ 1 | study / esid, data = ak)
cases[[length(cases) + 1L]] <- make_case(
  "assink_3level_deltype", fit, ak$study, "mv",
  groups = list(ak$study, ak$esid_in_study),
  extra = list(matrix(c(0, 1, -1), nrow = 1)))
V06 <- vcalc(vi, cluster = study, obs = esid, rho = 0.6, data = ak)
fit <- rma_mv_tight(random = ~ 1 | study / esid, data = ak, V = V06)
cases[[length(cases) + 1L]] <- make_case("assink_3level_vcalc_rho06", fit, ak$study, "mv",
                                         groups = list(ak$study, ak$esid_in_study), rho = 0.6)
fit <- rma_mv_tight(mods = ~ deltype, random = ~ 1 | study / esid, data = ak, V = V06)
cases[[length(cases) + 1L]] <- make_case("assink_3level_deltype_vcalc_rho06", fit, ak$study,
                                         "mv", groups = list(ak$study, ak$esid_in_study),
                                         rho = 0.6)
fit <- rma_mv_tight(mods = ~ year + pubstatus, random = ~ 1 | study / esid, data = ak)
cases[[length(cases) + 1L]] <- make_case("assink_3level_year_pub", fit, ak$study, "mv",
                                         groups = list(ak$study, ak$esid_in_study))

# --- dat.konstantopoulos2011: schools within districts ----------------------
ko <- dat.konstantopoulos2011
ko$school_in_district <- paste(ko$district, ko$school, sep = "/")
fit <- rma_mv_tight(random = ~ 1 | district / school, data = ko)
cases[[length(cases) + 1L]] <- make_case("konstantopoulos_3level", fit, ko$district, "mv",
                                         groups = list(ko$district, ko$school_in_district))
fit <- rma_mv_tight(mods = ~ I(year - 1990), random = ~ 1 | district / school, data = ko)
cases[[length(cases) + 1L]] <- make_case("konstantopoulos_3level_year", fit, ko$district,
                                         "mv",
                                         groups = list(ko$district, ko$school_in_district))

# --- generated: unbalanced clusters (1 to 7 effects), two moderators ---------
set.seed(20261129)
sizes <- c(1, 3, 2, 7, 1, 4, 2, 5, 1, 3, 6, 2, 1, 4)
gen <- data.frame(cl = rep(sprintf("c%02d", seq_along(sizes)), sizes))
gen$obs <- seq_len(nrow(gen))
gen$x1 <- round(rnorm(nrow(gen)), 3)
gen$x2 <- rep(rbinom(length(sizes), 1, 0.5), sizes)
gen$vi <- round(runif(nrow(gen), 0.01, 0.2), 4)
u <- rep(rnorm(length(sizes), 0, 0.3), sizes)
gen$yi <- round(0.2 + 0.15 * gen$x1 - 0.1 * gen$x2 + u + rnorm(nrow(gen), 0, sqrt(gen$vi + 0.02)), 4)
gen$obs_in_cl <- paste(gen$cl, gen$obs, sep = "/")
fit <- rma_mv_tight(mods = ~ x1 + x2, random = ~ 1 | cl / obs, data = gen)
cases[[length(cases) + 1L]] <- make_case("generated_3level_x1_x2", fit, gen$cl, "mv",
                                         groups = list(gen$cl, gen$obs_in_cl))
fit <- rma(yi, vi, mods = ~ x1 + x2, data = gen, method = "REML",
           control = tight_rma_control(gen$yi, gen$vi))
cases[[length(cases) + 1L]] <- make_case("generated_reml_x1_x2", fit, gen$cl, "uni")
fit <- rma(yi, vi, data = gen, method = "REML", control = tight_rma_control(gen$yi, gen$vi))
cases[[length(cases) + 1L]] <- make_case("generated_reml", fit, gen$cl, "uni")

out <- list(
  generated_by = "tests/reference/make_robust.R",
  R_version = R.version.string,
  metafor_version = metafor_version_string(),
  clubSandwich_version = as.character(utils::packageVersion("clubSandwich")),
  cases = cases)
write_json_file(out, OUT_FILE)
cat("wrote", OUT_FILE, "with", length(cases), "cases\n")

# Generate pinned metafor reference numbers for metapool.MultilevelModel and
# metapool.vcalc (multilevel random-effects models, issue 12 part 1).
#
# Usage (from the repository root):
#   Rscript tests/reference/make_multilevel.R
#
# Writes tests/reference/multilevel.json.  Needs R (4.2.2 was used) with metafor
# (3.8-1), metadat (1.2-0) and jsonlite; reuses the full-precision JSON writer of
# common.R.  Takes about 20 seconds.
#
# What is recorded, per case: the data (yi, vi or the full V, the level ids, the
# moderators) and rma.mv(yi, V, mods, random = ~ 1 | l1/l2/..., method, test, dfs)
# with tight optimiser control (nlminb rel.tol 1e-12, or the tightest of 1e-11,
# 1e-10 that converges; recorded as "rel_tol"):
#   coefficients, se, z/t, p, CI, ddf, vcov, sigma2, logLik / deviance / AIC / BIC /
#   AICc of the method, QE, QM, the prediction (interval) of the average effect or
#   at given moderator values, the profile-likelihood CI of each sigma2
#   (confint(fit, control = list(tol = 1e-12))), and I^2 per level as in metafor's
#   FAQ ("I^2 for multilevel and multivariate models": W = solve(V),
#   P = W - W X (X'WX)^-1 X'W, I^2_l = 100 sigma2_l / (sum(sigma2) + (k-p)/tr(P))).
# Cases: dat.konstantopoulos2011 (~ 1 | district/school), dat.assink2016
# (~ 1 | study/esid, with and without the moderator deltype, and with V from
# vcalc(vi, study, obs = esid, rho = 0.6)), dat.berkey1998 (its 2x2 covariance
# blocks, mods = ~ outcome - 1, random = ~ 1 | trial: the multivariate
# ~ outcome | trial structure is out of scope), and generated data with one, two,
# three and four nested levels (unbalanced), one with a component at the
# boundary, fixed sigma2, identical effects and extreme heterogeneity.

local({
  args <- commandArgs(trailingOnly = FALSE)
  file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
  script_dir <- if (length(file_arg)) dirname(normalizePath(file_arg[1])) else "tests/reference"
  assign("SCRIPT_DIR", script_dir, envir = globalenv())
})
source(file.path(SCRIPT_DIR, "common.R"))
suppressPackageStartupMessages(library(metadat))

OUT_FILE <- file.path(SCRIPT_DIR, "multilevel.json")

num <- function(x) jarray(as.numeric(unname(x)))

fit_mv <- function(yi, V, levels, mods = NULL, method = "REML", test = "z",
                   dfs = "residual", sigma2 = NULL) {
  d <- as.data.frame(levels, stringsAsFactors = FALSE)
  d$yi <- yi
  form <- as.formula(paste("~ 1 |", paste(names(levels), collapse = "/")))
  for (tol in c(1e-12, 1e-11, 1e-10)) {
    ctrl <- list(rel.tol = tol, iter.max = 10000, eval.max = 10000)
    args <- list(yi = d$yi, V = V, random = form, data = d, method = method,
                 test = test, dfs = dfs, control = ctrl, sparse = FALSE)
    if (!is.null(mods)) args$mods <- mods
    if (!is.null(sigma2)) args$sigma2 <- sigma2
    fit <- tryCatch(do.call(rma.mv, args), error = function(e) NULL)
    if (!is.null(fit)) return(list(fit = fit, rel_tol = tol))
  }
  stop("rma.mv did not converge")
}

i2_levels <- function(fit) {
  W <- solve(fit$V)
  X <- model.matrix(fit)
  P <- W - W %*% X %*% solve(t(X) %*% W %*% X) %*% t(X) %*% W
  typical <- (fit$k - fit$p) / sum(diag(P))
  list(i2 = num(100 * fit$sigma2 / (sum(fit$sigma2) + typical)),
       i2_total = 100 * sum(fit$sigma2) / (sum(fit$sigma2) + typical))
}

record <- function(name, yi, vi, levels, V = NULL, mods = NULL, mods_py = NULL,
                   newmods = NULL, newmods_py = NULL, method = "REML", test = "z",
                   dfs = "residual", sigma2 = NULL, profile = TRUE, intercept = TRUE) {
  Vm <- if (is.null(V)) diag(vi) else V
  res <- fit_mv(yi, if (is.null(V)) vi else V, levels, mods, method, test, dfs, sigma2)
  fit <- res$fit
  fs <- fitstats(fit)[, 1]
  out <- list(
    name = name, method = method, test = test, dfs = dfs, rel_tol = res$rel_tol,
    yi = num(yi), vi = num(diag(Vm)),
    V = if (is.null(V)) NULL else lapply(seq_len(nrow(V)), function(i) num(V[i, ])),
    levels = lapply(levels, function(x) jarray(as.character(x))),
    level_names = jarray(names(levels)),
    moderators = mods_py, intercept = intercept,
    sigma2_fixed = if (is.null(sigma2)) NULL else num(sigma2),
    coef = num(fit$beta), se = num(fit$se), statistic = num(fit$zval),
    pvalue = num(fit$pval), ci_low = num(fit$ci.lb), ci_high = num(fit$ci.ub),
    df = if (test == "z") NULL else num(fit$ddf),
    vcov = lapply(seq_len(nrow(fit$vb)), function(i) num(fit$vb[i, ])),
    sigma2 = num(fit$sigma2),
    loglik = unname(fs[1]), deviance = unname(fs[2]), aic = unname(fs[3]),
    bic = unname(fs[4]), aicc = unname(fs[5]),
    qe = fit$QE, qe_df = fit$k - fit$p, qe_pvalue = fit$QEp,
    qm = if (fit$p > 1 || is.null(mods)) fit$QM else NULL,
    qm_pvalue = fit$QMp,
    k = fit$k, p = fit$p
  )
  out <- c(out, i2_levels(fit))
  pr <- if (is.null(newmods)) predict(fit) else predict(fit, newmods = newmods)
  out$predict <- list(new_moderators = newmods_py, pred = num(pr$pred), se = num(pr$se),
                      ci_low = num(pr$ci.lb), ci_high = num(pr$ci.ub),
                      pi_low = num(pr$pi.lb), pi_high = num(pr$pi.ub))
  if (profile) {
    free <- if (is.null(sigma2)) seq_along(fit$sigma2) else which(is.na(sigma2))
    lo <- rep(NA_real_, length(fit$sigma2)); hi <- lo
    for (j in free) {
      ci <- suppressWarnings(confint(fit, sigma2 = j, control = list(tol = 1e-12)))
      lo[j] <- ci$random[1, "ci.lb"]; hi[j] <- ci$random[1, "ci.ub"]
    }
    out$sigma2_ci_low <- num(lo)
    out$sigma2_ci_high <- num(hi)
  }
  cat(sprintf("%-32s ll = %.10f  sigma2 = %s\n", name, out$loglik,
              paste(format(fit$sigma2, digits = 8), collapse = ", ")))
  out
}

cases <- list()

# --- dat.konstantopoulos2011: schools within districts -----------------------
k11 <- dat.konstantopoulos2011
lv <- list(district = k11$district, school = k11$school)
cases[[length(cases) + 1]] <- record("konstantopoulos2011_reml", k11$yi, k11$vi, lv)
cases[[length(cases) + 1]] <- record("konstantopoulos2011_ml", k11$yi, k11$vi, lv, method = "ML")
cases[[length(cases) + 1]] <- record("konstantopoulos2011_reml_t", k11$yi, k11$vi, lv, test = "t")
cases[[length(cases) + 1]] <- record("konstantopoulos2011_reml_t_contain", k11$yi, k11$vi, lv,
                                     test = "t", dfs = "contain")
yr <- k11$year - 1990
cases[[length(cases) + 1]] <- record(
  "konstantopoulos2011_year_reml", k11$yi, k11$vi, lv, mods = ~ yr,
  mods_py = list(yr = num(yr)), newmods = c(-10, 0, 5),
  newmods_py = list(yr = num(c(-10, 0, 5))))
cases[[length(cases) + 1]] <- record(
  "konstantopoulos2011_year_ml_t_contain", k11$yi, k11$vi, lv, mods = ~ yr,
  mods_py = list(yr = num(yr)), method = "ML", test = "t", dfs = "contain",
  newmods = c(-10, 0, 5), newmods_py = list(yr = num(c(-10, 0, 5))))

# --- dat.assink2016: effect sizes within studies ------------------------------
a16 <- dat.assink2016
lv <- list(study = a16$study, esid = a16$esid)
cases[[length(cases) + 1]] <- record("assink2016_reml", a16$yi, a16$vi, lv)
cases[[length(cases) + 1]] <- record("assink2016_ml", a16$yi, a16$vi, lv, method = "ML")
dt <- factor(a16$deltype)
cases[[length(cases) + 1]] <- record(
  "assink2016_deltype_reml", a16$yi, a16$vi, lv, mods = ~ dt,
  mods_py = list(deltype = jarray(as.character(a16$deltype))),
  newmods = rbind(c(0, 0), c(1, 0), c(0, 1)),
  newmods_py = list(deltype = jarray(c("covert", "general", "overt"))))
cases[[length(cases) + 1]] <- record(
  "assink2016_deltype_t_contain", a16$yi, a16$vi, lv, mods = ~ dt,
  mods_py = list(deltype = jarray(as.character(a16$deltype))), test = "t", dfs = "contain",
  newmods = rbind(c(0, 0), c(1, 0), c(0, 1)),
  newmods_py = list(deltype = jarray(c("covert", "general", "overt"))))
Va <- vcalc(a16$vi, cluster = a16$study, obs = a16$esid, rho = 0.6)
cases[[length(cases) + 1]] <- record("assink2016_vcalc_rho06", a16$yi, a16$vi, lv, V = Va)

# --- dat.berkey1998: two correlated outcomes per trial ------------------------
b98 <- dat.berkey1998
Vb <- bldiag(lapply(split(b98[, c("v1i", "v2i")], b98$trial), as.matrix))
oc <- b98$outcome
cases[[length(cases) + 1]] <- record(
  "berkey1998_outcome_trial", b98$yi, b98$vi, list(trial = b98$trial), V = Vb,
  mods = ~ oc - 1, mods_py = list(outcome = jarray(oc)), intercept = FALSE,
  newmods = rbind(c(1, 0), c(0, 1)), newmods_py = list(outcome = jarray(c("AL", "PD"))))

# --- generated data ------------------------------------------------------------
set.seed(20261129)
# Unbalanced nested data: n_outer groups, each with 1-3 groups at the next level, and so
# on for `depth` levels; one effect size per innermost group.
gen <- function(n_outer, depth, s2, vi_range = c(0.01, 0.1)) {
  ids <- matrix(seq_len(n_outer), ncol = 1)
  for (d in seq_len(depth - 1)) {
    ids <- do.call(rbind, lapply(seq_len(nrow(ids)), function(i) {
      n <- sample(1:3, 1)
      cbind(ids[rep(i, n), , drop = FALSE], seq_len(n))
    }))
  }
  k <- nrow(ids)
  vi <- runif(k, vi_range[1], vi_range[2])
  x <- round(rnorm(k), 3)
  yi <- 0.3 + 0.2 * x + rnorm(k, 0, sqrt(vi))
  for (d in seq_len(depth)) {
    g <- as.integer(interaction(as.data.frame(ids[, seq_len(d), drop = FALSE]), drop = TRUE))
    yi <- yi + rnorm(max(g), 0, sqrt(s2[d]))[g]
  }
  lv <- lapply(seq_len(depth), function(d) ids[, d])
  names(lv) <- letters[seq_len(depth)]
  list(yi = round(yi, 6), vi = round(vi, 6), levels = lv, x = x)
}
g1 <- gen(30, 1, 0.05)
cases[[length(cases) + 1]] <- record("generated_one_level", g1$yi, g1$vi, g1$levels)
g <- gen(12, 3, c(0.05, 0.03, 0.02))
cases[[length(cases) + 1]] <- record("generated_three_levels", g$yi, g$vi, g$levels)
cases[[length(cases) + 1]] <- record(
  "generated_three_levels_x_ml", g$yi, g$vi, g$levels,
  mods = ~ g$x, mods_py = list(x = num(g$x)), method = "ML",
  newmods = c(-1, 0, 1), newmods_py = list(x = num(c(-1, 0, 1))))
g4 <- gen(10, 4, c(0.06, 0.03, 0.02, 0.02))
cases[[length(cases) + 1]] <- record("generated_four_levels", g4$yi, g4$vi, g4$levels)
# Effect sizes of one outer group closer together than their sampling variances
# allow: the inner component is estimated at the boundary 0.
h <- gen(15, 2, c(0.08, 0))
ha <- h$levels$a
u <- rnorm(max(ha), 0, 0.3)[ha]
h$yi <- round(0.2 + u + rnorm(length(ha), 0, 0.3 * sqrt(h$vi)), 6)
cases[[length(cases) + 1]] <- record("generated_boundary", h$yi, h$vi, h$levels)
cases[[length(cases) + 1]] <- record("generated_fixed_sigma2", g$yi, g$vi,
                                     g$levels[1:2], sigma2 = c(NA, 0.01))
cases[[length(cases) + 1]] <- record("generated_all_fixed_zero", g$yi, g$vi,
                                     g$levels[1:2], sigma2 = c(0, 0), profile = FALSE)
# Identical effects: both components at the boundary; profile intervals from 0.
cases[[length(cases) + 1]] <- record("equal_effects", rep(0.2, 6), rep(0.1, 6),
                                     list(a = c(1, 1, 2, 2, 3, 3), b = c(1, 2, 1, 2, 1, 2)))
# Heterogeneity 1e8 times the sampling variances.
cases[[length(cases) + 1]] <- record("extreme_heterogeneity", c(0, 100, 200, -50, 10, 1000),
                                     rep(1e-3, 6),
                                     list(a = c(1, 1, 2, 2, 3, 3), b = c(1, 2, 1, 2, 1, 2)),
                                     profile = FALSE)

# vcalc on its own
vc <- list(
  vi = num(a16$vi[1:12]), cluster = jarray(as.character(a16$study[1:12])),
  obs = jarray(as.character(a16$esid[1:12])), rho = 0.6,
  V = lapply(1:12, function(i) num(Va[i, 1:12])))
obs2 <- c(1, 2, 1, 1, 3, 2)
Vo <- vcalc(c(.1, .2, .3, .4, .5, .6), cluster = c(1, 1, 1, 2, 2, 2), obs = obs2, rho = 0.3)
vc2 <- list(vi = num(c(.1, .2, .3, .4, .5, .6)), cluster = jarray(c(1, 1, 1, 2, 2, 2)),
            obs = jarray(obs2), rho = 0.3, V = lapply(1:6, function(i) num(Vo[i, ])))

out <- list(
  generated_by = "tests/reference/make_multilevel.R",
  r_version = R.version.string,
  metafor_version = metafor_version_string(),
  metadat_version = as.character(utils::packageVersion("metadat")),
  date = as.character(Sys.Date()),
  cases = cases,
  vcalc = list(vc, vc2))
write_json_file(out, OUT_FILE)
cat("wrote", OUT_FILE, "\n")

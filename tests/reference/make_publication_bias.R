# Generate pinned reference numbers for metapool's publication-bias methods beyond
# Egger's test: regtest() with every predictor, Harbord's, Peters' and the arcsine
# test, Thompson-Sharp, PET-PEESE, selection models (selmodel), fail-safe N (fsn)
# and the test of excess significance (tes).
#
# Usage (from the repository root):
#   Rscript tests/reference/make_publication_bias.R
#
# Writes tests/reference/publication_bias.json.  Used: R 4.x with metafor 3.8-1,
# metadat, numDeriv (selmodel's Hessian) and jsonlite; reuses the full-precision
# JSON writer of common.R.  Takes about a minute.
#
# What is recorded, per dataset (yi and vi as given to metafor):
#   regtest   - regtest(yi, vi, ni, model = "lm", predictor = p) for each predictor
#               (the sample-size ones only where ni is known), and the "rma" version
#               on a tight REML fit.
#   selmodel  - selmodel() of the ML refit of rma(yi, vi) (and of an "EE" fit) with
#               type stepfun (3PSM: steps 0.025; 4PSM: 0.025, 0.5), beta, halfnorm,
#               negexp (p-values one-sided, "greater"; also "less" for the 3PSM and
#               the half-normal model where the pooled effect is negative).  Controls: optim BFGS with reltol = 1e-12, maxit = 2000 (beta:
#               optim's default reltol 1e-8; tighter, optim stops with an error); for
#               the continuous families the integrals to rel.tol = 1e-10 with 1000
#               subdivisions (metafor's default rel.tol is eps^0.25 = 1.2e-4).  R
#               integrates numerically for every study at every step, so the
#               continuous families are fitted only for k <= 40, and a fit that
#               fails or takes longer than a minute is left out (reported on the
#               console).  Hessian as metafor computes it (numDeriv,
#               r = 6).  optim's BFGS uses finite-difference
#               gradients, so metafor's optimum is only as good as ~1e-7 in the
#               parameters; the tests therefore check that metapool's log-likelihood
#               is at least metafor's (minus 1e-9) and compare parameters to a
#               tolerance derived from that (see tests/test_bias_selection.py).
#   fsn       - fsn(type = Rosenthal / Orwin / Orwin weighted / Rosenberg).
#   tes       - tes() of the EE and the REML fit (test = "exact" for k <= 20; metafor
#               enumerates every subset, so for larger k its default, "chi2"), with rel.tol =
#               1e-12 for the tau^2 > 0 power integral, plus that power in closed
#               form (y ~ N(theta, vi + tau2)) for comparison.
#   binary    - for 2x2 data: Harbord's, Peters' and the arcsine test from their
#               published formulas with lm() (the 'meta' package, whose metabias()
#               implements them, is not installed: the reference is the formula in
#               R, not meta), and Thompson-Sharp as rma(yi, vi, mods = ~ sqrt(vi),
#               method = "DL").
#
# The simulated dataset "simulated_selection" draws 80 studies from a random-effects
# model (mu = 0.15, tau = 0.1, n per arm 10-150, SMD scale), publishes every study
# with one-sided p < 0.025 and 25% of the others (seed 20261129).

local({
  args <- commandArgs(trailingOnly = FALSE)
  file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
  script_dir <- if (length(file_arg)) dirname(normalizePath(file_arg[1])) else "tests/reference"
  assign("SCRIPT_DIR", script_dir, envir = globalenv())
})
source(file.path(SCRIPT_DIR, "common.R"))
suppressPackageStartupMessages({library(metadat); library(numDeriv)})

OUT_FILE <- file.path(SCRIPT_DIR, "publication_bias.json")
TIGHT <- list(threshold = 1e-13, maxiter = 10000, stepadj = 0.5)
SEL_CONTROL <- list(optimizer = "BFGS", reltol = 1e-12, maxit = 2000)
SEL_CONTROL_CONT <- list(optimizer = "BFGS", reltol = 1e-12, maxit = 2000,
                         intCtrl = list(rel.tol = 1e-10, subdivisions = 1000L))
# With reltol = 1e-12, optim stops with an error on the beta model (its likelihood has
# kinks where p reaches pval.min): optim's default reltol (1e-8) for it.
SEL_CONTROL_BETA <- list(intCtrl = list(rel.tol = 1e-10, subdivisions = 1000L))
SEL_SECONDS <- 60
num <- function(x) if (is.null(x)) NULL else as.numeric(x)

regtest_record <- function(r) {
  list(predictor = r$predictor, model = r$model, zval = num(r$zval), pval = num(r$pval),
       dfs = num(r$dfs), est = num(r$est), ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub),
       coef = num(coef(r$fit)[2]),
       se_coef = if (r$model == "lm") num(summary(r$fit)$coefficients[2, 2]) else num(r$fit$se[2]),
       se_est = if (r$model == "lm") num(summary(r$fit)$coefficients[1, 2]) else num(r$fit$se[1]))
}

selmodel_record <- function(fit, type, steps = NULL, label, alternative = "greater") {
  control <- switch(type, stepfun = SEL_CONTROL, beta = SEL_CONTROL_BETA, SEL_CONTROL_CONT)
  args <- list(x = fit, type = type, control = control, alternative = alternative)
  if (!is.null(steps)) args$steps <- steps
  setTimeLimit(elapsed = SEL_SECONDS, transient = TRUE)
  on.exit(setTimeLimit(elapsed = Inf))
  res <- capture(do.call(selmodel, args))
  setTimeLimit(elapsed = Inf)
  if (res$failed) {
    message("  selmodel ", label, " not recorded: ", clean_msg(res$value))
    return(NULL)
  }
  s <- res$value
  list(label = label, type = type, method = fit$method, alternative = alternative,
       steps = if (is.null(steps)) NULL else jarray(steps),
       estimate = num(s$beta), se = num(s$se), zval = num(s$zval), pval = num(s$pval),
       ci_lb = num(s$ci.lb), ci_ub = num(s$ci.ub),
       tau2 = num(s$tau2), se_tau2 = num(s$se.tau2),
       delta = jarray(num(s$delta)), se_delta = jarray(num(s$se.delta)),
       ll = num(s$ll), ll0 = num(s$ll0), lrt = num(s$LRT), lrt_df = num(s$LRTdf),
       lrt_p = num(s$LRTp),
       ptable = if (is.data.frame(s$ptable)) jarray(s$ptable$k) else NULL,
       warnings = jarray(as.character(res$warnings)))
}

fsn_record <- function(yi, vi) {
  one <- function(...) {
    f <- fsn(yi, vi, ...)
    list(fsnum = num(f$fsnum), pval = num(f$pval), meanes = num(f$meanes),
         target = num(f$target))
  }
  list(Rosenthal = one(type = "Rosenthal"), Orwin = one(type = "Orwin"),
       Orwin_weighted = one(type = "Orwin", weighted = TRUE),
       Orwin_target = one(type = "Orwin", target = 0.05),
       Rosenberg = one(type = "Rosenberg"),
       Rosenthal_alpha10 = one(type = "Rosenthal", alpha = 0.1))
}

tes_record <- function(fit, label) {
  # metafor's exact test enumerates all subsets: only for small k (else its chi2 default)
  t <- if (fit$k <= 20) {
    tes(fit, test = "exact", progbar = FALSE, rel.tol = 1e-12, subdivisions = 10000L)
  } else {
    tes(fit, progbar = FALSE, rel.tol = 1e-12, subdivisions = 10000L)
  }
  sei <- sqrt(fit$vi)
  crit <- qnorm(0.025, lower.tail = FALSE)
  sd <- sqrt(fit$vi + fit$tau2)
  theta <- c(fit$beta)
  pow_closed <- pnorm((crit * sei - theta) / sd, lower.tail = FALSE) +
                pnorm((-crit * sei - theta) / sd)
  list(label = label, method = fit$method, theta = theta, tau2 = num(fit$tau2),
       O = num(t$O), E = num(t$E), OEratio = num(t$OEratio), pval = num(t$pval),
       power = jarray(num(t$power)), power_closed = jarray(pow_closed),
       test = t$test)
}

tes_chi2_record <- function(fit) {
  t1 <- tes(fit, test = "chi2", progbar = FALSE)
  t2 <- tes(fit, test = "binom", progbar = FALSE)
  t3 <- if (fit$k <= 20) tes(fit, test = "exact", tes.alternative = "two.sided", progbar = FALSE)
  list(chi2_X2 = num(t1$X2), chi2_pval = num(t1$pval), binom_pval = num(t2$pval),
       exact_two_sided_pval = if (is.null(t3)) NULL else num(t3$pval))
}

binary_record <- function(ai, n1i, ci, n2i) {
  ai <- as.numeric(ai); n1i <- as.numeric(n1i); ci <- as.numeric(ci); n2i <- as.numeric(n2i)
  bi <- n1i - ai; di <- n2i - ci; N <- n1i + n2i
  # Harbord: Z/sqrt(V) on sqrt(V), test of the intercept
  Z <- ai - n1i * (ai + ci) / N
  V <- n1i * n2i * (ai + ci) * (bi + di) / (N^2 * (N - 1))
  keep <- V > 0
  h <- summary(lm(I(Z[keep] / sqrt(V[keep])) ~ sqrt(V[keep])))$coefficients
  # Peters: lnOR (escalc, 0.5 added to zero-cell studies) on 1/N, weights 1/(1/(a+c)+1/(b+d))
  e <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i)
  w <- 1 / (1 / (ai + ci) + 1 / (bi + di))
  pk <- w > 0
  p <- summary(lm(e$yi[pk] ~ I(1 / N[pk]), weights = w[pk]))$coefficients
  # Arcsine (Ruecker et al. 2008): Egger's test on the arcsine difference
  as <- escalc("AS", ai = ai, n1i = n1i, ci = ci, n2i = n2i)
  a <- regtest(as$yi, as$vi, model = "lm")
  # Thompson-Sharp: DL meta-regression on sei, z test
  ts <- rma(e$yi, e$vi, mods = ~ sqrt(e$vi), method = "DL")
  list(harbord = list(intercept = h[1, 1], se = h[1, 2], t = h[1, 3], p = h[1, 4],
                      slope = h[2, 1], slope_se = h[2, 2], k = sum(keep)),
       peters = list(coef = p[2, 1], se = p[2, 2], t = p[2, 3], p = p[2, 4],
                     intercept = p[1, 1], intercept_se = p[1, 2], k = sum(pk)),
       arcsine = list(yi = jarray(as.numeric(as$yi)), vi = jarray(as.numeric(as$vi)),
                      zval = num(a$zval), pval = num(a$pval), est = num(a$est),
                      coef = num(coef(a$fit)[2])),
       thompson_sharp = list(coef = num(ts$beta[2]), se = num(ts$se[2]),
                             zval = num(ts$zval[2]), pval = num(ts$pval[2]),
                             tau2 = num(ts$tau2), est = num(ts$beta[1])))
}

# ---------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------

datasets <- list()
add <- function(name, source, yi, vi, ni = NULL, counts = NULL) {
  datasets[[length(datasets) + 1]] <<- list(name = name, source = source, yi = yi, vi = vi,
                                             ni = ni, counts = counts)
}
d <- dat.hackshaw1998
add("hackshaw1998", "metadat::dat.hackshaw1998 (log OR), yi/vi as stored", d$yi, d$vi)
d <- dat.baskerville2012
add("baskerville2012", "metadat::dat.baskerville2012 (SMD), yi = smd, vi = se^2", d$smd, d$se^2)
d <- dat.ishak2007
add("ishak2007", "metadat::dat.ishak2007 (mean change at 3 months), yi = y1i, vi = v1i",
    d$y1i[!is.na(d$y1i)], d$v1i[!is.na(d$y1i)])
d <- dat.bangertdrowns2004
add("bangertdrowns2004", "metadat::dat.bangertdrowns2004 (SMD), yi/vi/ni as stored",
    d$yi, d$vi, ni = d$ni)
d <- dat.egger2001
e <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d)
add("egger2001_or", "metadat::dat.egger2001 (magnesium), escalc('OR'); 0.5 added to zero cells",
    e$yi, e$vi, ni = d$n1i + d$n2i, counts = list(ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i))
d <- dat.bcg
e <- escalc("OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = d)
add("bcg_or", "metadat::dat.bcg, escalc('OR', ai = tpos, bi = tneg, ci = cpos, di = cneg)",
    e$yi, e$vi, ni = d$tpos + d$tneg + d$cpos + d$cneg,
    counts = list(ai = d$tpos, n1i = d$tpos + d$tneg, ci = d$cpos, n2i = d$cpos + d$cneg))
set.seed(20261129)
sim <- local({
  k0 <- 400
  n <- sample(10:150, k0, replace = TRUE)
  theta <- rnorm(k0, 0.15, 0.1)
  vi <- 2 / n + theta^2 / (4 * n)
  yi <- rnorm(k0, theta, sqrt(vi))
  p <- pnorm(yi / sqrt(vi), lower.tail = FALSE)
  keep <- p < 0.025 | runif(k0) < 0.25
  idx <- which(keep)[1:80]
  list(yi = yi[idx], vi = vi[idx], ni = 2 * n[idx])
})
add("simulated_selection", "simulated: 80 published of an RE model (mu 0.15, tau 0.1) with one-sided p < 0.025 always and others with probability 0.25 (seed 20261129)",
    sim$yi, sim$vi, ni = sim$ni)

build <- function(d) {
  message(d$name, " ", format(Sys.time()))
  yi <- d$yi; vi <- d$vi; ni <- d$ni
  rec <- list(name = d$name, source = d$source, yi = jarray(as.numeric(yi)),
              vi = jarray(as.numeric(vi)))
  if (!is.null(ni)) rec$ni <- jarray(as.numeric(ni))
  preds <- c("sei", "vi", if (!is.null(ni)) c("ni", "ninv", "sqrtni", "sqrtninv"))
  rt <- function(p, ...) if (is.null(ni)) regtest(yi, vi, predictor = p, ...) else
    regtest(yi, vi, ni = ni, predictor = p, ...)
  rec$regtest <- lapply(preds, function(p) regtest_record(rt(p, model = "lm")))
  reml <- rma(yi, vi, method = "REML", control = TIGHT)
  rtr <- function(p) if (is.null(ni)) regtest(reml, model = "rma", predictor = p) else
    regtest(reml, ni = ni, model = "rma", predictor = p)
  rec$regtest_rma <- lapply(preds, function(p) regtest_record(rtr(p)))
  ee <- rma(yi, vi, method = "EE")
  rec$selmodel <- Filter(Negate(is.null), list(
    selmodel_record(reml, "stepfun", c(0.025, 1), "RE 3PSM"),
    selmodel_record(reml, "stepfun", c(0.025, 0.5, 1), "RE 4PSM"),
    selmodel_record(ee, "stepfun", c(0.025, 1), "EE 3PSM"),
    if (reml$k <= 40) selmodel_record(reml, "beta", NULL, "RE beta"),
    if (reml$k <= 40) selmodel_record(reml, "halfnorm", NULL, "RE halfnorm"),
    if (reml$k <= 40) selmodel_record(reml, "negexp", NULL, "RE negexp"),
    # p-values in the direction of the effect where it is negative
    if (reml$beta < 0) selmodel_record(reml, "stepfun", c(0.025, 1), "RE 3PSM less", "less"),
    if (reml$beta < 0 && reml$k <= 40)
      selmodel_record(reml, "halfnorm", NULL, "RE halfnorm less", "less")))
  rec$fsn <- fsn_record(yi, vi)
  rec$tes <- list(tes_record(ee, "EE"), tes_record(reml, "REML"))
  rec$tes_tests <- tes_chi2_record(ee)
  if (!is.null(d$counts)) {
    cc <- d$counts
    rec$counts <- lapply(cc, function(x) jarray(as.numeric(x)))
    rec$binary <- binary_record(cc$ai, cc$n1i, cc$ci, cc$n2i)
  }
  rec
}

out <- list(
  metafor_version = metafor_version_string(),
  metadat_version = as.character(utils::packageVersion("metadat")),
  numderiv_version = as.character(utils::packageVersion("numDeriv")),
  r_version = R.version.string,
  generated_by = "tests/reference/make_publication_bias.R",
  date = format(Sys.Date()),
  datasets = lapply(datasets, build))

write_json_file(out, OUT_FILE)
cat("wrote", OUT_FILE, "\n")

# Generate pinned metafor reference numbers for metapool.bias
# (Egger's regression test, Begg's rank correlation test, trim and fill).
#
# Usage (from the repository root):
#   Rscript tests/reference/make_small_study_effects.R
#
# Writes tests/reference/small_study_effects.json.  Needs R with metafor (3.8-1 was
# used), metadat and jsonlite; reuses the controls and the full-precision JSON
# writer of common.R.  Takes about 5 seconds.
#
# What is recorded, per dataset (yi and vi as given to metafor):
#   regtest   - regtest(model = "lm") and regtest(model = "rma") for fits with
#               every tau^2 method (test "z"), REML with the other tests, the
#               common-effect model with "z" and "t", and REML at level 90.
#               The "rma" variant refits rma(yi, vi, mods = ~ sei, method =
#               <fit's method>, test = <fit's test>, level = <fit's level>,
#               control = <fit's control>), so the tight control of the fit is
#               used for the meta-regression as well.
#   ranktest  - ranktest(yi, vi): Kendall's tau and its p-value (exact unless
#               there are ties, as cor.test(exact = TRUE)).
#   trimfill  - trimfill(fit, estimator = L0 / R0 / Q0) for FE, REML and DL fits,
#               plus a forced side and a knha/level-90 fit.  `control` (and, for
#               the knha fit, `test` and `level`) are passed through trimfill's
#               `...`, so that every internal rma.uni() call is tight and the
#               adjusted fit has the same settings as the original one (without
#               them metafor refits the filled data with test = "z", level = 95).

local({
  args <- commandArgs(trailingOnly = FALSE)
  file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
  script_dir <- if (length(file_arg)) dirname(normalizePath(file_arg[1])) else "tests/reference"
  assign("SCRIPT_DIR", script_dir, envir = globalenv())
})
source(file.path(SCRIPT_DIR, "common.R"))
suppressPackageStartupMessages(library(metadat))

OUT_FILE <- file.path(SCRIPT_DIR, "small_study_effects.json")

# ---------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------

ds <- function(name, source, yi, vi, labels, extra = list()) {
  c(list(name = name, source = source,
         labels = jarray(as.character(labels)),
         yi = jarray(as.numeric(yi)), vi = jarray(as.numeric(vi))), extra)
}
author_year <- function(author, year) paste(trimws(as.character(author)), year)

datasets <- list()

d <- dat.bcg
e <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = d)
datasets[[length(datasets) + 1]] <- ds(
  "bcg_rr",
  "metadat::dat.bcg, escalc('RR', ai = tpos, bi = tneg, ci = cpos, di = cneg); trim and fill adds studies on the right",
  e$yi, e$vi, author_year(d$author, d$year),
  list(input = list(events1 = jarray(as.numeric(d$tpos)), n1 = jarray(as.numeric(d$tpos + d$tneg)),
                    events2 = jarray(as.numeric(d$cpos)), n2 = jarray(as.numeric(d$cpos + d$cneg)))))

d <- dat.hackshaw1998
datasets[[length(datasets) + 1]] <- ds(
  "hackshaw1998",
  "metadat::dat.hackshaw1998 (passive smoking and lung cancer, log OR), yi/vi as stored; trim and fill adds studies on the left",
  d$yi, d$vi, author_year(d$author, d$year))

d <- dat.egger2001
e <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d)
datasets[[length(datasets) + 1]] <- ds(
  "egger2001_or",
  "metadat::dat.egger2001 (intravenous magnesium after myocardial infarction), escalc('OR', ai, n1i, ci, n2i); 0.5 added to the zero-cell study (Bertschat 1989)",
  e$yi, e$vi, author_year(d$study, d$year))

d <- dat.bangertdrowns2004
datasets[[length(datasets) + 1]] <- ds(
  "bangertdrowns2004",
  "metadat::dat.bangertdrowns2004 (writing-to-learn, SMD), yi/vi as stored; vi has ties, so ranktest uses the normal approximation",
  d$yi, d$vi, author_year(d$author, d$year))

d <- dat.lehmann2018
datasets[[length(datasets) + 1]] <- ds(
  "lehmann2018",
  "metadat::dat.lehmann2018 (red and perceived attractiveness, SMD), yi/vi as stored; k = 81 without ties (exact Kendall p-value at large k)",
  d$yi, d$vi, d$Short_Title)

d <- dat.hackshaw1998[1:5, ]
datasets[[length(datasets) + 1]] <- ds(
  "hackshaw1998_k5",
  "first 5 rows of metadat::dat.hackshaw1998 (k < 10: metapool warns)",
  d$yi, d$vi, author_year(d$author, d$year))

d <- dat.bcg[1:3, ]
e <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = d)
datasets[[length(datasets) + 1]] <- ds(
  "bcg_rr_k3",
  "first 3 rows of metadat::dat.bcg as RR (k = 3, the smallest k metapool accepts: df = 1)",
  e$yi, e$vi, author_year(d$author, d$year))

# ---------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------

warned <- character(0)
note_warnings <- function(where, w) {
  if (length(w)) warned <<- c(warned, paste0(where, ": ", w))
}

num <- function(x) if (is.null(x) || length(x) == 0L || is.na(x[1])) NULL else as.numeric(x[1])

regtest_lm_record <- function(yi, vi) {
  r <- capture(regtest(yi, vi, model = "lm"))
  note_warnings("regtest lm", r$warnings)
  rt <- r$value
  cf <- coef(summary(rt$fit))
  ci <- confint(rt$fit, level = 0.95)  # regtest() reports the CI of the limit estimate only
  list(model = "lm", method = NULL, test = "t", level = 0.95,
       statistic = num(rt$zval), pvalue = num(rt$pval), df = num(rt$ddf),
       intercept = num(cf[2, 1]), intercept_se = num(cf[2, 2]),
       limit_estimate = num(rt$est), limit_se = num(cf[1, 2]),
       limit_ci_low = num(rt$ci.lb), limit_ci_high = num(rt$ci.ub),
       intercept_ci_low = num(ci[2, 1]), intercept_ci_high = num(ci[2, 2]),
       tau2 = NULL, sigma2 = num(summary(rt$fit)$sigma^2))
}

regtest_rma_record <- function(fit, label) {
  r <- capture(regtest(fit, model = "rma"))
  note_warnings(paste("regtest rma", label), r$warnings)
  if (r$failed) stop(clean_msg(r$value))
  rt <- r$value
  f <- rt$fit
  list(model = "rma", method = fit$method, test = fit$test, level = 1 - fit$level,
       statistic = num(rt$zval), pvalue = num(rt$pval),
       df = if (fit$test == "z") NULL else num(rt$ddf),
       intercept = num(f$beta[2]), intercept_se = num(f$se[2]),
       limit_estimate = num(rt$est), limit_se = num(f$se[1]),
       limit_ci_low = num(rt$ci.lb), limit_ci_high = num(rt$ci.ub),
       intercept_ci_low = num(f$ci.lb[2]), intercept_ci_high = num(f$ci.ub[2]),
       tau2 = num(f$tau2), sigma2 = NULL)
}

ranktest_record <- function(yi, vi) {
  r <- capture(ranktest(yi, vi))
  note_warnings("ranktest", r$warnings)
  ties <- length(unique(vi)) < length(vi) ||
    length(unique((yi - weighted.mean(yi, 1 / vi)) / sqrt(vi - 1 / sum(1 / vi)))) < length(vi)
  list(statistic = num(r$value$tau), pvalue = num(r$value$pval), exact = !ties,
       warnings = jarray(r$warnings))
}

# The adjusted (filled) fit as a flat record, with Q-profile intervals.
adjusted_record <- function(tf, ctl) {
  rec <- empty_fit(tf$method, tf$test, 1 - tf$level)
  rec <- fill_common_fields(rec, tf, q_df = tf$k - tf$p)
  rec$converged <- TRUE
  rec <- setf(rec, "df", if (tf$test == "z") NULL else scalar(tf$ddf))
  rec <- setf(rec, "tau2", scalar(tf$tau2))
  if (!is.element(tf$method, c("FE", "EE", "CE"))) {
    ci <- qprofile_ci(tf, tight_confint_control(ctl))
    for (nm in names(ci$values)) rec <- setf(rec, nm, ci$values[[nm]])
    rec$warnings <- jarray(c(rec$warnings, ci$warnings))
  }
  rec
}

trimfill_record <- function(fit, estimator, ctl, side = NULL, pass_settings = FALSE) {
  args <- list(fit, estimator = estimator, control = ctl)
  if (!is.null(side)) args$side <- side
  if (pass_settings) {
    args$test <- fit$test
    args$level <- 100 * (1 - fit$level)
  }
  r <- capture(do.call(trimfill, args))
  note_warnings(paste("trimfill", fit$method, estimator), r$warnings)
  head <- list(method = fit$method, test = fit$test, level = 1 - fit$level,
               estimator = estimator, side_given = side, error = NULL)
  if (r$failed) {
    # Q0 is undefined when 2 k^2 - 4 S_r + 1/4 < 0; metafor then stops with
    # "missing value where TRUE/FALSE needed".  Recorded, not fatal.
    head["error"] <- clean_msg(r$value)
    return(head)
  }
  tf <- r$value
  c(head, list(
       k0 = num(tf$k0), se_k0 = num(tf$se.k0), side = tf$side, p_k0 = num(tf$p.k0),
       fill_yi = jarray(as.numeric(tf$yi[tf$fill])),
       fill_vi = jarray(as.numeric(tf$vi[tf$fill])),
       adjusted = adjusted_record(tf, ctl)))
}

REGTEST_FITS <- list(
  list(method = "FE", test = "z", level = 95),
  list(method = "FE", test = "t", level = 95),
  list(method = "REML", test = "z", level = 95),
  list(method = "REML", test = "knha", level = 95),
  list(method = "REML", test = "adhoc", level = 95),
  list(method = "REML", test = "t", level = 95),
  list(method = "REML", test = "z", level = 90),
  list(method = "DL", test = "z", level = 95),
  list(method = "ML", test = "z", level = 95),
  list(method = "PM", test = "z", level = 95),
  list(method = "EB", test = "z", level = 95),
  list(method = "HE", test = "z", level = 95),
  list(method = "SJ", test = "z", level = 95),
  list(method = "HS", test = "z", level = 95))

build <- function(d) {
  yi <- as.numeric(unclass(d$yi)); vi <- as.numeric(unclass(d$vi))  # drop the jarray class
  ctl <- tight_rma_control(yi, vi)
  fit_of <- function(method, test = "z", level = 95) {
    r <- capture(rma.uni(yi, vi, method = method, test = test, level = level, control = ctl))
    note_warnings(paste("rma", d$name, method, test), r$warnings)
    if (r$failed) stop(clean_msg(r$value))
    r$value
  }
  reg <- list(regtest_lm_record(yi, vi))
  for (s in REGTEST_FITS) {
    reg[[length(reg) + 1]] <- regtest_rma_record(fit_of(s$method, s$test, s$level),
                                                 paste(d$name, s$method, s$test))
  }
  tfs <- list()
  for (m in c("FE", "REML", "DL")) {
    fit <- fit_of(m)
    for (est in c("L0", "R0", "Q0")) tfs[[length(tfs) + 1]] <- trimfill_record(fit, est, ctl)
  }
  fit <- fit_of("REML")
  auto_side <- trimfill(fit, control = ctl)$side
  other <- if (auto_side == "left") "right" else "left"
  tfs[[length(tfs) + 1]] <- trimfill_record(fit, "L0", ctl, side = other)
  tfs[[length(tfs) + 1]] <- trimfill_record(fit_of("REML", "knha", 90), "L0", ctl,
                                            pass_settings = TRUE)
  d$control <- ctl[c("threshold", "tol", "maxiter", "tau2.max")]
  d$regtest <- reg
  d$ranktest <- ranktest_record(yi, vi)
  d$trimfill <- tfs
  if (d$name == "bcg_rr") {
    inp <- lapply(d$input, function(x) as.numeric(unclass(x)))
    mh <- rma.mh(ai = inp$events1, n1i = inp$n1, ci = inp$events2, n2i = inp$n2, measure = "RR")
    rec <- regtest_rma_record(mh, "bcg MH")
    rec$method <- "MH"
    d$regtest_mh <- rec
    d$ranktest_mh <- {
      r <- capture(ranktest(mh))
      list(statistic = num(r$value$tau), pvalue = num(r$value$pval))
    }
  }
  d
}

out <- list(
  metafor_version = metafor_version_string(),
  metadat_version = as.character(utils::packageVersion("metadat")),
  r_version = R.version.string,
  generated_by = "tests/reference/make_small_study_effects.R",
  date = format(Sys.Date()),
  datasets = lapply(datasets, build))

write_json_file(out, OUT_FILE)
if (length(warned)) {
  cat("metafor warnings (expected: ranktest ties for bangertdrowns2004, Q0 NaNs for egger2001_or):\n")
  cat(paste0("  ", unique(warned)), sep = "\n")
}
cat("wrote", OUT_FILE, "\n")

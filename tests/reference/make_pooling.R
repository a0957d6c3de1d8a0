# Generate pinned metafor reference numbers for the metapool test-suite.
#
# Usage (from the repository root):
#   Rscript tests/reference/make_pooling.R
#
# Writes tests/reference/pooling.json.  Needs R with metafor
# (3.8-1 was used), metadat and jsonlite.  See tests/reference/README.md.

local({
  args <- commandArgs(trailingOnly = FALSE)
  file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
  script_dir <- if (length(file_arg)) dirname(normalizePath(file_arg[1])) else "tests/reference"
  assign("SCRIPT_DIR", script_dir, envir = globalenv())
})
source(file.path(SCRIPT_DIR, "common.R"))
suppressPackageStartupMessages(library(metadat))

OUT_FILE <- file.path(SCRIPT_DIR, "pooling.json")
LEVEL <- 0.95

# ---------------------------------------------------------------------------
# Dataset definitions
# ---------------------------------------------------------------------------
# Each definition is a list with name, source, measure, labels and either
#   continuous: mean1 sd1 n1 mean2 sd2 n2
#   binary:     events1 n1 events2 n2
#   GEN:        yi vi

ds_continuous <- function(name, source, measure, d, labels) {
  list(name = name, source = source, measure = measure, type = "continuous",
       input = list(mean1 = jarray(as.numeric(d$m1i)), sd1 = jarray(as.numeric(d$sd1i)),
                    n1 = jarray(as.numeric(d$n1i)),
                    mean2 = jarray(as.numeric(d$m2i)), sd2 = jarray(as.numeric(d$sd2i)),
                    n2 = jarray(as.numeric(d$n2i))),
       labels = as.character(labels))
}

ds_binary <- function(name, source, measure, events1, n1, events2, n2, labels) {
  list(name = name, source = source, measure = measure, type = "binary",
       input = list(events1 = jarray(as.numeric(events1)), n1 = jarray(as.numeric(n1)),
                    events2 = jarray(as.numeric(events2)), n2 = jarray(as.numeric(n2))),
       labels = as.character(labels))
}

ds_generic <- function(name, source, yi, vi, labels) {
  list(name = name, source = source, measure = "GEN", type = "generic",
       input = list(yi = jarray(as.numeric(yi)), vi = jarray(as.numeric(vi))),
       labels = as.character(labels))
}

author_year <- function(author, year) paste(trimws(as.character(author)), year)

datasets <- list()

# -- continuous --------------------------------------------------------------
d <- dat.normand1999
datasets[[length(datasets) + 1]] <- ds_continuous(
  "normand1999",
  "metadat::dat.normand1999 (length of hospital stay, specialist stroke unit (group 1) vs routine care (group 2))",
  "MD", d, d$source)
datasets[[length(datasets) + 1]] <- ds_continuous(
  "normand1999_smd",
  "metadat::dat.normand1999 (same data as 'normand1999', analysed as SMD)",
  "SMD", d, d$source)

d <- dat.gibson2002[!is.na(dat.gibson2002$m1i), ]
datasets[[length(datasets) + 1]] <- ds_continuous(
  "gibson2002_smd",
  "metadat::dat.gibson2002, the 13 studies with means/SDs (rows 1-13; rows 14-15 report only dichotomous data and are dropped); group 1 = self-management education, group 2 = usual care",
  "SMD", d, author_year(d$author, d$year))

# -- binary --------------------------------------------------------------------
d <- dat.bcg
for (m in c("RR", "OR", "RD")) {
  datasets[[length(datasets) + 1]] <- ds_binary(
    paste0("bcg_", tolower(m)),
    "metadat::dat.bcg (BCG vaccine and tuberculosis; events1 = tpos, n1 = tpos + tneg, events2 = cpos, n2 = cpos + cneg)",
    m, d$tpos, d$tpos + d$tneg, d$cpos, d$cpos + d$cneg, author_year(d$author, d$year))
}

d <- dat.collins1985b
datasets[[length(datasets) + 1]] <- ds_binary(
  "collins1985b_or",
  "metadat::dat.collins1985b, outcome pre-eclampsia (events1 = pre.xti, n1 = pre.nti, events2 = pre.xci, n2 = pre.nci; diuretics vs control)",
  "OR", d$pre.xti, d$pre.nti, d$pre.xci, d$pre.nci, author_year(d$author, d$year))

d <- dat.nielweise2007
for (m in c("RR", "OR")) {
  datasets[[length(datasets) + 1]] <- ds_binary(
    paste0("nielweise2007_", tolower(m)),
    "metadat::dat.nielweise2007 (anti-infective catheters and catheter-related bloodstream infections; events1 = ai, n1 = n1i, events2 = ci, n2 = n2i). Contains single-zero studies (Bach 1996, Raad 1997, Chatzinikolaou 2003, Corral 2003, Moretti 2005) and one double-zero study (Yucel 2004), so escalc's add = 1/2, to = 'only0', drop00 = FALSE continuity correction is exercised",
    m, d$ai, d$n1i, d$ci, d$n2i, author_year(d$author, d$year))
}

datasets[[length(datasets) + 1]] <- ds_binary(
  "aspirin_or",
  "Fleiss (1993) aspirin after myocardial infarction data (death counts), entered by hand: not in the installed metadat version (no dat.fleiss93 / dat.fleiss1993bin). Group 1 = aspirin, group 2 = placebo",
  "OR",
  c(49, 44, 102, 32, 85, 246, 1570), c(615, 758, 832, 317, 810, 2267, 8587),
  c(67, 64, 126, 38, 52, 219, 1720), c(624, 771, 850, 309, 406, 2257, 8600),
  c("MRC-1 1974", "CDP 1976", "MRC-2 1979", "GASP 1979", "PARIS 1980", "AMIS 1980", "ISIS-2 1988"))

d <- dat.hine1989
datasets[[length(datasets) + 1]] <- ds_binary(
  "hine1989_rd",
  "metadat::dat.hine1989 (prophylactic lidocaine and mortality; events1 = ai, n1 = n1i, events2 = ci, n2 = n2i). Homogeneous real data: Q < k - 1, so tau2 = 0 for every estimator except SJ",
  "RD", d$ai, d$n1i, d$ci, d$n2i, as.character(d$source))

# -- precomputed yi / vi ------------------------------------------------------
d <- dat.bangertdrowns2004
datasets[[length(datasets) + 1]] <- ds_generic(
  "bangertdrowns2004",
  "metadat::dat.bangertdrowns2004 (writing-to-learn interventions; yi/vi as stored in the dataset: standardized mean differences)",
  d$yi, d$vi, author_year(d$author, d$year))

d <- dat.molloy2014
es <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = d)
datasets[[length(datasets) + 1]] <- ds_generic(
  "molloy2014",
  "metadat::dat.molloy2014 (conscientiousness and medication adherence); the dataset has no yi/vi, so yi/vi = escalc(measure = 'ZCOR', ri = ri, ni = ni) as in the dataset's documentation (Fisher r-to-z, vi = 1/(ni - 3))",
  es$yi, es$vi, author_year(d$authors, d$year))

d <- dat.raudenbush1985
datasets[[length(datasets) + 1]] <- ds_generic(
  "raudenbush1985",
  "metadat::dat.raudenbush1985 (teacher expectancy and pupil IQ; yi/vi as stored in the dataset: standardized mean differences)",
  d$yi, d$vi, author_year(d$author, d$year))

d <- dat.bangertdrowns2004[1:2, ]
datasets[[length(datasets) + 1]] <- ds_generic(
  "bangertdrowns2004_k2",
  "metadat::dat.bangertdrowns2004, first 2 rows only (k = 2 edge case; yi/vi as stored)",
  d$yi, d$vi, author_year(d$author, d$year))

d <- dat.bangertdrowns2004[1:3, ]
datasets[[length(datasets) + 1]] <- ds_generic(
  "bangertdrowns2004_k3",
  "metadat::dat.bangertdrowns2004, first 3 rows only (k = 3 edge case; yi/vi as stored)",
  d$yi, d$vi, author_year(d$author, d$year))

d <- dat.hannum2020
es <- escalc(measure = "PLO", xi = xi, ni = ni, data = d)
datasets[[length(datasets) + 1]] <- ds_generic(
  "hannum2020_plo",
  "metadat::dat.hannum2020 (prevalence of olfactory dysfunction in COVID-19); yi/vi = escalc(measure = 'PLO', xi = xi, ni = ni) (logit proportions). Real data with huge heterogeneity (I^2 about 99%)",
  es$yi, es$vi, as.character(d$authorName))

d <- dat.bangertdrowns2004[dat.bangertdrowns2004$id %in% c(15, 16, 41), ]
datasets[[length(datasets) + 1]] <- ds_generic(
  "homogeneous_equal_yi",
  "metadat::dat.bangertdrowns2004, the real subset of rows with id 15, 16 and 41 (all three have yi = 0.20; vi 0.086, 0.091, 0.021). Identical yi make tau2 = 0 for every estimator including SJ (SJ is > 0 whenever the yi differ); Q = 0, so knha has s2w = 0 (se = 0, statistic = +/-Inf, written as null)",
  d$yi, d$vi, author_year(d$author, d$year))

# ---------------------------------------------------------------------------
# Computation
# ---------------------------------------------------------------------------

compute_escalc <- function(ds) {
  inp <- lapply(ds$input, unclass)
  if (ds$type == "continuous") {
    es <- escalc(measure = ds$measure, m1i = inp$mean1, sd1i = inp$sd1, n1i = inp$n1,
                 m2i = inp$mean2, sd2i = inp$sd2, n2i = inp$n2)
  } else if (ds$type == "binary") {
    es <- escalc(measure = ds$measure, ai = inp$events1, n1i = inp$n1,
                 ci = inp$events2, n2i = inp$n2)
  } else {
    es <- data.frame(yi = inp$yi, vi = inp$vi)
  }
  list(yi = as.numeric(es$yi), vi = as.numeric(es$vi))
}

control_record <- function(rma_ctrl, ci_ctrl) {
  list(rma = list(threshold = rma_ctrl$threshold, tol = rma_ctrl$tol,
                  maxiter = rma_ctrl$maxiter, tau2.max = rma_ctrl$tau2.max),
       confint = list(tol = ci_ctrl$tol, maxiter = ci_ctrl$maxiter,
                      tau2.max = ci_ctrl$tau2.max))
}

errors_seen <- character(0)
note_error <- function(ds_name, rec) {
  if (!is.null(rec$error)) {
    errors_seen <<- c(errors_seen, sprintf("%s %s/%s: %s", ds_name, rec$method, rec$test, rec$error))
  }
  if (length(rec$warnings)) {
    message(sprintf("  [%s %s/%s] warnings: %s", ds_name, rec$method, rec$test,
                    paste(unclass(rec$warnings), collapse = " | ")))
  }
}

build_dataset <- function(ds) {
  message("dataset ", ds$name)
  es <- compute_escalc(ds)
  yi <- es$yi
  vi <- es$vi
  stopifnot(all(is.finite(yi)), all(is.finite(vi)))
  rma_ctrl <- tight_rma_control(yi, vi)
  ci_ctrl <- tight_confint_control(rma_ctrl)

  common <- rma_fit_record(yi, vi, "EE", "z", LEVEL, rma_ctrl)$record
  note_error(ds$name, common)

  fits <- list()
  for (m in ALL_METHODS) {
    for (t in ALL_TESTS) {
      rec <- rma_fit_record(yi, vi, m, t, LEVEL, rma_ctrl, ci = TRUE, ci_control = ci_ctrl)$record
      note_error(ds$name, rec)
      fits[[length(fits) + 1]] <- rec
    }
  }

  dflt <- rma_fit_record(yi, vi, "REML", "z", LEVEL, control = NULL,
                         ci = TRUE, ci_control = NULL)$record
  note_error(ds$name, dflt)

  out <- list(name = ds$name, source = ds$source, measure = ds$measure,
              input = ds$input, labels = jarray(ds$labels),
              escalc = list(yi = jarray(yi), vi = jarray(vi)),
              control = control_record(rma_ctrl, ci_ctrl),
              common = common, fits = fits,
              fits_default_control = list(dflt))

  if (ds$type == "binary") {
    inp <- lapply(ds$input, unclass)
    mh <- list()
    for (m in c("RR", "OR", "RD")) {
      rec <- binary_fit_record("MH", m, inp$events1, inp$n1, inp$events2, inp$n2, LEVEL)
      note_error(ds$name, rec)
      mh[[m]] <- rec
    }
    peto <- binary_fit_record("PETO", "PETO", inp$events1, inp$n1, inp$events2, inp$n2, LEVEL)
    note_error(ds$name, peto)
    out$mh <- mh
    out$peto <- peto
  }
  out
}

results <- lapply(datasets, build_dataset)

# level = 0.90 fits for normand1999 (MD)
nd <- datasets[[which(vapply(datasets, function(d) d$name, "") == "normand1999")]]
es <- compute_escalc(nd)
rc <- tight_rma_control(es$yi, es$vi)
cc <- tight_confint_control(rc)
level090 <- list(
  dataset = "normand1999", measure = "MD", level = 0.90,
  fits = list(
    rma_fit_record(es$yi, es$vi, "REML", "z", 0.90, rc, ci = TRUE, ci_control = cc)$record,
    rma_fit_record(es$yi, es$vi, "DL", "knha", 0.90, rc, ci = TRUE, ci_control = cc)$record))
for (r in level090$fits) note_error("normand1999@0.90", r)

out <- list(
  generated_by = "tests/reference/make_pooling.R",
  metafor_version = metafor_version_string(),
  metadat_version = as.character(utils::packageVersion("metadat")),
  r_version = R.version.string,
  date = format(Sys.Date(), "%Y-%m-%d"),
  control = list(
    description = paste(
      "Tight controls, scaled per dataset (actual values in each dataset's 'control').",
      "s = var(yi) (mean(vi) if var(yi) == 0).",
      "rma.uni: threshold = 1e-13 * s (Fisher scoring stop for ML/REML/EB),",
      "tol = 1e-13 * s (uniroot tolerance for PM, also the ML/REML ll0check margin),",
      "maxiter = 10000, tau2.max = 1e4 * var(yi) + 100 (PM search bracket).",
      "confint.rma.uni (Q-profile): tol and maxiter as for rma.uni, tau2.max as for rma.uni",
      "(raised 100-fold, at most 4 times, if a bound reached it).",
      "fits_default_control and mh/peto use metafor's defaults."),
    rma = list(threshold = "1e-13 * s", tol = "1e-13 * s", maxiter = 10000,
               tau2.max = "1e4 * var(yi) + 100",
               s = "var(yi), or mean(vi) if var(yi) == 0"),
    confint = list(tol = "1e-13 * s", maxiter = 10000, tau2.max = "1e4 * var(yi) + 100"),
    metafor_defaults = list(
      rma = list(threshold = 1e-5, tol = .Machine$double.eps^0.25, maxiter = 100,
                 tau2.max = "max(100, 10 * mad(yi)^2)"),
      confint = list(tol = .Machine$double.eps^0.25, maxiter = 1000,
                     tau2.max = "tau2.max of the fit's control if given, else max(100, 10 * tau2)"))),
  level_090 = level090,
  datasets = results)

write_json_file(out, OUT_FILE)
message("wrote ", OUT_FILE)
message(sprintf("%d datasets", length(results)))
if (length(errors_seen)) {
  message("metafor errors recorded:")
  for (e in errors_seen) message("  ", e)
} else {
  message("no metafor errors recorded")
}

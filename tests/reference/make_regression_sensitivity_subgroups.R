# Generate pinned metafor reference numbers for issue 3: meta-regression,
# sensitivity analyses (leave-one-out, cumulative, influence) and subgroups.
#
# Usage (from the repository root):
#   Rscript tests/reference/make_regression_sensitivity_subgroups.R
#
# Writes tests/reference/regression_sensitivity_subgroups.json.  Needs R with metafor (3.8-1
# was used), metadat and jsonlite; reuses the tight controls, capture() and the
# full-precision JSON writer of common.R.  Takes about 15 seconds.
#
# What is recorded (see the "layout" entry of the JSON for the field names):
#
# regression  - rma(yi, vi, mods = <formula>, data = <moderators>, method = M,
#               test = T, control = <tight>) for M in REML ML DL HE SJ PM EB HS
#               (and EE) x T in z knha t adhoc, on dat.bcg (log RR; ablat, year,
#               alloc as a factor, and all three together), dat.raudenbush1985
#               (weeks, and weeks capped at 3 as in metafor's documentation),
#               dat.bangertdrowns2004 (grade, numeric and as a factor; complete
#               data), dat.molloy2014 (meanage + quality) and dat.hine1989 (RD;
#               total sample size; homogeneous: the intercept-only tau2 is 0,
#               where metafor sets R2 = 0).  For every fit:
#               coefficients with se, z/t, p and CI, vcov, tau2 with its
#               Q-profile CI (confint(), tight control; residual tau2), QM with
#               df (an F statistic with (m, k - p) df under knha/t/adhoc, as
#               metafor reports it) and p, QE with df and p, R2, I2, H2, and
#               predict() at new moderator values (CI and PI).
#               Categorical moderators are factors whose levels are the sorted
#               distinct values (sort(method = "radix"), i.e. C-locale byte
#               order, like Python's sorted()); R's default treatment contrasts
#               make the first level the reference, as metapool does.
# sensitivity - leave1out() and cumul(order = year) for rma.uni fits (REML/z,
#               DL/knha, PM/adhoc, ML/t, EE/z), rma.mh (RR, OR, RD) and
#               rma.peto on dat.bcg and dat.nielweise2007 (zero cells, one
#               double-zero study), and rma.uni fits on dat.raudenbush1985;
#               influence() for the rma.uni fits REML/z, DL/knha, PM/adhoc and
#               EE/z.  The rma.uni fits use the tight control, which leave1out,
#               cumul and influence pass on to every refit (x$control).  Rows of
#               ML/REML lists where metafor's Fisher scoring stopped at a local
#               maximum or failed (NA) also get the best fit over several starting
#               values ("best_of_starts"; see best_of_starts() below).
# subgroups   - dat.bcg by alloc (log RR) and dat.raudenbush1985 by weeks
#               banded as 0, 1, 2, 3, >3 (the "3" subgroup has one study).
#               Each subgroup: rma(yi, vi, method = M, test = T, subset = g == level);
#               overall: the same on all studies; test for subgroup differences
#               as RevMan/meta: rma(est, sei = se, method = "FE") over the
#               subgroup estimates (QE = Q_between, df = G - 1, QEp, I2).
#               With a common tau2: tau2 from rma(yi, vi, mods = ~ g, method = M)
#               (g a factor), each subgroup rma(yi, vi, tau2 = <that tau2>,
#               test = T, subset = ...), and (for z) the QM of the mods model,
#               which equals Q_between.  Also Mantel-Haenszel (RR) and Peto
#               subgroups for dat.bcg.

local({
  args <- commandArgs(trailingOnly = FALSE)
  file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
  script_dir <- if (length(file_arg)) dirname(normalizePath(file_arg[1])) else "tests/reference"
  assign("SCRIPT_DIR", script_dir, envir = globalenv())
})
source(file.path(SCRIPT_DIR, "common.R"))
suppressPackageStartupMessages(library(metadat))

OUT_FILE <- file.path(SCRIPT_DIR, "regression_sensitivity_subgroups.json")
LEVEL <- 95
REG_METHODS <- c("REML", "ML", "DL", "HE", "SJ", "PM", "EB", "HS", "EE")

errors_seen <- character(0)
note_error <- function(where, rec) {
  if (!is.null(rec$error)) errors_seen <<- c(errors_seen, paste0(where, ": ", rec$error))
}

vec <- function(x) jarray(as.numeric(unname(x)))
num <- function(x) scalar(x)
author_year <- function(author, year) paste(trimws(as.character(author)), year)
# Unique study labels: duplicates get a, b, ... ("Pellegrini & Hicks 1972a"), so
# that metafor does not make them unique its own way.
unique_labels <- function(x) {
  n <- ave(seq_along(x), x, FUN = seq_along)
  dup <- duplicated(x) | duplicated(x, fromLast = TRUE)
  x[dup] <- paste0(x[dup], letters[n[dup]])
  x
}

# A categorical moderator: a factor with the sorted distinct values as levels.
as_category <- function(x, levels = sort(unique(as.character(x)), method = "radix")) {
  factor(as.character(x), levels = levels)
}

# Moderator columns for the JSON: numbers stay numbers, factors become strings.
json_columns <- function(df) {
  out <- lapply(df, function(col) {
    if (is.factor(col)) jarray(as.character(col)) else vec(col)
  })
  names(out) <- names(df)
  out
}

# ---------------------------------------------------------------------------
# Meta-regression
# ---------------------------------------------------------------------------

reg_record <- function(yi, vi, fml, mods, newmods, method, test, ctrl, ci_ctrl) {
  rec <- list(method = method, test = test, error = NULL)
  res <- capture(rma.uni(yi = yi, vi = vi, mods = fml, data = mods, method = method,
                         test = test, level = LEVEL, control = ctrl))
  rec$warnings <- jarray(res$warnings)
  if (res$failed) {
    rec$error <- clean_msg(res$value)
    return(rec)
  }
  fit <- res$value
  rec$names <- jarray(rownames(fit$beta))
  rec$coef <- vec(fit$beta)
  rec$se <- vec(fit$se)
  rec$statistic <- vec(fit$zval)
  rec$pvalue <- vec(fit$pval)
  rec$ci_low <- vec(fit$ci.lb)
  rec$ci_high <- vec(fit$ci.ub)
  rec <- setf(rec, "df", if (test == "z") NULL else num(fit$ddf))
  rec$vcov <- lapply(seq_len(nrow(fit$vb)), function(i) vec(fit$vb[i, ]))
  rec$tau2 <- num(fit$tau2)
  rec$k <- num(fit$k)
  rec$p <- num(fit$p)
  rec$qm <- num(fit$QM)
  rec$qm_df <- num(fit$QMdf[1])
  rec <- setf(rec, "qm_df2", num(fit$QMdf[2]))
  rec$qm_pvalue <- num(fit$QMp)
  rec$qe <- num(fit$QE)
  rec$qe_df <- num(fit$k - fit$p)
  rec$qe_pvalue <- num(fit$QEp)
  rec <- setf(rec, "r2", num(fit$R2))
  rec$i2 <- num(fit$I2)
  rec$h2 <- num(fit$H2)
  if (method != "EE") {
    ci <- qprofile_ci(fit, ci_ctrl)
    for (nm in names(ci$values)) rec <- setf(rec, nm, ci$values[[nm]])
    rec$warnings <- jarray(c(rec$warnings, ci$warnings))
  }
  X_new <- model.matrix(fml, data = newmods)[, -1, drop = FALSE]
  pr <- capture(predict(fit, newmods = X_new))
  if (pr$failed) {
    rec$warnings <- jarray(c(rec$warnings, paste0("predict error: ", clean_msg(pr$value))))
  } else {
    p <- pr$value
    rec$predict <- list(pred = vec(p$pred), se = vec(p$se),
                        ci_low = vec(p$ci.lb), ci_high = vec(p$ci.ub),
                        pi_low = vec(p$pi.lb), pi_high = vec(p$pi.ub))
  }
  rec
}

# One dataset with its moderators and the models fitted to it.
#   models: list of list(name, formula (a string), columns (moderators used, in
#           formula order), newdata (data.frame of new moderator values))
reg_dataset <- function(name, source, yi, vi, labels, mods, models) {
  ctrl <- tight_rma_control(yi, vi)
  ci_ctrl <- tight_confint_control(ctrl)
  out_models <- lapply(models, function(m) {
    fml <- as.formula(m$formula)
    fits <- list()
    for (method in REG_METHODS) for (test in ALL_TESTS) {
      rec <- reg_record(yi, vi, fml, mods, m$newdata, method, test, ctrl, ci_ctrl)
      note_error(paste(name, m$name, method, test), rec)
      fits[[length(fits) + 1L]] <- rec
    }
    list(name = m$name, formula = m$formula, columns = jarray(m$columns),
         moderators = json_columns(mods[m$columns]),
         newdata = json_columns(m$newdata[m$columns]),
         fits = fits)
  })
  list(name = name, source = source, labels = jarray(as.character(labels)),
       yi = vec(yi), vi = vec(vi), control = list(rma = ctrl, confint = ci_ctrl),
       models = out_models)
}

regression <- list()

d <- dat.bcg
es <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = d)
mods <- data.frame(ablat = d$ablat, year = d$year, alloc = as_category(d$alloc))
alloc_levels <- levels(mods$alloc)
regression[[length(regression) + 1L]] <- reg_dataset(
  "bcg_rr",
  "metadat::dat.bcg, escalc('RR', ai = tpos, bi = tneg, ci = cpos, di = cneg); moderators ablat (absolute latitude), year, alloc (treatment allocation: alternate, random, systematic)",
  es$yi, es$vi, author_year(d$author, d$year), mods,
  list(
    list(name = "ablat", formula = "~ ablat", columns = "ablat",
         newdata = data.frame(ablat = c(10, 33.5, 55))),
    list(name = "year", formula = "~ year", columns = "year",
         newdata = data.frame(year = c(1950, 1965, 1980))),
    list(name = "alloc", formula = "~ alloc", columns = "alloc",
         newdata = data.frame(alloc = as_category(c("alternate", "random", "systematic"),
                                                  alloc_levels))),
    list(name = "ablat_year_alloc", formula = "~ ablat + year + alloc",
         columns = c("ablat", "year", "alloc"),
         newdata = data.frame(ablat = c(20, 45), year = c(1960, 1975),
                              alloc = as_category(c("random", "systematic"), alloc_levels)))))

d <- dat.raudenbush1985
mods <- data.frame(weeks = d$weeks, weeks_c = ifelse(d$weeks > 3, 3, d$weeks))
regression[[length(regression) + 1L]] <- reg_dataset(
  "raudenbush1985",
  "metadat::dat.raudenbush1985 (teacher expectancy; yi/vi as stored); moderators weeks (of prior teacher-student contact) and weeks_c = ifelse(weeks > 3, 3, weeks) as in the dataset's documentation",
  d$yi, d$vi, unique_labels(author_year(d$author, d$year)), mods,
  list(
    list(name = "weeks", formula = "~ weeks", columns = "weeks",
         newdata = data.frame(weeks = c(0, 3, 10))),
    list(name = "weeks_c", formula = "~ weeks_c", columns = "weeks_c",
         newdata = data.frame(weeks_c = c(0, 1, 2, 3)))))

d <- dat.bangertdrowns2004
grade_levels <- sort(unique(as.character(d$grade)), method = "radix")
mods <- data.frame(grade = d$grade, grade_f = as_category(d$grade))
regression[[length(regression) + 1L]] <- reg_dataset(
  "bangertdrowns2004",
  "metadat::dat.bangertdrowns2004 (writing-to-learn; yi/vi as stored); moderator grade (1-4, complete data), numeric (grade) and as a factor (grade_f)",
  d$yi, d$vi, author_year(d$author, d$year), mods,
  list(
    list(name = "grade", formula = "~ grade", columns = "grade",
         newdata = data.frame(grade = c(1, 2.5, 4))),
    list(name = "grade_f", formula = "~ grade_f", columns = "grade_f",
         newdata = data.frame(grade_f = as_category(c("1", "3", "4"), grade_levels)))))

d <- dat.molloy2014
es <- escalc("ZCOR", ri = ri, ni = ni, data = d)
mods <- data.frame(meanage = d$meanage, quality = d$quality)
regression[[length(regression) + 1L]] <- reg_dataset(
  "molloy2014",
  "metadat::dat.molloy2014 (conscientiousness and medication adherence); yi/vi = escalc('ZCOR', ri, ni); moderators meanage and quality (numeric 1-3)",
  es$yi, es$vi, author_year(d$authors, d$year), mods,
  list(
    list(name = "meanage_quality", formula = "~ meanage + quality",
         columns = c("meanage", "quality"),
         newdata = data.frame(meanage = c(30, 50, 70), quality = c(1, 2, 3)))))

d <- dat.hine1989
es <- escalc("RD", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d)
mods <- data.frame(n = d$n1i + d$n2i)
regression[[length(regression) + 1L]] <- reg_dataset(
  "hine1989_rd",
  "metadat::dat.hine1989 (prophylactic lidocaine; escalc('RD', ai, n1i, ci, n2i)); moderator n = n1i + n2i (total sample size). Homogeneous data: the intercept-only tau2 is 0 for every estimator but SJ, where metafor sets R2 = 0",
  es$yi, es$vi, as.character(d$source), mods,
  list(
    list(name = "n", formula = "~ n", columns = "n",
         newdata = data.frame(n = c(100, 200, 300)))))

# ---------------------------------------------------------------------------
# Sensitivity: leave1out, cumul, influence
# ---------------------------------------------------------------------------

list_record <- function(x) {
  stat <- if (!is.null(x$zval)) x$zval else x$tval   # tval under knha / t / adhoc
  out <- list(estimate = vec(x$estimate), se = vec(x$se), statistic = vec(stat),
              pvalue = vec(if (!is.null(x$pval)) x$pval else x$pvals),
              ci_low = vec(x$ci.lb), ci_high = vec(x$ci.ub),
              q = vec(x$Q), q_pvalue = vec(x$Qp), i2 = vec(x$I2), h2 = vec(x$H2))
  out$tau2 <- if (is.null(x$tau2)) NULL else vec(x$tau2)
  out$labels <- jarray(as.character(x$slab))
  out
}

influence_record <- function(fit) {
  inf <- influence(fit)
  list(rstudent = vec(inf$inf$rstudent), dffits = vec(inf$inf$dffits),
       cook_d = vec(inf$inf$cook.d), cov_r = vec(inf$inf$cov.r),
       tau2_del = vec(inf$inf$tau2.del), qe_del = vec(inf$inf$QE.del),
       hat = vec(inf$inf$hat), weight = vec(inf$inf$weight),
       dfbs = vec(inf$dfbs[[1]]), inf = jarray(as.logical(inf$is.infl)))
}

full_record <- function(fit) {
  list(estimate = num(fit$beta), se = num(fit$se), tau2 = num(fit$tau2), q = num(fit$QE))
}

# metafor's Fisher scoring (ML, REML) can stop at a local maximum of the
# likelihood, or fail to converge ("Fisher scoring algorithm did not converge"),
# in which case leave1out() and cumul() report the row as NA.  For every row of
# those lists we therefore also refit from several starting values, each with
# stepadj = 0.5 (the remedy help(rma) suggests), and record the fit with the
# highest log-likelihood wherever it differs from metafor's own row (tau2 off by
# more than 1e-8 * var(yi) + 1e-6 * tau2, or the row is NA), with the
# log-likelihood of both.
STARTS <- c(0, 0.01, 0.1, 1, 10)  # tau2.init, in units of var(yi) of the refit
best_of_starts <- function(yi, vi, subsets, rec, method, test, ctrl) {
  out <- list()
  if (!method %in% c("ML", "REML")) return(out)
  for (i in seq_along(subsets)) {
    y <- yi[subsets[[i]]]
    v <- vi[subsets[[i]]]
    if (length(y) < 2L) next
    best <- NULL
    for (s in STARTS) {
      con <- c(ctrl, list(tau2.init = s * var(y), stepadj = 0.5))
      f <- try(suppressWarnings(rma.uni(y, v, method = method, test = test, level = LEVEL,
                                        control = con)), silent = TRUE)
      if (inherits(f, "try-error")) next
      if (is.null(best) || c(logLik(f)) > c(logLik(best))) best <- f
    }
    orig <- unclass(rec$tau2)[i]
    if (is.null(best)) next
    if (!is.na(orig) && abs(best$tau2 - orig) <= 1e-8 * var(y) + 1e-6 * best$tau2) next
    ll_orig <- if (is.na(orig)) NULL else
      c(logLik(rma.uni(y, v, method = method, tau2 = orig, control = ctrl)))
    r <- list(row = i - 1L, estimate = num(best$beta), se = num(best$se),
              statistic = num(best$zval), pvalue = num(best$pval),
              ci_low = num(best$ci.lb), ci_high = num(best$ci.ub), q = num(best$QE),
              q_pvalue = num(best$QEp), i2 = num(best$I2), h2 = num(best$H2),
              tau2 = num(best$tau2), loglik = c(logLik(best)))
    r <- setf(r, "loglik_metafor_row", ll_orig)
    out[[length(out) + 1L]] <- r
  }
  out
}

UNI_SPECS <- list(c("REML", "z"), c("DL", "knha"), c("PM", "adhoc"), c("ML", "t"),
                  c("EE", "z"))
INFLUENCE_SPECS <- c("REML/z", "DL/knha", "PM/adhoc", "EE/z")

sens_dataset <- function(name, source, labels, ord, yi, vi, uni_measure,
                         counts = NULL) {
  ctrl <- tight_rma_control(yi, vi)
  analyses <- list()
  for (s in UNI_SPECS) {
    fit <- rma.uni(yi = yi, vi = vi, method = s[1], test = s[2], level = LEVEL,
                   control = ctrl, slab = labels)
    a <- list(kind = "rma.uni", measure = uni_measure, method = s[1], test = s[2],
              full = full_record(fit),
              leave1out = list_record(leave1out(fit)),
              cumul = list_record(cumul(fit, order = ord)))
    k <- length(yi)
    perm <- order(ord)
    a$leave1out$best_of_starts <- best_of_starts(
      yi, vi, lapply(seq_len(k), function(i) -i), a$leave1out, s[1], s[2], ctrl)
    a$cumul$best_of_starts <- best_of_starts(
      yi, vi, lapply(seq_len(k), function(i) perm[seq_len(i)]), a$cumul, s[1], s[2], ctrl)
    if (paste(s, collapse = "/") %in% INFLUENCE_SPECS) a$influence <- influence_record(fit)
    analyses[[length(analyses) + 1L]] <- a
  }
  if (!is.null(counts)) {
    for (m in c("RR", "OR", "RD")) {
      # suppressWarnings: for dat.nielweise2007 rma.mh() warns that the yi/vi of
      # the double-zero study are NA (it is left out of Q, as metapool does).
      fit <- suppressWarnings(rma.mh(ai = counts$events1, n1i = counts$n1, ci = counts$events2,
                                     n2i = counts$n2, measure = m, level = LEVEL, slab = labels))
      analyses[[length(analyses) + 1L]] <- list(
        kind = "rma.mh", measure = m, method = "MH", test = "z", full = full_record(fit),
        leave1out = list_record(leave1out(fit)),
        cumul = list_record(suppressWarnings(cumul(fit, order = ord))))
    }
    fit <- suppressWarnings(rma.peto(ai = counts$events1, n1i = counts$n1, ci = counts$events2,
                                     n2i = counts$n2, level = LEVEL, slab = labels))
    analyses[[length(analyses) + 1L]] <- list(
      kind = "rma.peto", measure = "OR", method = "PETO", test = "z", full = full_record(fit),
      leave1out = list_record(leave1out(fit)),
      cumul = list_record(suppressWarnings(cumul(fit, order = ord))))
  }
  out <- list(name = name, source = source, labels = jarray(as.character(labels)),
              order = vec(ord), yi = vec(yi), vi = vec(vi), uni_measure = uni_measure,
              control = list(rma = ctrl), analyses = analyses)
  if (!is.null(counts)) out$input <- lapply(counts, vec)
  out
}

sensitivity <- list()

d <- dat.bcg
es <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = d)
sensitivity[[length(sensitivity) + 1L]] <- sens_dataset(
  "bcg", "metadat::dat.bcg; rma.uni on escalc('RR') (log RR); cumul ordered by year",
  author_year(d$author, d$year), d$year, es$yi, es$vi, "RR",
  counts = list(events1 = d$tpos, n1 = d$tpos + d$tneg, events2 = d$cpos,
                n2 = d$cpos + d$cneg))

d <- dat.nielweise2007
es <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d)
sensitivity[[length(sensitivity) + 1L]] <- sens_dataset(
  "nielweise2007",
  "metadat::dat.nielweise2007 (five single-zero studies, one double-zero study: Yucel 2004); rma.uni on escalc('OR') with its default 1/2 correction (log OR); cumul ordered by year, so the first cumulative MH fit (Bach 1996 alone: no events in group 1) is not estimable (metafor: NA row)",
  author_year(d$author, d$year), d$year, es$yi, es$vi, "OR",
  counts = list(events1 = d$ai, n1 = d$n1i, events2 = d$ci, n2 = d$n2i))

d <- dat.raudenbush1985
sensitivity[[length(sensitivity) + 1L]] <- sens_dataset(
  "raudenbush1985", "metadat::dat.raudenbush1985 (yi/vi as stored); cumul ordered by year",
  unique_labels(author_year(d$author, d$year)), d$year, d$yi, d$vi, "GEN")

# ---------------------------------------------------------------------------
# Subgroups
# ---------------------------------------------------------------------------

sub_fit_record <- function(fit) {
  list(estimate = num(fit$beta), se = num(fit$se), statistic = num(fit$zval),
       pvalue = num(fit$pval), ci_low = num(fit$ci.lb), ci_high = num(fit$ci.ub),
       tau2 = num(fit$tau2), i2 = num(fit$I2), h2 = num(fit$H2), q = num(fit$QE),
       q_pvalue = num(fit$QEp), k = num(fit$k))
}

# Q between subgroups as RevMan / meta: a common-effect model over the estimates.
between_record <- function(est, se) {
  fe <- rma(est, sei = se, method = "FE")
  list(statistic = num(fe$QE), df = num(fe$k - 1), pvalue = num(fe$QEp), i2 = num(fe$I2))
}

# kind: "rma.uni" (method, test), "rma.mh" (measure) or "rma.peto"
sub_analysis <- function(kind, method, test, common, yi, vi, g, groups, ctrl, counts) {
  fit_one <- function(sel, tau2 = NA) {
    if (kind == "rma.mh") {
      return(rma.mh(ai = counts$events1[sel], n1i = counts$n1[sel], ci = counts$events2[sel],
                    n2i = counts$n2[sel], measure = method, level = LEVEL))
    }
    if (kind == "rma.peto") {
      return(rma.peto(ai = counts$events1[sel], n1i = counts$n1[sel],
                      ci = counts$events2[sel], n2i = counts$n2[sel], level = LEVEL))
    }
    suppressWarnings(rma.uni(yi = yi[sel], vi = vi[sel], method = method, test = test,
                             level = LEVEL, tau2 = tau2, control = ctrl))
  }
  a <- list(kind = kind, method = method, test = test, common_tau2 = common)
  tau2c <- NA
  if (common) {
    gf <- factor(g, levels = groups)
    mfit <- rma.uni(yi = yi, vi = vi, mods = ~ gf, method = method, test = "z",
                    level = LEVEL, control = ctrl)
    tau2c <- mfit$tau2
    a$tau2 <- num(tau2c)
    a$qm <- list(statistic = num(mfit$QM), df = num(mfit$QMdf[1]), pvalue = num(mfit$QMp))
  }
  fits <- lapply(groups, function(lv) fit_one(g == lv, tau2c))
  names(fits) <- groups
  a$groups <- lapply(fits, sub_fit_record)
  a$overall <- sub_fit_record(fit_one(rep(TRUE, length(g))))
  a$between <- between_record(vapply(fits, function(f) f$beta[1], 0),
                              vapply(fits, function(f) f$se, 0))
  a
}

SUB_SPECS <- list(
  list("rma.uni", "DL", "z", FALSE), list("rma.uni", "REML", "z", FALSE),
  list("rma.uni", "PM", "knha", FALSE), list("rma.uni", "EE", "z", FALSE),
  list("rma.uni", "DL", "z", TRUE), list("rma.uni", "REML", "z", TRUE),
  list("rma.uni", "PM", "z", TRUE), list("rma.uni", "REML", "knha", TRUE))

sub_dataset <- function(name, source, labels, yi, vi, g, counts = NULL) {
  ctrl <- tight_rma_control(yi, vi)
  groups <- unique(as.character(g))   # order of first appearance, as metapool
  specs <- SUB_SPECS
  if (!is.null(counts)) {
    specs <- c(specs, list(list("rma.mh", "RR", "z", FALSE), list("rma.peto", "OR", "z", FALSE)))
  }
  analyses <- lapply(specs, function(s) {
    sub_analysis(s[[1]], s[[2]], s[[3]], s[[4]], yi, vi, as.character(g), groups, ctrl, counts)
  })
  out <- list(name = name, source = source, labels = jarray(as.character(labels)),
              yi = vec(yi), vi = vec(vi), groups = jarray(as.character(g)),
              control = list(rma = ctrl), analyses = analyses)
  if (!is.null(counts)) out$input <- lapply(counts, vec)
  out
}

subgroups <- list()

d <- dat.bcg
es <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = d)
subgroups[[length(subgroups) + 1L]] <- sub_dataset(
  "bcg_alloc", "metadat::dat.bcg, escalc('RR'); subgroups: alloc (random 7, alternate 2, systematic 4)",
  author_year(d$author, d$year), es$yi, es$vi, d$alloc,
  counts = list(events1 = d$tpos, n1 = d$tpos + d$tneg, events2 = d$cpos,
                n2 = d$cpos + d$cneg))

d <- dat.raudenbush1985
band <- ifelse(d$weeks > 3, ">3", as.character(d$weeks))
subgroups[[length(subgroups) + 1L]] <- sub_dataset(
  "raudenbush1985_weeks",
  "metadat::dat.raudenbush1985 (yi/vi as stored); subgroups: weeks of prior contact banded as 0, 1, 2, 3, >3 (the '3' subgroup has a single study, Evans & Rosenthal 1969)",
  unique_labels(author_year(d$author, d$year)), d$yi, d$vi, band)

# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------

out <- list(
  generated_by = "tests/reference/make_regression_sensitivity_subgroups.R",
  metafor_version = metafor_version_string(),
  metadat_version = as.character(utils::packageVersion("metadat")),
  r_version = R.version.string,
  date = format(Sys.Date(), "%Y-%m-%d"),
  control = paste(
    "rma.uni fits use tight_rma_control(yi, vi) of common.R (threshold and tol",
    "1e-13 * var(yi), maxiter 10000); confint() uses tight_confint_control().",
    "leave1out/cumul/influence refit with the fit's own control. rma.mh/rma.peto use",
    "metafor's defaults (closed forms)."),
  layout = list(
    regression = paste(
      "datasets -> models -> fits; each fit: method, test, names, coef, se, statistic,",
      "pvalue, ci_low, ci_high, df (k - p, null for z), vcov (rows), tau2, k, p, qm, qm_df,",
      "qm_df2 (null for z), qm_pvalue, qe, qe_df, qe_pvalue, r2, i2, h2, tau2_ci_low/high",
      "(Q-profile), predict {pred, se, ci_low, ci_high, pi_low, pi_high} at newdata."),
    sensitivity = paste(
      "datasets -> analyses; each: kind, measure, method, test, full, leave1out and cumul",
      "(estimate, se, statistic, pvalue, ci_low, ci_high, q, q_pvalue, i2, h2, tau2",
      "(rma.uni only), labels in row order), influence (rma.uni: rstudent, dffits, cook_d,",
      "cov_r, tau2_del, qe_del, hat, weight, dfbs, inf)."),
    subgroups = paste(
      "datasets -> analyses; each: kind, method, test, common_tau2, tau2 and qm (common),",
      "groups {name: fit}, overall fit, between {statistic, df, pvalue, i2}.")),
  regression = regression,
  sensitivity = sensitivity,
  subgroups = subgroups)

write_json_file(out, OUT_FILE)
message("wrote ", OUT_FILE)
if (length(errors_seen)) {
  message("metafor errors recorded:")
  for (e in errors_seen) message("  ", e)
} else {
  message("no metafor errors recorded")
}

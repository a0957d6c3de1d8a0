# Shared helpers for the metafor reference scripts.
#
# Sourced by every script in tests/reference/ (make_pooling.R,
# make_regression_sensitivity_subgroups.R, make_small_study_effects.R,
# make_escalc_options.R, live_metafor.R), each from its own directory.
# Contains: tight control settings, one function per kind of fit that turns a
# metafor object into the flat <fit> record used by the Python tests, and a
# small JSON writer that prints doubles with full (round-trip) precision.
#
# jsonlite 1.8.x caps numbers at 15 significant digits even with digits = NA
# or digits = I(17), which does not round-trip a double.  We therefore write
# the JSON ourselves (numbers as the shortest of %.15g/%.16g/%.17g that
# reads back to the identical double) and only use jsonlite for escaping
# strings and for parsing input files.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

ALL_METHODS <- c("DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB")
ALL_TESTS <- c("z", "knha", "t", "adhoc")
RE_TAU2_CI_RETRIES <- 4L  # times confint() may enlarge tau2.max by 100x

# ---------------------------------------------------------------------------
# Controls
# ---------------------------------------------------------------------------

# Scale used to make the absolute convergence criteria of metafor relative:
# the variance of the observed effects (falls back to mean(vi), then 1).
tau2_scale <- function(yi, vi) {
  s <- if (length(yi) > 1L) stats::var(yi) else NA_real_
  if (!is.finite(s) || s <= 0) s <- mean(vi)
  if (!is.finite(s) || s <= 0) s <- 1
  s
}

# Control list for rma.uni().  Names as used in metafor 3.8-1 rma.uni():
#   threshold - Fisher scoring (ML/REML/EB) stops when |change in tau2| < threshold
#   tol       - uniroot() tolerance for PM (and the ML/REML "ll0check" margin)
#   maxiter   - max Fisher scoring iterations and max uniroot() iterations
#   tau2.max  - upper end of the PM uniroot() search interval
tight_rma_control <- function(yi, vi) {
  s <- tau2_scale(yi, vi)
  v <- if (length(yi) > 1L) stats::var(yi) else NA_real_
  if (!is.finite(v)) v <- 0
  list(threshold = 1e-13 * s,
       tol = 1e-13 * s,
       maxiter = 10000L,
       tau2.max = 1e4 * v + 100)
}

# Control list for confint.rma.uni() (Q-profile).  Names as used in metafor
# 3.8-1 confint.rma.uni(): tol, maxiter, tau2.min, tau2.max (uniroot bracket).
tight_confint_control <- function(rma_control) {
  list(tol = rma_control$tol,
       maxiter = rma_control$maxiter,
       tau2.max = rma_control$tau2.max)
}

# ---------------------------------------------------------------------------
# Fit records
# ---------------------------------------------------------------------------

FIT_FIELDS <- c("method", "test", "level",
                "estimate", "se", "statistic", "pvalue", "df",
                "ci_low", "ci_high", "pi_low", "pi_high",
                "pi_higgins_low", "pi_higgins_high",
                "tau2", "tau2_se",
                "tau2_ci_low", "tau2_ci_high", "i2_ci_low", "i2_ci_high",
                "h2_ci_low", "h2_ci_high",
                "i2", "h2", "q", "q_df", "q_pvalue",
                "weights", "k", "converged", "error", "warnings")

empty_fit <- function(method, test, level) {
  rec <- rep(list(NULL), length(FIT_FIELDS))
  names(rec) <- FIT_FIELDS
  rec$method <- method
  rec$test <- test
  rec$level <- level
  rec["converged"] <- list(FALSE)
  rec["warnings"] <- list(jarray(character(0)))
  rec
}

# Set a field, keeping the element (as JSON null) when the value is NULL.
setf <- function(rec, name, value) {
  if (is.null(value)) rec[name] <- list(NULL) else rec[[name]] <- value
  rec
}

scalar <- function(x) {
  if (is.null(x) || length(x) == 0L) return(NULL)
  x <- unname(x)[1]
  if (is.na(x)) return(NULL)
  as.numeric(x)
}

# Evaluate expr, collecting warnings (muffled) and turning errors into a
# condition object instead of aborting.
capture <- function(expr) {
  warns <- character(0)
  val <- withCallingHandlers(
    tryCatch(expr, error = function(e) e),
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  list(value = val, warnings = warns, failed = inherits(val, "error"))
}

clean_msg <- function(e) {
  msg <- conditionMessage(e)
  msg <- gsub("\033\\[[0-9;]*m", "", msg)  # strip crayon colour codes, if any
  trimws(msg)
}

# Q-profile confidence intervals for tau^2, I^2 and H^2 via confint().
# Returns list(values = named list of the six fields, warnings = character).
# If a bound sits at tau2.max ("ub.sign/lb.sign" == ">"), tau2.max is raised
# 100-fold and confint() rerun, up to RE_TAU2_CI_RETRIES times.
qprofile_ci <- function(fit, ci_control) {
  out <- list(tau2_ci_low = NULL, tau2_ci_high = NULL,
              i2_ci_low = NULL, i2_ci_high = NULL,
              h2_ci_low = NULL, h2_ci_high = NULL)
  warns <- character(0)
  ctrl <- ci_control
  for (attempt in 0:RE_TAU2_CI_RETRIES) {
    res <- if (is.null(ctrl)) capture(confint(fit)) else capture(confint(fit, control = ctrl))
    if (length(res$warnings)) warns <- c(warns, paste0("confint: ", res$warnings))
    if (res$failed) {
      warns <- c(warns, paste0("confint error: ", clean_msg(res$value)))
      return(list(values = out, warnings = warns))
    }
    cf <- res$value
    hit_max <- identical(cf$ub.sign, ">") || identical(cf$lb.sign, ">")
    if (hit_max && !is.null(ctrl) && attempt < RE_TAU2_CI_RETRIES) {
      ctrl$tau2.max <- ctrl$tau2.max * 100
      next
    }
    if (hit_max) warns <- c(warns, "confint: a tau2 CI bound is at tau2.max")
    rnd <- cf$random
    out <- list(tau2_ci_low = scalar(rnd["tau^2", "ci.lb"]),
                tau2_ci_high = scalar(rnd["tau^2", "ci.ub"]),
                i2_ci_low = scalar(rnd["I^2(%)", "ci.lb"]),
                i2_ci_high = scalar(rnd["I^2(%)", "ci.ub"]),
                h2_ci_low = scalar(rnd["H^2", "ci.lb"]),
                h2_ci_high = scalar(rnd["H^2", "ci.ub"]))
    break
  }
  list(values = out, warnings = warns)
}

# Fill the fields common to rma.uni / rma.mh / rma.peto objects.
fill_common_fields <- function(rec, fit, q_df) {
  rec <- setf(rec, "estimate", scalar(fit$beta))
  rec <- setf(rec, "se", scalar(fit$se))
  rec <- setf(rec, "statistic", scalar(fit$zval))
  rec <- setf(rec, "pvalue", scalar(fit$pval))
  rec <- setf(rec, "ci_low", scalar(fit$ci.lb))
  rec <- setf(rec, "ci_high", scalar(fit$ci.ub))
  rec <- setf(rec, "i2", scalar(fit$I2))
  rec <- setf(rec, "h2", scalar(fit$H2))
  rec <- setf(rec, "q", scalar(fit$QE))
  rec <- setf(rec, "q_df", scalar(q_df))
  rec <- setf(rec, "q_pvalue", scalar(fit$QEp))
  rec <- setf(rec, "k", scalar(fit$k))

  pr <- capture(predict(fit))
  if (!pr$failed) {
    rec <- setf(rec, "pi_low", scalar(pr$value$pi.lb))
    rec <- setf(rec, "pi_high", scalar(pr$value$pi.ub))
  } else {
    rec$warnings <- jarray(c(rec$warnings, paste0("predict error: ", clean_msg(pr$value))))
  }
  if (length(pr$warnings)) rec$warnings <- jarray(c(rec$warnings, paste0("predict: ", pr$warnings)))

  w <- capture(weights(fit))
  if (!w$failed) {
    rec$weights <- jarray(as.numeric(unname(w$value)))
  } else {
    rec$warnings <- jarray(c(rec$warnings, paste0("weights error: ", clean_msg(w$value))))
  }
  rec
}

# One rma.uni() fit -> <fit> record.
#   method    : metafor method ("EE", "DL", "REML", ...)
#   test      : "z", "knha", "t", "adhoc"
#   level     : e.g. 0.95 (passed to metafor as a percentage)
#   control   : rma.uni control list, or NULL for metafor's defaults
#   ci        : TRUE  -> run confint() on this fit (random-effects fits only)
#               FALSE -> leave the Q-profile fields null
#               a list(values=, warnings=) from an earlier qprofile_ci() -> copy it
#   ci_control: confint() control list, or NULL for metafor's defaults
#   label     : value stored in "method" (defaults to method)
rma_fit_record <- function(yi, vi, method, test, level, control,
                           ci = TRUE, ci_control = NULL, label = method) {
  rec <- empty_fit(label, test, level)
  level_pct <- 100 * level
  res <- if (is.null(control)) {
    capture(rma.uni(yi = yi, vi = vi, method = method, test = test, level = level_pct))
  } else {
    capture(rma.uni(yi = yi, vi = vi, method = method, test = test, level = level_pct,
                    control = control))
  }
  warns <- res$warnings
  if (res$failed) {
    rec$error <- clean_msg(res$value)
    rec$converged <- FALSE
    rec$warnings <- jarray(warns)
    return(list(record = rec, fit = NULL, ci = NULL))
  }
  fit <- res$value
  rec$warnings <- jarray(warns)
  rec <- fill_common_fields(rec, fit, q_df = fit$k - fit$p)
  rec$converged <- TRUE
  rec <- setf(rec, "df", if (test == "z") NULL else scalar(fit$ddf))

  is_re <- !is.element(method, c("EE", "FE", "CE"))
  if (is_re) {
    rec <- setf(rec, "tau2", scalar(fit$tau2))
    rec <- setf(rec, "tau2_se", scalar(fit$se.tau2))
    k <- fit$k
    if (k >= 3) {
      crit <- stats::qt(1 - (1 - level) / 2, df = k - 2)
      half <- crit * sqrt(fit$se^2 + fit$tau2)
      rec <- setf(rec, "pi_higgins_low", scalar(fit$beta - half))
      rec <- setf(rec, "pi_higgins_high", scalar(fit$beta + half))
    }
    ci_out <- NULL
    if (isTRUE(ci)) {
      ci_out <- qprofile_ci(fit, ci_control)
    } else if (is.list(ci)) {
      ci_out <- ci
    }
    if (!is.null(ci_out)) {
      for (nm in names(ci_out$values)) rec <- setf(rec, nm, ci_out$values[[nm]])
      if (isTRUE(ci)) rec$warnings <- jarray(c(rec$warnings, ci_out$warnings))
    }
  } else {
    rec <- setf(rec, "tau2", scalar(fit$tau2))  # 0 for an equal-effects model
    ci_out <- NULL
  }
  list(record = rec, fit = fit, ci = ci_out)
}

# rma.mh() / rma.peto() fit -> <fit> record (tau2 is 0 by construction).
binary_fit_record <- function(kind, measure, ai, n1i, ci, n2i, level = 0.95) {
  label <- if (kind == "MH") "MH" else "PETO"
  rec <- empty_fit(label, "z", level)
  res <- if (kind == "MH") {
    capture(rma.mh(ai = ai, n1i = n1i, ci = ci, n2i = n2i, measure = measure,
                   level = 100 * level))
  } else {
    capture(rma.peto(ai = ai, n1i = n1i, ci = ci, n2i = n2i, level = 100 * level))
  }
  if (res$failed) {
    rec$error <- clean_msg(res$value)
    rec$warnings <- jarray(res$warnings)
    return(rec)
  }
  fit <- res$value
  rec$warnings <- jarray(res$warnings)
  rec <- fill_common_fields(rec, fit, q_df = fit$k.yi - 1)
  rec <- setf(rec, "tau2", scalar(fit$tau2))
  rec$converged <- TRUE
  rec
}

# ---------------------------------------------------------------------------
# JSON writer
# ---------------------------------------------------------------------------

# Mark a vector so that it is always written as a JSON array (even length 1).
jarray <- function(x) structure(x, class = c("jarray", class(x)))

fmt_num <- function(x) {
  if (length(x) == 1L) {                   # fast path for scalars
    if (!is.finite(x)) return("null")
    if (x == round(x) && abs(x) < 1e15) return(if (x == 0) "0" else sprintf("%.0f", x))
    s <- sprintf("%.15g", x)
    if (as.numeric(s) == x) return(s)
    s <- sprintf("%.16g", x)
    if (as.numeric(s) == x) return(s)
    return(sprintf("%.17g", x))
  }
  out <- rep("null", length(x))            # NA, NaN, Inf, -Inf -> null
  fin <- is.finite(x)
  int <- fin & x == round(x) & abs(x) < 1e15
  out[int] <- sprintf("%.0f", x[int])
  out[out == "-0"] <- "0"
  todo <- fin & !int
  for (d in 15:17) {                       # shortest of %.15g/%.16g/%.17g that round-trips
    if (!any(todo)) break
    s <- sprintf("%.*g", d, x[todo])
    ok <- if (d == 17) rep(TRUE, length(s)) else as.numeric(s) == x[todo]
    idx <- which(todo)[ok]
    out[idx] <- s[ok]
    todo[idx] <- FALSE
  }
  out
}

fmt_str <- function(x) {
  x <- enc2utf8(as.character(x))
  na <- is.na(x)
  s <- x[!na]
  s <- gsub("\\\\", "\\\\\\\\", s)
  s <- gsub("\"", "\\\\\"", s)
  s <- gsub("\n", "\\\\n", s)
  s <- gsub("\r", "\\\\r", s)
  s <- gsub("\t", "\\\\t", s)
  ctrl <- grepl("[\001-\037]", s, useBytes = TRUE)
  if (any(ctrl)) {
    s[ctrl] <- vapply(s[ctrl], function(z) {
      ch <- strsplit(z, "", fixed = TRUE)[[1]]
      cp <- vapply(ch, function(c1) utf8ToInt(c1)[1], integer(1))
      ch[cp < 32] <- sprintf("\\u%04x", cp[cp < 32])
      paste(ch, collapse = "")
    }, character(1), USE.NAMES = FALSE)
  }
  out <- rep("null", length(x))
  out[!na] <- paste0("\"", s, "\"")
  out
}

fmt_atomic <- function(x) {
  if (is.logical(x)) return(ifelse(is.na(x), "null", ifelse(x, "true", "false")))
  if (is.numeric(x)) return(fmt_num(as.numeric(x)))
  if (is.factor(x)) x <- as.character(x)
  fmt_str(as.character(x))
}

to_json <- function(x, indent = 0L) {
  pad <- strrep("  ", indent)
  pad1 <- strrep("  ", indent + 1L)
  if (is.null(x)) return("null")
  if (is.list(x)) {
    nms <- names(x)
    if (length(x) == 0L) return(if (is.null(nms)) "[]" else "{}")
    parts <- vapply(seq_along(x), function(i) to_json(x[[i]], indent + 1L), character(1))
    if (!is.null(nms)) {
      parts <- paste0(pad1, fmt_str(nms), ": ", parts)
      return(paste0("{\n", paste(parts, collapse = ",\n"), "\n", pad, "}"))
    }
    return(paste0("[\n", paste0(pad1, parts, collapse = ",\n"), "\n", pad, "]"))
  }
  is_arr <- inherits(x, "jarray")
  x <- unclass(x)
  if (!is_arr && length(x) == 1L) return(fmt_atomic(x))
  if (length(x) == 0L) return("[]")
  paste0("[", paste(fmt_atomic(x), collapse = ", "), "]")
}

write_json_file <- function(x, path) {
  txt <- to_json(x)
  # sanity check: the result must parse
  invisible(jsonlite::parse_json(txt))
  writeLines(txt, path, useBytes = TRUE)
}

metafor_version_string <- function() {
  as.character(utils::packageVersion("metafor"))
}

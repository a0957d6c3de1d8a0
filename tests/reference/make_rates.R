# Reference values for metapool's incidence-rate measures (IR, IRLN, IRS, IRFT, IRR, IRD):
# metafor's escalc() on metadat's dat.hart1999 and on generated data with zero events,
# and REML / DL random-effects fits back-transformed with predict(..., transf=).
#
# Usage (from anywhere):
#   Rscript tests/reference/make_rates.R
#
# Writes tests/reference/rates.json, for tests/test_effects_rates.py.
#
# escalc cases: the call (measure, arguments, options) and metafor's yi, vi (NA, written
# as null, for studies metafor drops with drop00 = TRUE).
# fit cases: for each of REML and DL two fits of the escalc output: "metafor" with
# control = list(threshold = 1e-12, maxiter = 10000) (the documented comparison; for rates
# per person-time tau2 is tiny and Fisher scoring may stop before the root), and "exact"
# with common.R's tight_rma_control() (threshold relative to var(yi)), i.e. the root of the
# REML equation to double precision. Each records tau2, the analysis-scale estimate and
# predict(fit, transf = <inverse of the measure's scale>): pred, ci, pi.

local({
  args <- commandArgs(trailingOnly = FALSE)
  file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
  script_dir <- if (length(file_arg)) dirname(normalizePath(file_arg[1])) else "tests/reference"
  assign("SCRIPT_DIR", script_dir, envir = globalenv())
})
source(file.path(SCRIPT_DIR, "common.R"))
suppressPackageStartupMessages(library(metadat))

OUT_FILE <- file.path(SCRIPT_DIR, "rates.json")

out <- list(generated_by = "tests/reference/make_rates.R",
            metafor_version = metafor_version_string(),
            metadat_version = as.character(packageVersion("metadat")),
            r_version = R.version.string,
            escalc = list(), fits = list())

add_escalc <- function(name, measure, args, options = list()) {
  es <- do.call(escalc, c(list(measure = measure), args, options))
  out$escalc[[length(out$escalc) + 1L]] <<- list(
    name = name, measure = measure,
    args = lapply(args, function(v) jarray(as.numeric(v))),
    options = options,
    yi = jarray(as.numeric(es$yi)), vi = jarray(as.numeric(es$vi)))
  invisible(es)
}

inverse_of <- function(measure, ti) {
  switch(measure,
         IR = list(transf = NULL, targs = NULL),
         IRD = list(transf = NULL, targs = NULL),
         IRLN = list(transf = exp, targs = NULL),
         IRR = list(transf = exp, targs = NULL),
         IRS = list(transf = transf.isqrt, targs = NULL),
         # the Freeman-Tukey inverse with the harmonic mean of the person-times
         IRFT = list(transf = transf.iirft, targs = 1 / mean(1 / ti)))
  # (predict.rma calls transf(x, targs): transf.iirft(x, ti) gets the number itself)
}

fit_record <- function(es, measure, method, control, ti) {
  keep <- !is.na(es$yi)
  fit <- rma(es$yi[keep], es$vi[keep], method = method, control = control)
  inv <- inverse_of(measure, ti)
  p <- if (is.null(inv$transf)) predict(fit) else predict(fit, transf = inv$transf, targs = inv$targs)
  list(tau2 = as.numeric(fit$tau2), estimate = as.numeric(fit$beta),
       pred = as.numeric(p$pred), ci_low = as.numeric(p$ci.lb), ci_high = as.numeric(p$ci.ub),
       pi_low = as.numeric(p$pi.lb), pi_high = as.numeric(p$pi.ub))
}

add_fits <- function(name, es, measure, ti) {
  keep <- !is.na(es$yi)
  loose <- list(threshold = 1e-12, maxiter = 10000L)
  tight <- tight_rma_control(es$yi[keep], es$vi[keep])
  for (method in c("REML", "DL")) {
    out$fits[[length(out$fits) + 1L]] <<- list(
      name = paste0(name, "_", method), escalc = name, method = method,
      harmonic_time = if (measure == "IRFT") 1 / mean(1 / ti[keep]) else NULL,
      metafor = fit_record(es, measure, method, loose, ti[keep]),
      exact = fit_record(es, measure, method, tight, ti[keep]))
  }
}

hart <- dat.hart1999
two_arm <- list(x1i = hart$x1i, t1i = hart$t1i, x2i = hart$x2i, t2i = hart$t2i)
for (m in c("IRR", "IRD")) {
  name <- paste0("hart_", m)
  add_fits(name, add_escalc(name, m, two_arm), m, hart$t1i)
}
for (arm in c("1", "2")) {
  one_arm <- list(xi = hart[[paste0("x", arm, "i")]], ti = hart[[paste0("t", arm, "i")]])
  for (m in c("IR", "IRLN", "IRS", "IRFT")) {
    name <- paste0("hart", arm, "_", m)
    add_fits(name, add_escalc(name, m, one_arm), m, one_arm$ti)
  }
}

# generated single-group data with studies without events
zeros <- list(xi = c(0, 3, 0, 7, 12, 1), ti = c(150.5, 220, 80, 310, 95.25, 40))
for (m in c("IR", "IRLN", "IRS", "IRFT")) {
  name <- paste0("zeros_", m)
  add_fits(name, add_escalc(name, m, zeros), m, zeros$ti)
}
add_escalc("zeros_IR_all", "IR", zeros, list(to = "all"))
add_escalc("zeros_IR_add_quarter", "IR", zeros, list(add = 0.25))
add_escalc("zeros_IRLN_if0all", "IRLN", zeros, list(to = "if0all"))
add_escalc("zeros_IRS_add_half", "IRS", zeros, list(add = 0.5))
add_escalc("zeros_IRFT_add_half_all", "IRFT", zeros, list(add = 0.5, to = "all"))
add_escalc("zeros_IRLN_none_positive", "IRLN", list(xi = c(2, 3, 5), ti = c(10, 20, 30)),
           list(to = "none"))

# generated two-group data with zero events in one or both groups
zeros2 <- list(x1i = c(0, 2, 0, 5, 9), t1i = c(120, 85.5, 60, 200, 410),
               x2i = c(0, 0, 4, 6, 15), t2i = c(110, 90, 64.5, 190, 400))
for (m in c("IRR", "IRD")) {
  name <- paste0("zeros2_", m)
  add_fits(name, add_escalc(name, m, zeros2), m, zeros2$t1i)
  add_escalc(paste0(name, "_all"), m, zeros2, list(to = "all"))
  add_escalc(paste0(name, "_add_quarter"), m, zeros2, list(add = 0.25))
  add_escalc(paste0(name, "_if0all"), m, zeros2, list(to = "if0all"))
  add_escalc(paste0(name, "_drop00"), m, zeros2, list(drop00 = TRUE))
}

write_json_file(out, OUT_FILE)

# Reference values for the correlation family (metapool.effects.correlation):
# metafor's escalc() for COR, UCOR and ZCOR, and REML/DL pooling with back-transformed
# predictions (transf.ztor for ZCOR).
#
# Usage (from anywhere):
#   Rscript tests/reference/make_correlations.R
#
# Writes tests/reference/correlations.json, for tests/test_effects_correlations.py.
# UCOR needs the R package gsl (metafor's .Fcalc calls gsl::hyperg_2F1).

local({
  args <- commandArgs(trailingOnly = FALSE)
  file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
  script_dir <- if (length(file_arg)) dirname(normalizePath(file_arg[1])) else "tests/reference"
  assign("SCRIPT_DIR", script_dir, envir = globalenv())
})
source(file.path(SCRIPT_DIR, "common.R"))
suppressPackageStartupMessages(library(metadat))

OUT_FILE <- file.path(SCRIPT_DIR, "correlations.json")

out <- list(generated_by = "tests/reference/make_correlations.R",
            metafor_version = as.character(packageVersion("metafor")),
            gsl_version = as.character(packageVersion("gsl")),
            cases = list(), fits = list())

add_case <- function(name, measure, args, options = list()) {
  es <- do.call(escalc, c(list(measure = measure), args, options))
  out$cases[[length(out$cases) + 1L]] <<- list(
    name = name, measure = measure,
    args = lapply(args, function(v) jarray(as.numeric(v))),
    options = options,
    yi = jarray(as.numeric(es$yi)), vi = jarray(as.numeric(es$vi)))
  invisible(es)
}

# pooled fits as the brief asks: predict(rma(...), transf=...)
add_fit <- function(name, measure, args, method) {
  es <- do.call(escalc, c(list(measure = measure), args))
  fit <- rma(es$yi, es$vi, method = method,
             control = list(threshold = 1e-12, maxiter = 10000))
  pr <- if (measure == "ZCOR") predict(fit, transf = transf.ztor) else predict(fit)
  out$fits[[length(out$fits) + 1L]] <<- list(
    name = name, measure = measure, method = method,
    args = lapply(args, function(v) jarray(as.numeric(v))),
    tau2 = fit$tau2, estimate = as.numeric(fit$beta), se = fit$se,
    pred = as.numeric(pr$pred), ci_lb = as.numeric(pr$ci.lb), ci_ub = as.numeric(pr$ci.ub),
    pi_lb = as.numeric(pr$pi.lb), pi_ub = as.numeric(pr$pi.ub))
}

mol <- list(ri = dat.molloy2014$ri, ni = dat.molloy2014$ni)
for (m in c("COR", "UCOR", "ZCOR")) add_case(paste0("molloy_", m), m, mol)
add_case("molloy_COR_AV", "COR", mol, list(vtype = "AV"))
add_case("molloy_UCOR_AV", "UCOR", mol, list(vtype = "AV"))
add_case("molloy_UCOR_UB", "UCOR", mol, list(vtype = "UB"))  # UB only for UCOR

# generated data with boundary values: r = 0, r close to -1 and 1, the smallest n
# each measure allows (COR: 2, ZCOR: 4, UCOR: 5), large n
gen <- list(ri = c(0, -0.5, 0.999, -0.999, 0.3, 0.75, -0.05, 0.6),
            ni = c(10, 20, 30, 50, 5, 1000, 40, 5))
for (m in c("COR", "UCOR", "ZCOR")) add_case(paste0("generated_", m), m, gen)
add_case("generated_UCOR_UB", "UCOR", gen, list(vtype = "UB"))
add_case("small_n_COR", "COR", list(ri = c(0.2, -0.9, 0.5), ni = c(4, 5, 6)))  # vi is NA for ni <= 3
add_case("small_n_UCOR", "UCOR", list(ri = c(0.2, -0.9, 0.5), ni = c(5, 6, 7)))
add_case("small_n_ZCOR", "ZCOR", list(ri = c(0.2, -0.9, 0.5), ni = c(4, 5, 6)))

# where gsl's 2F1 is inaccurate (even n from 8 to 22, |r| <= 0.06): metafor's values
# are recorded but the tests compare with an independent high-precision series
inacc <- expand.grid(ri = c(0.02, -0.04, 0.06), ni = seq(8, 22, by = 2))
add_case("gsl_inaccurate_UCOR", "UCOR", list(ri = inacc$ri, ni = inacc$ni))
add_case("gsl_inaccurate_UCOR_UB", "UCOR", list(ri = inacc$ri, ni = inacc$ni), list(vtype = "UB"))

for (m in c("COR", "UCOR", "ZCOR")) for (method in c("REML", "DL")) {
  add_fit(paste0("molloy_", m, "_", method), m, mol, method)
  add_fit(paste0("generated_", m, "_", method), m, gen, method)
}

write_json_file(out, OUT_FILE)

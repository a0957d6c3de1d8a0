# Reference values for the pre-post and ratio-of-means family
# (metapool.effects.change): metafor's escalc() for ROM (vtype LS, HO, AV, AVHO),
# SMDH (LS, LS2), MC, SMCC and SMCR (LS, LS2), and REML/DL pooling with
# back-transformed predictions (exp for ROM).
#
# Usage (from anywhere):
#   Rscript tests/reference/make_prepost.R
#
# Writes tests/reference/prepost.json, for tests/test_effects_prepost.py.
# metafor's pre-post convention: yi = m1i - m2i, with m1i the later occasion (post);
# SMCR standardises by sd1i (the pre-test SD in practice) and ignores sd2i.

local({
  args <- commandArgs(trailingOnly = FALSE)
  file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
  script_dir <- if (length(file_arg)) dirname(normalizePath(file_arg[1])) else "tests/reference"
  assign("SCRIPT_DIR", script_dir, envir = globalenv())
})
source(file.path(SCRIPT_DIR, "common.R"))
suppressPackageStartupMessages(library(metadat))

OUT_FILE <- file.path(SCRIPT_DIR, "prepost.json")

out <- list(generated_by = "tests/reference/make_prepost.R",
            metafor_version = as.character(packageVersion("metafor")),
            metadat_version = as.character(packageVersion("metadat")),
            cases = list(), fits = list())

add_case <- function(name, measure, args, options = list()) {
  es <- do.call(escalc, c(list(measure = measure), args, options))
  stopifnot(all(is.finite(es$yi)), all(is.finite(es$vi)))
  out$cases[[length(out$cases) + 1L]] <<- list(
    name = name, measure = measure,
    args = lapply(args, function(v) jarray(as.numeric(v))),
    options = options,
    yi = jarray(as.numeric(es$yi)), vi = jarray(as.numeric(es$vi)))
}

add_fit <- function(name, measure, args, method) {
  es <- do.call(escalc, c(list(measure = measure), args))
  fit <- rma(es$yi, es$vi, method = method,
             control = list(threshold = 1e-12, maxiter = 10000))
  pr <- if (measure == "ROM") predict(fit, transf = exp) else predict(fit)
  out$fits[[length(out$fits) + 1L]] <<- list(
    name = name, measure = measure, method = method,
    args = lapply(args, function(v) jarray(as.numeric(v))),
    tau2 = fit$tau2, estimate = as.numeric(fit$beta),
    pred = as.numeric(pr$pred), ci_lb = as.numeric(pr$ci.lb), ci_ub = as.numeric(pr$ci.ub),
    pi_lb = as.numeric(pr$pi.lb), pi_ub = as.numeric(pr$pi.ub))
}

# two groups: dat.curtis1998 (plant growth under elevated CO2; metafor's ROM example)
cur <- dat.curtis1998
two <- list(m1i = cur$m1i, sd1i = cur$sd1i, n1i = cur$n1i,
            m2i = cur$m2i, sd2i = cur$sd2i, n2i = cur$n2i)
for (v in c("LS", "HO", "AV", "AVHO")) add_case(paste0("curtis_ROM_", v), "ROM", two, list(vtype = v))
for (v in c("LS", "LS2")) add_case(paste0("curtis_SMDH_", v), "SMDH", two, list(vtype = v))
add_case("curtis_ROM_default", "ROM", two)
add_case("curtis_SMDH_default", "SMDH", two)

# generated two-group data with boundary values: n = 2, an SD of 0 in one arm, tiny
# SDs and means, equal means, very unequal SDs
gen2 <- list(m1i = c(10, 5, 1e-3, 7, 100, 3), sd1i = c(2, 1e-4, 1e-4, 3, 50, 0),
             n1i = c(2, 10, 30, 8, 400, 5), m2i = c(12, 5, 2e-3, 3.5, 90, 3),
             sd2i = c(3, 2, 1e-4, 0.5, 40, 1.5), n2i = c(2, 12, 30, 3, 350, 6))
for (v in c("LS", "HO", "AV", "AVHO")) add_case(paste0("generated_ROM_", v), "ROM", gen2, list(vtype = v))
for (v in c("LS", "LS2")) add_case(paste0("generated_SMDH_", v), "SMDH", gen2, list(vtype = v))

# generated pre-post data (metadat 1.2 has no arm-level pre-post dataset): m1i = post,
# m2i = pre; r = 0, r = -1 and r close to 1, n = 3 (the smallest with a finite
# correction), no change, and the change-score SD given as sd1i with sd2i = ri = 0
set.seed(2008)
k <- 10
pp <- list(m1i = round(rnorm(k, 12, 3), 2), m2i = round(rnorm(k, 10, 3), 2),
           sd1i = round(runif(k, 1, 4), 2), sd2i = round(runif(k, 1, 4), 2),
           ni = c(3, 10, 25, 40, 15, 200, 12, 30, 8, 50),
           ri = c(0, 0.5, 0.9, 0.99, -0.3, 0.7, 0.6, 0.45, -1, 0))
pp$m1i[8] <- pp$m2i[8]  # no change
pp$sd2i[10] <- 0        # the change-score SD reported directly (sd1i), sd2i = ri = 0
raw <- pp[c("m1i", "m2i", "sd1i", "ni", "ri")]
add_case("generated_MC", "MC", pp)
for (v in c("LS", "LS2")) {
  add_case(paste0("generated_SMCC_", v), "SMCC", pp, list(vtype = v))
  add_case(paste0("generated_SMCR_", v), "SMCR", raw, list(vtype = v))
}
add_case("generated_SMCR_with_sd2i", "SMCR", pp)  # sd2i is ignored
# MC with n = 2 and r = 1 with unequal SDs (the variance stays > 0)
add_case("boundary_MC", "MC", list(m1i = c(5, 1), m2i = c(4, 1.5), sd1i = c(1, 2),
                                   sd2i = c(2, 1), ni = c(2, 2), ri = c(1, 1)))

for (method in c("REML", "DL")) {
  add_fit(paste0("curtis_ROM_", method), "ROM", two, method)
  add_fit(paste0("curtis_SMDH_", method), "SMDH", two, method)
  add_fit(paste0("generated_MC_", method), "MC", pp, method)
  add_fit(paste0("generated_SMCC_", method), "SMCC", pp, method)
  add_fit(paste0("generated_SMCR_", method), "SMCR", raw, method)
}

write_json_file(out, OUT_FILE)

# Live cross-check against metafor, called by the Python tests once per batch.
#
# Usage:
#   Rscript tests/reference/live_metafor.R in.json out.json
#
# in.json:
#   {"cases": [{"id": "...", "yi": [...], "vi": [...]}, ...],
#    "methods": ["DL", "REML", ...],      # optional, default all 8: DL REML ML PM HE SJ HS EB
#    "tests": ["z", "knha", ...],         # optional, default all 4: z knha t adhoc
#    "level": 0.95}                       # optional, default 0.95
#
# out.json:
#   {"metafor_version": "3.8.1", "r_version": "...", "level": 0.95,
#    "results": [{"id": "...", "fits": [<fit>, ...]}, ...]}
#
# For every case, method and test there is one <fit> (same fields as in
# pooling.json) fitted with the tight controls of common.R,
# plus, for every test, one REML fit with metafor's default control, stored
# with "method": "REML_default".  A metafor failure is recorded in the fit's
# "error" field (other numeric fields null) instead of aborting.
#
# Q-profile CIs (tau2_ci_*, i2_ci_*, h2_ci_*) do not depend on the test, so
# confint() is run once per case and method, on the "z" fit (or on the first
# requested test if "z" is not requested), and the same values are copied
# into that method's entries for the other tests.  REML_default gets
# confint() with metafor's default control, copied the same way.

local({
  args <- commandArgs(trailingOnly = FALSE)
  file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
  script_dir <- if (length(file_arg)) dirname(normalizePath(file_arg[1])) else "tests/reference"
  assign("SCRIPT_DIR", script_dir, envir = globalenv())
})
source(file.path(SCRIPT_DIR, "common.R"))

argv <- commandArgs(trailingOnly = TRUE)
if (length(argv) != 2L) {
  stop("usage: Rscript tests/reference/live_metafor.R in.json out.json")
}
in_file <- argv[1]
out_file <- argv[2]

spec <- jsonlite::fromJSON(in_file, simplifyVector = FALSE)
methods <- if (is.null(spec$methods)) ALL_METHODS else as.character(unlist(spec$methods))
tests <- if (is.null(spec$tests)) ALL_TESTS else as.character(unlist(spec$tests))
level <- if (is.null(spec$level)) 0.95 else as.numeric(spec$level)

# Test on which confint() is run; its Q-profile values are copied to the rest.
ci_test <- if ("z" %in% tests) "z" else tests[1]
test_order <- c(ci_test, setdiff(tests, ci_test))

num_vec <- function(x) {
  if (is.null(x)) return(numeric(0))
  vapply(x, function(v) if (is.null(v)) NA_real_ else as.numeric(v), numeric(1))
}

fit_method <- function(yi, vi, method, label, control, ci_control) {
  recs <- list()
  ci_vals <- NULL
  for (t in test_order) {
    ci_arg <- if (t == ci_test) TRUE else if (is.null(ci_vals)) FALSE else ci_vals
    res <- rma_fit_record(yi, vi, method, t, level, control,
                          ci = ci_arg, ci_control = ci_control, label = label)
    if (t == ci_test) {
      ci_vals <- res$ci
      if (!is.null(ci_vals)) ci_vals$warnings <- character(0)
    }
    recs[[t]] <- res$record
  }
  unname(recs[tests])
}

run_case <- function(case) {
  yi <- num_vec(case$yi)
  vi <- num_vec(case$vi)
  ctrl <- tight_rma_control(yi[is.finite(yi)], vi[is.finite(vi)])
  ci_ctrl <- tight_confint_control(ctrl)
  fits <- list()
  for (m in methods) {
    fits <- c(fits, fit_method(yi, vi, m, m, ctrl, ci_ctrl))
  }
  fits <- c(fits, fit_method(yi, vi, "REML", "REML_default", NULL, NULL))
  list(id = as.character(case$id), fits = fits)
}

# Cases are independent: spread them over forked workers (default 2, capped at
# the number of cores; set LIVE_METAFOR_CORES=1 to run serially).
n_cores <- suppressWarnings(as.integer(Sys.getenv("LIVE_METAFOR_CORES", "2")))
if (is.na(n_cores) || n_cores < 1L) n_cores <- 1L
n_cores <- min(n_cores, max(1L, parallel::detectCores(logical = TRUE)), max(1L, length(spec$cases)))
if (n_cores > 1L && .Platform$OS.type == "unix") {
  results <- parallel::mclapply(spec$cases, run_case, mc.cores = n_cores,
                                mc.preschedule = TRUE)
  failed <- vapply(results, function(r) inherits(r, "try-error") || is.null(r), logical(1))
  if (any(failed)) results[failed] <- lapply(spec$cases[failed], run_case)  # retry serially
} else {
  results <- lapply(spec$cases, run_case)
}

out <- list(metafor_version = metafor_version_string(),
            r_version = R.version.string,
            level = level,
            control = list(
              rma = list(threshold = "1e-13 * s", tol = "1e-13 * s", maxiter = 10000,
                         tau2.max = "1e4 * var(yi) + 100",
                         s = "var(yi), or mean(vi) if var(yi) == 0"),
              confint = list(tol = "1e-13 * s", maxiter = 10000,
                             tau2.max = "1e4 * var(yi) + 100 (raised 100x, up to 4 times, if a bound reaches it)"),
              confint_computed_on_test = ci_test,
              REML_default = "rma(..., method = 'REML') and confint() with metafor's default control"),
            results = results)
write_json_file(out, out_file)

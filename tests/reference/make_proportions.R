# Reference values for single-arm proportions (metapool.Proportion): metafor's escalc()
# with the measures PR, PLN, PLO, PAS, PFT, and the REML and DL fits of those effects
# back-transformed with predict(..., transf = ...).
#
# Usage (from anywhere):
#   Rscript tests/reference/make_proportions.R
#
# Writes tests/reference/proportions.json, for tests/test_effects_proportions.py.
# Data: metadat's dat.pritz1997 (14 studies; studies with only events) and a generated
# set with studies that have no events or only events and very different sample sizes.

local({
  args <- commandArgs(trailingOnly = FALSE)
  file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
  script_dir <- if (length(file_arg)) dirname(normalizePath(file_arg[1])) else "tests/reference"
  assign("SCRIPT_DIR", script_dir, envir = globalenv())
})
source(file.path(SCRIPT_DIR, "common.R"))

OUT_FILE <- file.path(SCRIPT_DIR, "proportions.json")

MEASURES <- c("PR", "PLN", "PLO", "PAS", "PFT")

out <- list(generated_by = "tests/reference/make_proportions.R",
            metafor_version = as.character(packageVersion("metafor")),
            escalc = list(), fits = list())

datasets <- list(
  pritz1997 = list(xi = dat.pritz1997$xi, ni = dat.pritz1997$ni),
  generated = list(xi = c(0, 3, 12, 25, 0, 40, 7, 100, 1, 9),
                   ni = c(15, 20, 12, 60, 8, 200, 7, 400, 30, 9))
)

# name: case id; measure: code; args: named list of vectors (metafor's argument names);
# options: named list of scalar options (add, to, vtype)
add_escalc <- function(name, measure, args, options = list()) {
  es <- do.call(escalc, c(list(measure = measure), args, options))
  out$escalc[[length(out$escalc) + 1L]] <<- list(
    name = name, measure = measure,
    args = lapply(args, function(v) jarray(as.numeric(v))),
    options = options,
    yi = jarray(as.numeric(es$yi)), vi = jarray(as.numeric(es$vi)))
}

for (ds in names(datasets)) {
  for (m in MEASURES) add_escalc(paste0(ds, "_", m), m, datasets[[ds]])
}
gen <- datasets$generated
add_escalc("generated_PLO_all", "PLO", gen, list(to = "all"))
add_escalc("generated_PLO_if0all", "PLO", gen, list(to = "if0all"))
add_escalc("generated_PLN_add_quarter", "PLN", gen, list(add = 0.25))
add_escalc("generated_PR_UB", "PR", gen, list(vtype = "UB"))
add_escalc("generated_PR_AV", "PR", gen, list(vtype = "AV"))
add_escalc("generated_PLN_AV", "PLN", gen, list(vtype = "AV"))
add_escalc("generated_PLO_AV", "PLO", gen, list(vtype = "AV"))
add_escalc("generated_PAS_add_half", "PAS", gen, list(add = 0.5))
add_escalc("generated_PFT_add_half_all", "PFT", gen, list(add = 0.5, to = "all"))
add_escalc("generated_PR_none", "PR", list(xi = c(2, 5, 9), ni = c(10, 10, 30)), list(to = "none"))
add_escalc("generated_PLO_mi", "PLO", list(xi = gen$xi, mi = gen$ni - gen$xi))

# back-transform of each measure (targs: the studies' sample sizes, for PFT)
TRANSF <- list(PR = NULL, PLN = exp, PLO = transf.ilogit, PAS = transf.iarcsin,
               PFT = transf.ipft.hm)
CONTROL <- list(threshold = 1e-12, maxiter = 10000)

for (ds in names(datasets)) {
  d <- datasets[[ds]]
  for (m in MEASURES) {
    es <- escalc(m, xi = d$xi, ni = d$ni)
    for (method in c("REML", "DL")) {
      fit <- rma(es$yi, es$vi, method = method, control = CONTROL)
      p <- if (is.null(TRANSF[[m]])) predict(fit) else if (m == "PFT")
        predict(fit, transf = TRANSF[[m]], targs = list(ni = d$ni)) else
        predict(fit, transf = TRANSF[[m]])
      out$fits[[length(out$fits) + 1L]] <- list(
        name = paste0(ds, "_", m, "_", method), dataset = ds, measure = m, method = method,
        tau2 = as.numeric(fit$tau2), estimate_analysis = as.numeric(fit$beta),
        estimate = as.numeric(p$pred), ci_lb = as.numeric(p$ci.lb),
        ci_ub = as.numeric(p$ci.ub), pi_lb = as.numeric(p$pi.lb),
        pi_ub = as.numeric(p$pi.ub))
    }
  }
}
out$datasets <- lapply(datasets, function(d) lapply(d, function(v) jarray(as.numeric(v))))

write_json_file(out, OUT_FILE)

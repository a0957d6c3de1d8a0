# Reference values for metapool's escalc() front end: metafor's escalc() called with the
# same measure codes and argument names, on metadat datasets and small generated data.
#
# Usage (from anywhere):
#   Rscript tests/reference/make_escalc_front_end.R
#
# Writes tests/reference/escalc_front_end.json, for tests/test_escalc.py. Each case
# records the call (measure, arguments as columns or values, options) and metafor's yi, vi.
# Families of measures add their cases to the list `cases` below.

local({
  args <- commandArgs(trailingOnly = FALSE)
  file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
  script_dir <- if (length(file_arg)) dirname(normalizePath(file_arg[1])) else "tests/reference"
  assign("SCRIPT_DIR", script_dir, envir = globalenv())
})
source(file.path(SCRIPT_DIR, "common.R"))

OUT_FILE <- file.path(SCRIPT_DIR, "escalc_front_end.json")

out <- list(generated_by = "tests/reference/make_escalc_front_end.R",
            metafor_version = as.character(packageVersion("metafor")),
            cases = list())

# name: case id; measure: code; args: named list of vectors (metafor's argument names);
# options: named list of scalar options (add, to, vtype, drop00)
add_case <- function(name, measure, args, options = list()) {
  es <- do.call(escalc, c(list(measure = measure), args, options))
  out$cases[[length(out$cases) + 1L]] <<- list(
    name = name, measure = measure,
    args = lapply(args, function(v) jarray(as.numeric(v))),
    options = options,
    yi = jarray(as.numeric(es$yi)), vi = jarray(as.numeric(es$vi)))
}

bcg <- dat.bcg
counts <- list(ai = bcg$tpos, bi = bcg$tneg, ci = bcg$cpos, di = bcg$cneg)
for (m in c("RR", "OR", "RD")) add_case(paste0("bcg_", m), m, counts)
zeros <- list(ai = c(0, 3, 5, 0), n1i = c(10, 10, 10, 12), ci = c(0, 4, 0, 2), n2i = c(10, 10, 10, 11))
add_case("zeros_RR_only0", "RR", zeros)
add_case("zeros_OR_all", "OR", zeros, list(to = "all"))
add_case("zeros_RR_if0all", "RR", zeros, list(to = "if0all"))
add_case("zeros_OR_add_quarter", "OR", zeros, list(add = 0.25))

nor <- dat.normand1999
means <- list(m1i = nor$m1i, sd1i = nor$sd1i, n1i = nor$n1i,
              m2i = nor$m2i, sd2i = nor$sd2i, n2i = nor$n2i)
add_case("normand_MD", "MD", means)
add_case("normand_MD_HO", "MD", means, list(vtype = "HO"))
add_case("normand_SMD", "SMD", means)
add_case("normand_SMD_UB", "SMD", means, list(vtype = "UB"))

write_json_file(out, OUT_FILE)

# Reference values for metapool's non-default effect-size options, from metafor's escalc().
#
# Usage (from the repository root):
#   Rscript tests/reference/make_escalc_options.R
#
# Writes tests/reference/escalc_options.json (metafor 3.8-1), for tests/test_effects.py.

local({
  args <- commandArgs(trailingOnly = FALSE)
  file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
  script_dir <- if (length(file_arg)) dirname(normalizePath(file_arg[1])) else "tests/reference"
  assign("SCRIPT_DIR", script_dir, envir = globalenv())
})
source(file.path(SCRIPT_DIR, "common.R"))

OUT_FILE <- file.path(SCRIPT_DIR, "escalc_options.json")

out <- list(generated_by = "tests/reference/make_escalc_options.R",
            metafor_version = as.character(packageVersion("metafor")),
            cases = list())
add_case <- function(name, option, input, es) {
  out$cases[[length(out$cases) + 1L]] <<- list(
    name = name, option = option, input = input,
    yi = jarray(as.numeric(es$yi)), vi = jarray(as.numeric(es$vi)))
}

# Continuous: dat.normand1999 (group 1 = specialized care)
d <- dat.normand1999
cont <- list(mean1 = d$m1i, sd1 = d$sd1i, n1 = d$n1i, mean2 = d$m2i, sd2 = d$sd2i, n2 = d$n2i)
add_case("normand1999", "MD pooled variance (metapool variance='pooled'; metafor vtype='HO')", cont,
         escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
                data = d, vtype = "HO"))
add_case("normand1999", "SMD unbiased variance (metapool variance='UB'; metafor vtype='UB')", cont,
         escalc("SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
                data = d, vtype = "UB"))

# Binary with zero cells: dat.nielweise2007 (one double-zero study, several single-zero)
b <- dat.nielweise2007
bin <- list(events1 = b$ai, n1 = b$n1i, events2 = b$ci, n2 = b$n2i)
for (m in c("RR", "OR", "RD")) {
  add_case("nielweise2007", paste(m, "continuity_to='all' (metafor to='all')"), bin,
           escalc(m, ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = b, to = "all"))
  add_case("nielweise2007", paste(m, "continuity=0.25 (metafor add=0.25)"), bin,
           escalc(m, ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = b, add = 0.25))
  # metapool always keeps double-zero studies for RD (the RD is estimable), so only RR/OR here.
  if (m != "RD")
    add_case("nielweise2007", paste(m, "double_zero='drop' (metafor drop00=TRUE; NA = dropped)"), bin,
             escalc(m, ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = b, drop00 = TRUE))
}
write_json_file(out, OUT_FILE)

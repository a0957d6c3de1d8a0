# Independent check of examples/ketamine_np/run.py: the same pooled analyses with metafor.
#
#   Rscript examples/ketamine_np/reference/metafor_check.R DATA_DIR OUT_JSON
#
# Reads pain.csv and adverse_events.csv from DATA_DIR (the format of
# examples/ketamine_np/data), and for every group of complete rows runs
#   pain:            rma(measure = "MD", method = "DL")      per time point (RevMan: IV, random)
#   adverse events:  rma.mh(measure = "RR")                   per outcome   (RevMan: M-H, fixed)
# Double-zero studies are dropped before rma.mh, as RevMan 5 (and run.py's
# revman5 convention) do. Writes full-precision JSON with the metafor version.
suppressPackageStartupMessages({ library(metafor); library(jsonlite) })
args <- commandArgs(trailingOnly = TRUE)
data_dir <- args[1]; out_json <- args[2]

read_or_empty <- function(name) {
  path <- file.path(data_dir, name)
  if (!file.exists(path)) return(data.frame())
  read.csv(path, stringsAsFactors = FALSE, check.names = FALSE)
}
complete_rows <- function(d, cols) {
  if (!nrow(d)) return(d)
  ok <- Reduce(`&`, lapply(cols, function(c) !is.na(suppressWarnings(as.numeric(d[[c]])))))
  d[ok, , drop = FALSE]
}
fit_record <- function(fit, ...) {
  list(estimate = as.numeric(fit$beta), se = fit$se, statistic = fit$zval, pvalue = fit$pval,
       ci_low = fit$ci.lb, ci_high = fit$ci.ub, tau2 = if (is.null(fit$tau2)) 0 else fit$tau2,
       q = fit$QE, q_pvalue = fit$QEp, i2 = fit$I2, k = fit$k, ...)
}
out <- list(metafor_version = as.character(packageVersion("metafor")), pain = list(), adverse = list())

pain <- complete_rows(read_or_empty("pain.csv"), c("mean1", "sd1", "n1", "mean2", "sd2", "n2"))
for (tp in unique(pain$timepoint)) {
  d <- pain[pain$timepoint == tp, ]
  fit <- rma(measure = "MD", m1i = as.numeric(mean1), sd1i = as.numeric(sd1), n1i = as.numeric(n1),
             m2i = as.numeric(mean2), sd2i = as.numeric(sd2), n2i = as.numeric(n2),
             data = d, method = "DL")
  out$pain[[tp]] <- fit_record(fit)
}

ae <- complete_rows(read_or_empty("adverse_events.csv"), c("events1", "n1", "events2", "n2"))
for (o in unique(ae$outcome)) {
  d <- ae[ae$outcome == o, ]
  a <- as.numeric(d$events1); n1 <- as.numeric(d$n1); c2 <- as.numeric(d$events2); n2 <- as.numeric(d$n2)
  keep <- !((a == 0 & c2 == 0) | (a == n1 & c2 == n2))
  if (!any(keep)) next
  fit <- rma.mh(ai = a[keep], n1i = n1[keep], ci = c2[keep], n2i = n2[keep], measure = "RR")
  out$adverse[[o]] <- fit_record(fit)
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE),
           out_json)

# Generate pinned metafor reference numbers for metapool's diagnostic plots
# (Baujat, radial/Galbraith, L'Abbe, bubble/regplot, GOSH).
#
# Usage (from the repository root):
#   Rscript tests/reference/make_diagnostic_plots.R
#
# Writes tests/reference/diagnostic_plots.json.  Run with R 4.2.2, metafor 3.8-1,
# metadat and jsonlite 1.8.4 (recorded in the JSON); reuses the tight controls and the
# full-precision JSON writer of common.R.  Takes a few seconds.
#
# What is recorded (dataset metadat::dat.bcg, log risk ratios of escalc("RR")):
#   baujat  - the coordinates returned by baujat() for rma(method = m) with
#             m in CE, DL, REML: x = squared Pearson residual
#             (y_i - mu)^2 / (v_i + tau2), y = (mu_(-i) - mu)^2 / Var(mu_(-i)).
#   radial  - x_i = 1/sqrt(v_i + tau2) and z_i = y_i/sqrt(v_i + tau2) of radial()
#             (computed from the fit as radial.rma does; radial() returns them),
#             with the fit's estimate and CI.
#   labbe   - the data frame labbe() returns for measures RR, OR and RD
#             (x = control-arm PLN/PLO/PR, y = treatment arm, cex = point size
#             rescaled to plim = c(0.5, 3.5)) and the pooled estimate of the fit.
#   regplot - rma(yi, vi, mods = ~ ablat + year, method = "REML"): predictions
#             along ablat with year at its mean (CI and PI), as regplot draws its
#             line and bands; and rma(yi, vi, mods = ~ alloc) level means.
#   gosh    - gosh() over all 63 subsets of the first six studies for CE, DL
#             and REML fits: per subset the inclusion mask, estimate and I2.

local({
  args <- commandArgs(trailingOnly = FALSE)
  file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
  script_dir <- if (length(file_arg)) dirname(normalizePath(file_arg[1])) else "tests/reference"
  assign("SCRIPT_DIR", script_dir, envir = globalenv())
})
source(file.path(SCRIPT_DIR, "common.R"))
suppressPackageStartupMessages(library(metadat))

OUT_FILE <- file.path(SCRIPT_DIR, "diagnostic_plots.json")
num <- function(x) jarray(as.numeric(x))

d <- dat.bcg
e <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = d)
ctrl <- tight_rma_control(e$yi, e$vi)
labels <- paste(trimws(as.character(d$author)), d$year)

fit_of <- function(method, yi = e$yi, vi = e$vi, ...) {
  rma(yi, vi, method = method, control = tight_rma_control(yi, vi), ...)
}

baujat_rec <- list()
radial_rec <- list()
for (m in c("CE", "DL", "REML")) {
  fit <- fit_of(m)
  pdf(NULL)
  b <- baujat(fit)
  r <- radial(fit)
  dev.off()
  baujat_rec[[m]] <- list(x = num(b$x), y = num(b$y), estimate = fit$b[1], tau2 = fit$tau2)
  radial_rec[[m]] <- list(x = num(r$x), z = num(r$y), estimate = fit$b[1],
                          ci_low = fit$ci.lb, ci_high = fit$ci.ub, tau2 = fit$tau2)
}

labbe_rec <- list()
for (m in c("RR", "OR", "RD")) {
  fit <- rma(measure = m, ai = tpos, bi = tneg, ci = cpos, di = cneg, data = d,
             method = "REML", control = ctrl)
  pdf(NULL)
  l <- labbe(fit)
  dev.off()
  labbe_rec[[m]] <- list(x = num(l$x), y = num(l$y), cex = num(l$cex), estimate = fit$b[1])
}

reg <- rma(yi, vi, mods = ~ ablat + year, data = e, method = "REML", control = ctrl)
xs <- seq(min(d$ablat), max(d$ablat), length.out = 7)
p <- predict(reg, newmods = cbind(xs, mean(d$year)))
cat_fit <- rma(yi, vi, mods = ~ alloc, data = cbind(e, alloc = d$alloc), method = "REML",
               control = ctrl)
lv <- sort(unique(as.character(d$alloc)))
X <- rbind(c(0, 0), c(1, 0), c(0, 1))
pc <- predict(cat_fit, newmods = X)
regplot_rec <- list(
  ablat = num(d$ablat), year = num(d$year), alloc = jarray(as.character(d$alloc)),
  grid = num(xs), year_mean = mean(d$year),
  pred = num(p$pred), ci_low = num(p$ci.lb), ci_high = num(p$ci.ub),
  pi_low = num(p$pi.lb), pi_high = num(p$pi.ub), tau2 = reg$tau2,
  weights = num(weights(reg)),
  levels = jarray(lv), level_pred = num(pc$pred), level_ci_low = num(pc$ci.lb),
  level_ci_high = num(pc$ci.ub), level_tau2 = cat_fit$tau2)

gosh_rec <- list()
sub <- 1:6
for (m in c("CE", "DL", "REML")) {
  fit <- fit_of(m, e$yi[sub], e$vi[sub])
  g <- gosh(fit, progbar = FALSE)
  incl <- g$incl
  gosh_rec[[m]] <- list(
    incl = lapply(seq_len(nrow(incl)), function(i) jarray(as.integer(incl[i, ]))),
    estimate = num(g$res$estimate), i2 = num(g$res$I2), k = num(g$res$k))
}

out <- list(
  metafor = metafor_version_string(),
  r = R.version.string,
  labels = jarray(labels),
  input = list(events1 = num(d$tpos), n1 = num(d$tpos + d$tneg),
               events2 = num(d$cpos), n2 = num(d$cpos + d$cneg)),
  yi = num(e$yi), vi = num(e$vi),
  baujat = baujat_rec, radial = radial_rec, labbe = labbe_rec,
  regplot = regplot_rec, gosh = gosh_rec)
write_json_file(out, OUT_FILE)

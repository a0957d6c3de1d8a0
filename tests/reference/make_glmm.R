# Generate pinned metafor references for metapool.GLMM (issue 13): rma.glmm fits
# of odds ratios, rate ratios, proportions and rates.
#
# Usage (from the repository root):
#   Rscript tests/reference/make_glmm.R
#
# Writes tests/reference/glmm.json.  Used: R 4.x with metafor 3.8-1, lme4 1.1-31,
# BiasedUrn 2.0.9, numDeriv, metadat and jsonlite (versions recorded in the JSON);
# reuses the full-precision JSON writer of common.R.  Takes about a minute.
#
# Every fit is rma.glmm(..., method = "ML" or "EE") with tightened controls:
#   glmerCtrl  - glmerControl(optimizer = "bobyqa", tolPwrss = 1e-10,
#                optCtrl = list(rhoend = 1e-10, maxfun = 1e5)) for the glmer fits
#                (UM.FS, UM.RS, CM.AL, PLO, IRLN, conditional IRR)
#   glmCtrl    - glm.control(epsilon = 1e-13, maxit = 1000) for the glm fits
#   optCtrl    - nlminb(rel.tol = 1e-10, eval.max/iter.max 1e4) for CM.EL (tighter, the
#                saturated fit of tables with a zero cell, whose estimate diverges,
#                reports non-convergence)
#   intCtrl    - integrate(rel.tol = 1e-11, subdivisions = 1000) for CM.EL
# nAGQ is metafor's default (7; UM.RS uses 1, the Laplace approximation).
# Double-zero studies: drop00 = TRUE (metafor's default) everywhere except UM.RS,
# where they carry information and metapool keeps them (drop00 = FALSE).
#
# Per fit: beta, se, zval, pval, ci.lb, ci.ub, tau2, logLik (ll), QE.Wld, QEp.Wld,
# QE.LRT, QEp.LRT, QE.df, I2, H2, k, sigma2 (UM.RS: the variance of the random study
# intercepts); ll_exact, the exact marginal log-likelihood at
# metafor's estimates (see exact_ll below); and ll0, the exact log-likelihood of the
# ML fit with the pooled effect fixed at 0 (for the likelihood-ratio test; only
# where an offset refit is possible: PLO, IRLN, CM.AL, conditional IRR).

local({
  args <- commandArgs(trailingOnly = FALSE)
  file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
  script_dir <- if (length(file_arg)) dirname(normalizePath(file_arg[1])) else "tests/reference"
  assign("SCRIPT_DIR", script_dir, envir = globalenv())
})
source(file.path(SCRIPT_DIR, "common.R"))
suppressPackageStartupMessages({
  library(metadat)
  library(lme4)
})

OUT_FILE <- file.path(SCRIPT_DIR, "glmm.json")

CTRL <- list(
  glmerCtrl = list(optimizer = "bobyqa", tolPwrss = 1e-10,
                   optCtrl = list(rhoend = 1e-10, maxfun = 1e5)),
  glmCtrl = list(epsilon = 1e-13, maxit = 1000),
  optCtrl = list(rel.tol = 1e-10, eval.max = 1e4, iter.max = 1e4),
  intCtrl = list(rel.tol = 1e-11, subdivisions = 1000L)
)

num <- function(x) if (is.null(x) || length(x) == 0) NA_real_ else as.numeric(x)

record <- function(fit, ll0 = NA_real_, ll_exact = NA_real_) {
  list(
    beta = jarray(num(fit$beta)), se = jarray(num(fit$se)), zval = jarray(num(fit$zval)),
    pval = jarray(num(fit$pval)), ci_lb = jarray(num(fit$ci.lb)), ci_ub = jarray(num(fit$ci.ub)),
    tau2 = num(fit$tau2), sigma2 = num(fit$sigma2), ll = num(logLik(fit)),
    QE_Wld = num(fit$QE.Wld), QEp_Wld = num(fit$QEp.Wld),
    QE_LRT = num(fit$QE.LRT), QEp_LRT = num(fit$QEp.LRT), QE_df = num(fit$QE.df),
    I2 = num(fit$I2), H2 = num(fit$H2), k = num(fit$k), ll0 = num(ll0),
    ll_exact = num(ll_exact)
  )
}

safe <- function(expr) {
  tryCatch(expr, error = function(e) list(error = conditionMessage(e)))
}

gctrl <- function() do.call(lme4::glmerControl, CTRL$glmerCtrl)

# The exact marginal log-likelihood (integrate(), rel.tol 1e-12) of a one-random-effect
# model: study i has observations with linear predictors eta_ij = c_ij + z_ij * u,
# u ~ N(0, tau2).  metafor reports logLik = ll.QE - deviance(glmer)/2 for the glmer
# fits, which is not the marginal log-likelihood (lme4's GLMM deviance is not
# -2 (logLik - saturated logLik)); the tests compare metapool's log-likelihood with
# this exact value at metafor's estimates.
exact_ll <- function(y, n, cc, z, tau2, family) {
  dens <- function(i, u) {
    out <- 1
    for (j in seq_len(ncol(cc))) {
      eta <- cc[i, j] + z[i, j] * u
      out <- out * if (family == "binomial") dbinom(y[i, j], n[i, j], plogis(eta)) else
        dpois(y[i, j], exp(eta))
    }
    out
  }
  total <- 0
  for (i in seq_len(nrow(cc))) {
    if (tau2 <= 0) {
      total <- total + log(dens(i, 0))
    } else {
      v <- integrate(function(u) dens(i, u) * dnorm(u, 0, sqrt(tau2)), -Inf, Inf,
                     rel.tol = 1e-12, subdivisions = 1000L)$value
      total <- total + log(v)
    }
  }
  total
}

# the exact log-likelihood of the ML fit with the pooled effect fixed at 0
ll_null <- function(y, n, off, family, method) {
  k <- length(y)
  study <- factor(seq_len(k))
  m1 <- function(v) matrix(v, ncol = 1)
  if (method == "EE") return(exact_ll(m1(y), m1(n), m1(off), m1(rep(1, k)), 0, family))
  if (family == "binomial") {
    m <- glmer(cbind(y, n - y) ~ -1 + (1 | study), offset = off, family = binomial,
               nAGQ = 7, control = gctrl())
  } else {
    m <- glmer(y ~ -1 + (1 | study), offset = off, family = poisson, nAGQ = 7,
               control = gctrl())
  }
  exact_ll(m1(y), m1(n), m1(off), m1(rep(1, k)), VarCorr(m)[[1]][1], family)
}

# exact log-likelihood at metafor's estimates: one observation per study
ll_one <- function(fit, y, n, off, family) {
  m1 <- function(v) matrix(v, ncol = 1)
  exact_ll(m1(y), m1(n), m1(off + fit$beta[1]), m1(rep(1, length(y))), fit$tau2, family)
}

# exact log-likelihood of UM.FS at metafor's (beta, tau2), maximised over the study
# intercepts (each study's integral depends on its own intercept only: optimize() per
# study, tol 1e-10), with the random effect coded +-1/2 as metafor
ll_umfs <- function(fit, y1, n1, y2, n2, off1, off2, family) {
  k <- length(y1)
  z <- matrix(c(1/2, -1/2), nrow = 1)
  total <- 0
  for (i in seq_len(k)) {
    f <- function(alpha) {
      cc <- matrix(c(alpha + off1[i] + fit$beta[1], alpha + off2[i]), nrow = 1)
      exact_ll(matrix(c(y1[i], y2[i]), nrow = 1), matrix(c(n1[i], n2[i]), nrow = 1), cc, z,
               fit$tau2, family)
    }
    start <- if (family == "binomial") qlogis((y2[i] + 0.5) / (n2[i] + 1)) else
      log((y2[i] + 0.5)) - off2[i]
    opt <- optimize(f, c(start - 15, start + 15), maximum = TRUE, tol = 1e-10)
    total <- total + opt$objective
  }
  total
}

fits_two_arm <- function(d, measure) {
  out <- list()
  for (model in c("UM.FS", "CM.AL", "CM.EL", "UM.RS")) {
    if (measure == "IRR" && model == "CM.AL") next  # metafor: CM.AL is CM.EL for IRR
    for (method in c("ML", "EE")) {
      if (model == "UM.RS" && method == "EE") next
      drop00 <- model != "UM.RS"
      key <- paste(model, method, sep = "_")
      out[[key]] <- safe({
        if (measure == "OR") {
          fit <- rma.glmm(measure = "OR", ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i,
                          model = model, method = method, drop00 = drop00, control = CTRL)
          keep <- !((d$ai == 0 & d$ci == 0) | (d$ai == d$n1i & d$ci == d$n2i)) | !drop00
          y <- d$ai[keep]; n <- (d$ai + d$ci)[keep]; off <- log(d$n1i / d$n2i)[keep]
        } else {
          fit <- rma.glmm(measure = "IRR", x1i = d$x1i, t1i = d$t1i, x2i = d$x2i, t2i = d$t2i,
                          model = model, method = method, drop00 = drop00, control = CTRL)
          keep <- !(d$x1i == 0 & d$x2i == 0) | !drop00
          y <- d$x1i[keep]; n <- (d$x1i + d$x2i)[keep]; off <- log(d$t1i / d$t2i)[keep]
        }
        cond <- (measure == "OR" && model == "CM.AL") || (measure == "IRR" && model == "CM.EL")
        ll0 <- if (cond) ll_null(y, n, off, "binomial", method) else NA_real_
        lle <- NA_real_
        if (cond) lle <- ll_one(fit, y, n, off, "binomial")
        if (model == "CM.EL" && measure == "OR") lle <- num(logLik(fit))  # integrate() already
        if (model == "UM.FS") {
          if (measure == "OR") {
            kk <- sum(keep)
            lle <- ll_umfs(fit, d$ai[keep], d$n1i[keep], d$ci[keep], d$n2i[keep], rep(0, kk),
                           rep(0, kk), "binomial")
          } else {
            kk <- sum(keep)
            lle <- ll_umfs(fit, d$x1i[keep], rep(1, kk), d$x2i[keep], rep(1, kk),
                           log(d$t1i[keep]), log(d$t2i[keep]), "poisson")
          }
        }
        record(fit, ll0, lle)
      })
    }
  }
  out
}

fits_one_arm <- function(d, measure) {
  out <- list()
  for (method in c("ML", "EE")) {
    out[[method]] <- safe({
      if (measure == "PLO") {
        fit <- rma.glmm(measure = "PLO", xi = d$xi, ni = d$ni, method = method, control = CTRL)
        ll0 <- ll_null(d$xi, d$ni, rep(0, length(d$xi)), "binomial", method)
        lle <- ll_one(fit, d$xi, d$ni, rep(0, length(d$xi)), "binomial")
      } else {
        fit <- rma.glmm(measure = "IRLN", xi = d$xi, ti = d$ti, method = method, control = CTRL)
        ll0 <- ll_null(d$xi, d$ti, log(d$ti), "poisson", method)
        lle <- ll_one(fit, d$xi, d$ti, log(d$ti), "poisson")
      }
      record(fit, ll0, lle)
    })
  }
  out
}

datasets <- list()
add_or <- function(name, source, ai, n1i, ci, n2i) {
  d <- list(ai = as.numeric(ai), n1i = as.numeric(n1i), ci = as.numeric(ci), n2i = as.numeric(n2i))
  datasets[[length(datasets) + 1]] <<- list(
    name = name, measure = "OR", source = source,
    input = list(events1 = jarray(d$ai), n1 = jarray(d$n1i), events2 = jarray(d$ci),
                 n2 = jarray(d$n2i)),
    fits = fits_two_arm(d, "OR"))
}
add_irr <- function(name, source, x1i, t1i, x2i, t2i) {
  d <- list(x1i = as.numeric(x1i), t1i = as.numeric(t1i), x2i = as.numeric(x2i),
            t2i = as.numeric(t2i))
  datasets[[length(datasets) + 1]] <<- list(
    name = name, measure = "IRR", source = source,
    input = list(events1 = jarray(d$x1i), time1 = jarray(d$t1i), events2 = jarray(d$x2i),
                 time2 = jarray(d$t2i)),
    fits = fits_two_arm(d, "IRR"))
}
add_plo <- function(name, source, xi, ni) {
  d <- list(xi = as.numeric(xi), ni = as.numeric(ni))
  datasets[[length(datasets) + 1]] <<- list(
    name = name, measure = "PLO", source = source,
    input = list(events = jarray(d$xi), n = jarray(d$ni)), fits = fits_one_arm(d, "PLO"))
}
add_irln <- function(name, source, xi, ti) {
  d <- list(xi = as.numeric(xi), ti = as.numeric(ti))
  datasets[[length(datasets) + 1]] <<- list(
    name = name, measure = "IRLN", source = source,
    input = list(events = jarray(d$xi), time = jarray(d$ti)), fits = fits_one_arm(d, "IRLN"))
}

b <- dat.bcg
add_or("bcg", "metadat::dat.bcg (tpos, tpos + tneg, cpos, cpos + cneg)",
       b$tpos, b$tpos + b$tneg, b$cpos, b$cpos + b$cneg)
nw <- dat.nielweise2007
add_or("nielweise2007", "metadat::dat.nielweise2007", nw$ai, nw$n1i, nw$ci, nw$n2i)
co <- dat.collins1985b
add_or("collins1985b", "metadat::dat.collins1985b, pre-eclampsia (pre.xti, pre.nti, pre.xci, pre.nci)",
       co$pre.xti, co$pre.nti, co$pre.xci, co$pre.nci)
h <- dat.hart1999
add_irr("hart1999", "metadat::dat.hart1999 (x1i, t1i, x2i, t2i)", h$x1i, h$t1i, h$x2i, h$t2i)
add_irln("hart1999_warfarin", "metadat::dat.hart1999, warfarin arm (x1i, t1i)", h$x1i, h$t1i)
pr <- dat.pritz1997
add_plo("pritz1997", "metadat::dat.pritz1997 (xi, ni)", pr$xi, pr$ni)

# Generated sparse data: event rates 0.1-5 %, double-zero studies, k = 2 ... 50.
set.seed(20261129)
for (k in c(2L, 5L, 20L, 50L)) {
  p2 <- runif(k, 0.001, 0.05)
  n1 <- sample(20:400, k, replace = TRUE); n2 <- sample(20:400, k, replace = TRUE)
  lor <- log(0.6) + rnorm(k, 0, 0.3)
  p1 <- plogis(qlogis(p2) + lor)
  ai <- rbinom(k, n1, p1); ci <- rbinom(k, n2, p2)
  if (k >= 5) { ai[1] <- 0; ci[1] <- 0 }  # a double-zero study
  if (sum(ai) == 0) ai[k] <- 1
  if (sum(ci) == 0) ci[k] <- 1
  add_or(sprintf("sparse_or_k%d", k), sprintf("generated (seed 20261129): k = %d, rates 0.1-5 %%", k),
         ai, n1, ci, n2)
  t1 <- round(runif(k, 50, 2000), 1); t2 <- round(runif(k, 50, 2000), 1)
  r2 <- runif(k, 0.001, 0.05)
  x1 <- rpois(k, t1 * r2 * 0.7 * exp(rnorm(k, 0, 0.3))); x2 <- rpois(k, t2 * r2)
  if (k >= 5) { x1[1] <- 0; x2[1] <- 0 }
  if (sum(x1) == 0) x1[k] <- 1
  if (sum(x2) == 0) x2[k] <- 1
  add_irr(sprintf("sparse_irr_k%d", k), sprintf("generated (seed 20261129): k = %d", k),
          x1, t1, x2, t2)
  xi <- rbinom(k, n1, p2); if (sum(xi) == 0) xi[1] <- 1
  add_plo(sprintf("sparse_plo_k%d", k), sprintf("generated (seed 20261129): k = %d", k), xi, n1)
  add_irln(sprintf("sparse_irln_k%d", k), sprintf("generated (seed 20261129): k = %d", k), x2, t2)
}

out <- list(
  generated_by = "tests/reference/make_glmm.R",
  versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                  lme4 = as.character(packageVersion("lme4")),
                  BiasedUrn = as.character(packageVersion("BiasedUrn"))),
  controls = "see the header of make_glmm.R",
  datasets = datasets
)
write_json_file(out, OUT_FILE)
cat("wrote", OUT_FILE, "\n")

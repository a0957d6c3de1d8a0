# Generate pinned metafor references for metapool.GLMM with moderators (issue 13):
# rma.glmm(..., mods = ~ x) fits of odds ratios, rate ratios, proportions and rates.
#
# Usage (from the repository root):
#   Rscript tests/reference/make_glmm_moderators.R
#
# Writes tests/reference/glmm_moderators.json.  Used: R 4.2.2 with metafor 3.8-1,
# lme4 1.1-31, BiasedUrn 2.0.9, numDeriv, metadat and jsonlite (versions recorded in
# the JSON); reuses the full-precision JSON writer of common.R.
#
# Controls as make_glmm.R (glmer: bobyqa to rhoend 1e-10, tolPwrss 1e-10; glm: epsilon
# 1e-13; CM.EL: nlminb rel.tol 1e-10, integrate() rel.tol 1e-11); nAGQ = 7 (UM.RS: 1).
# Double-zero studies: drop00 = TRUE (metafor's default) except for UM.RS.
#
# Per fit: beta, se, zval, pval, ci.lb, ci.ub (one per coefficient, intercept first),
# tau2, sigma2 (UM.RS), logLik (ll), QM, QMp, QMdf, QE.Wld, QEp.Wld, QE.LRT, QEp.LRT,
# QE.df, I2, H2, k; and ll_exact, the exact marginal log-likelihood at metafor's
# estimates by integrate() (rel.tol 1e-12; for UM.FS maximised over the study
# intercepts by optimize(), tol 1e-10), because metafor's logLik of the glmer fits is
# ll.QE - deviance/2, not the marginal log-likelihood (see make_glmm.R).

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

OUT_FILE <- file.path(SCRIPT_DIR, "glmm_moderators.json")

CTRL <- list(
  glmerCtrl = list(optimizer = "bobyqa", tolPwrss = 1e-10,
                   optCtrl = list(rhoend = 1e-10, maxfun = 1e5)),
  glmCtrl = list(epsilon = 1e-13, maxit = 1000),
  optCtrl = list(rel.tol = 1e-10, eval.max = 1e4, iter.max = 1e4),
  intCtrl = list(rel.tol = 1e-11, subdivisions = 1000L)
)

num <- function(x) if (is.null(x) || length(x) == 0) NA_real_ else as.numeric(x)

record <- function(fit, ll_exact = NA_real_) {
  list(
    beta = jarray(num(fit$beta)), se = jarray(num(fit$se)), zval = jarray(num(fit$zval)),
    pval = jarray(num(fit$pval)), ci_lb = jarray(num(fit$ci.lb)), ci_ub = jarray(num(fit$ci.ub)),
    names = jarray(rownames(fit$beta)),
    tau2 = num(fit$tau2), sigma2 = num(fit$sigma2), ll = num(logLik(fit)),
    QM = num(fit$QM), QMp = num(fit$QMp), QMdf = num(fit$QMdf[1]),
    QE_Wld = num(fit$QE.Wld), QEp_Wld = num(fit$QEp.Wld),
    QE_LRT = num(fit$QE.LRT), QEp_LRT = num(fit$QEp.LRT), QE_df = num(fit$QE.df),
    I2 = num(fit$I2), H2 = num(fit$H2), k = num(fit$k), ll_exact = num(ll_exact)
  )
}

safe <- function(expr) {
  tryCatch(expr, error = function(e) list(error = conditionMessage(e)))
}

# exact marginal log-likelihood; study i has observations j with linear predictors
# cc[i, j] + z[i, j] * u, u ~ N(0, tau2)
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

m1 <- function(v) matrix(v, ncol = 1)

# one observation per study: linear predictor off + X beta
ll_one <- function(fit, X, y, n, off, family) {
  eta <- off + c(X %*% fit$beta)
  exact_ll(m1(y), m1(n), m1(eta), m1(rep(1, length(y))), fit$tau2, family)
}

# UM.FS: arm 1 alpha_i + off1 + X beta, arm 2 alpha_i + off2, random effect coded
# +-1/2; maximised over each study's intercept
ll_umfs <- function(fit, X, y1, n1, y2, n2, off1, off2, family) {
  lin <- c(X %*% fit$beta)
  z <- matrix(c(1/2, -1/2), nrow = 1)
  total <- 0
  for (i in seq_along(y1)) {
    f <- function(alpha) {
      cc <- matrix(c(alpha + off1[i] + lin[i], alpha + off2[i]), nrow = 1)
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

fits_two_arm <- function(d, measure, mods, models) {
  out <- list()
  for (key in models) {
    parts <- strsplit(key, "_")[[1]]
    model <- parts[1]; method <- parts[2]
    drop00 <- model != "UM.RS"
    out[[key]] <- safe({
      if (measure == "OR") {
        fit <- rma.glmm(measure = "OR", ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i,
                        mods = mods, model = model, method = method, drop00 = drop00,
                        control = CTRL)
        keep <- !((d$ai == 0 & d$ci == 0) | (d$ai == d$n1i & d$ci == d$n2i)) | !drop00
      } else {
        fit <- rma.glmm(measure = "IRR", x1i = d$x1i, t1i = d$t1i, x2i = d$x2i, t2i = d$t2i,
                        mods = mods, model = model, method = method, drop00 = drop00,
                        control = CTRL)
        keep <- !(d$x1i == 0 & d$x2i == 0) | !drop00
      }
      X <- model.matrix(mods)[keep, , drop = FALSE]
      kk <- sum(keep)
      lle <- NA_real_
      if (model == "CM.AL" && measure == "OR") {
        lle <- ll_one(fit, X, d$ai[keep], (d$ai + d$ci)[keep], log(d$n1i / d$n2i)[keep],
                      "binomial")
      }
      if (model == "CM.EL" && measure == "IRR") {
        lle <- ll_one(fit, X, d$x1i[keep], (d$x1i + d$x2i)[keep], log(d$t1i / d$t2i)[keep],
                      "binomial")
      }
      if (model == "CM.EL" && measure == "OR") lle <- num(logLik(fit))  # integrate() already
      if (model == "UM.FS" && measure == "OR") {
        lle <- ll_umfs(fit, X, d$ai[keep], d$n1i[keep], d$ci[keep], d$n2i[keep], rep(0, kk),
                       rep(0, kk), "binomial")
      }
      if (model == "UM.FS" && measure == "IRR") {
        lle <- ll_umfs(fit, X, d$x1i[keep], rep(1, kk), d$x2i[keep], rep(1, kk),
                       log(d$t1i[keep]), log(d$t2i[keep]), "poisson")
      }
      record(fit, lle)
    })
  }
  out
}

fits_one_arm <- function(d, measure, mods) {
  out <- list()
  X <- model.matrix(mods)
  for (method in c("ML", "EE")) {
    out[[method]] <- safe({
      if (measure == "PLO") {
        fit <- rma.glmm(measure = "PLO", xi = d$xi, ni = d$ni, mods = mods, method = method,
                        control = CTRL)
        lle <- ll_one(fit, X, d$xi, d$ni, rep(0, length(d$xi)), "binomial")
      } else {
        fit <- rma.glmm(measure = "IRLN", xi = d$xi, ti = d$ti, mods = mods, method = method,
                        control = CTRL)
        lle <- ll_one(fit, X, d$xi, d$ti, log(d$ti), "poisson")
      }
      record(fit, lle)
    })
  }
  out
}

datasets <- list()
add <- function(name, measure, source, input, moderators, fits) {
  datasets[[length(datasets) + 1]] <<- list(
    name = name, measure = measure, source = source, input = input,
    moderators = moderators, fits = fits)
}
ALL_OR <- c("UM.FS_ML", "UM.FS_EE", "CM.AL_ML", "CM.AL_EE", "CM.EL_ML", "UM.RS_ML")
ALL_IRR <- c("UM.FS_ML", "UM.FS_EE", "CM.EL_ML", "CM.EL_EE", "UM.RS_ML")
or_input <- function(d) list(events1 = jarray(d$ai), n1 = jarray(d$n1i), events2 = jarray(d$ci),
                             n2 = jarray(d$n2i))
irr_input <- function(d) list(events1 = jarray(d$x1i), time1 = jarray(d$t1i),
                              events2 = jarray(d$x2i), time2 = jarray(d$t2i))

b <- dat.bcg
bcg <- list(ai = as.numeric(b$tpos), n1i = as.numeric(b$tpos + b$tneg),
            ci = as.numeric(b$cpos), n2i = as.numeric(b$cpos + b$cneg))
ablat <- as.numeric(b$ablat)
add("bcg_ablat", "OR", "metadat::dat.bcg, mods = ~ ablat", or_input(bcg),
    list(ablat = jarray(ablat)), fits_two_arm(bcg, "OR", ~ ablat, ALL_OR))
alloc <- b$alloc
add("bcg_alloc", "OR", "metadat::dat.bcg, mods = ~ alloc (categorical, 3 levels)",
    or_input(bcg), list(alloc = jarray(alloc)),
    fits_two_arm(bcg, "OR", ~ alloc, c("UM.FS_ML", "UM.FS_EE", "CM.AL_ML", "CM.AL_EE")))

h <- dat.hart1999
hart <- list(x1i = as.numeric(h$x1i), t1i = as.numeric(h$t1i), x2i = as.numeric(h$x2i),
             t2i = as.numeric(h$t2i))
year <- as.numeric(h$year)
add("hart1999_year", "IRR", "metadat::dat.hart1999, mods = ~ year", irr_input(hart),
    list(year = jarray(year)), fits_two_arm(hart, "IRR", ~ year, ALL_IRR))

# Generated sparse data with a moderator: rates 0.1-5 %, a double-zero study.
set.seed(20261130)
k <- 30L
x <- round(runif(k, -1, 2), 2)
p2 <- runif(k, 0.005, 0.05)
n1 <- sample(30:400, k, replace = TRUE); n2 <- sample(30:400, k, replace = TRUE)
lor <- -0.4 + 0.5 * x + rnorm(k, 0, 0.3)
ai <- rbinom(k, n1, plogis(qlogis(p2) + lor)); ci <- rbinom(k, n2, p2)
ai[1] <- 0; ci[1] <- 0
sor <- list(ai = as.numeric(ai), n1i = as.numeric(n1), ci = as.numeric(ci), n2i = as.numeric(n2))
add("sparse_or_k30_x", "OR", "generated (seed 20261130): k = 30, rates 0.5-5 %, mods = ~ x",
    or_input(sor), list(x = jarray(x)), fits_two_arm(sor, "OR", ~ x, ALL_OR))

k <- 20L
x <- round(runif(k, 0, 3), 2)
t1 <- round(runif(k, 100, 3000), 1); t2 <- round(runif(k, 100, 3000), 1)
r2 <- runif(k, 0.002, 0.03)
x1 <- rpois(k, t1 * r2 * exp(-0.3 + 0.3 * x + rnorm(k, 0, 0.2))); x2 <- rpois(k, t2 * r2)
x1[1] <- 0; x2[1] <- 0
sirr <- list(x1i = as.numeric(x1), t1i = t1, x2i = as.numeric(x2), t2i = t2)
add("sparse_irr_k20_x", "IRR", "generated (seed 20261130): k = 20, mods = ~ x",
    irr_input(sirr), list(x = jarray(x)), fits_two_arm(sirr, "IRR", ~ x, ALL_IRR))

k <- 25L
x <- round(rnorm(k), 2)
g <- sample(c("a", "b"), k, replace = TRUE)
ni <- sample(10:200, k, replace = TRUE)
xi <- rbinom(k, ni, plogis(-2 + 0.6 * x + 0.5 * (g == "b") + rnorm(k, 0, 0.5)))
plo <- list(xi = as.numeric(xi), ni = as.numeric(ni))
add("plo_k25_x_g", "PLO", "generated (seed 20261130): k = 25, mods = ~ x + g",
    list(events = jarray(plo$xi), n = jarray(plo$ni)), list(x = jarray(x), g = jarray(g)),
    fits_one_arm(plo, "PLO", ~ x + g))

pr <- dat.pritz1997
add("pritz1997_study", "PLO", "metadat::dat.pritz1997, mods = ~ study (numeric)",
    list(events = jarray(as.numeric(pr$xi)), n = jarray(as.numeric(pr$ni))),
    list(study = jarray(as.numeric(pr$study))),
    fits_one_arm(list(xi = as.numeric(pr$xi), ni = as.numeric(pr$ni)), "PLO",
                 ~ as.numeric(pr$study)))

k <- 15L
x <- round(runif(k, 0, 1), 2)
ti <- round(runif(k, 200, 5000), 1)
xi <- rpois(k, ti * exp(-5 + 1.2 * x + rnorm(k, 0, 0.4)))
irln <- list(xi = as.numeric(xi), ti = ti)
add("irln_k15_x", "IRLN", "generated (seed 20261130): k = 15, mods = ~ x",
    list(events = jarray(irln$xi), time = jarray(irln$ti)), list(x = jarray(x)),
    fits_one_arm(irln, "IRLN", ~ x))

out <- list(
  generated_by = "tests/reference/make_glmm_moderators.R",
  versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                  lme4 = as.character(packageVersion("lme4")),
                  BiasedUrn = as.character(packageVersion("BiasedUrn"))),
  controls = "see the header of make_glmm_moderators.R",
  datasets = datasets
)
write_json_file(out, OUT_FILE)
cat("wrote", OUT_FILE, "\n")

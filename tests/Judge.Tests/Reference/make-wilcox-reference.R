# Reference values for the Judge's Mann-Whitney test, produced by R's own wilcox.test.
# Run: Rscript make-wilcox-reference.R > wilcox-reference.json   (Debian package r-base-core, R 4.2)
# Every case is wilcox.test(x = experiment, y = control, exact = FALSE, correct = TRUE, conf.int = TRUE).
# The HL estimate is stored as the median of all pairwise differences computed directly, because R's
# exact = FALSE estimate is a uniroot point inside the flat stretch around that median.
set.seed(20261128)
num <- function(v) paste(sprintf("%.17g", v), collapse = ", ")
cases <- list()
add <- function(name, experiment, control, conf = 0.98) {
  t <- wilcox.test(experiment, control, exact = FALSE, correct = TRUE, conf.int = TRUE, conf.level = conf)
  hl <- median(outer(experiment, control, "-"))
  cases[[length(cases) + 1]] <<- sprintf(
    '{"name": "%s", "confidenceLevel": %s, "pValue": %s, "lower": %s, "upper": %s, "rEstimate": %s, "medianDifference": %s, "statistic": %s,\n  "experiment": [%s],\n  "control": [%s]}',
    name, num(conf), num(t$p.value), num(t$conf.int[1]), num(t$conf.int[2]), num(t$estimate), num(hl),
    num(t$statistic), num(experiment), num(control))
}
add("normal, no shift", rnorm(50, 100, 10), rnorm(50, 100, 10))
add("normal, unequal sizes, shift 5", rnorm(40, 105, 10), rnorm(60, 100, 10))
add("lognormal latency, 30% slower", 1.3 * rlnorm(200, log(120), 0.4), rlnorm(200, log(120), 0.4))
add("poisson counts with heavy ties", rpois(100, 4), rpois(100, 3))
add("poisson counts, no shift", rpois(150, 5), rpois(130, 5))
add("rounded values, ties inside and across", round(rnorm(80, 20, 3)), round(rnorm(90, 19, 3)))
add("tiny samples, interval clamps to the extremes", c(3.1, 4.7, 5.2), c(2.2, 4.0, 3.3, 6.1))
add("small samples with ties", c(1, 2, 2, 3, 5), c(2, 2, 4, 4, 6, 7, 7))
add("confidence 0.90", rnorm(60, 52, 5), rnorm(70, 50, 5), conf = 0.90)
add("confidence 0.95", rnorm(60, 52, 5), rnorm(70, 50, 5), conf = 0.95)
add("confidence 0.99", rnorm(60, 52, 5), rnorm(70, 50, 5), conf = 0.99)
add("n = m = 1000, shift 1", rnorm(1000, 501, 20), rnorm(1000, 500, 20))
add("tail z about 10", rnorm(120, 110, 10), rnorm(120, 100, 10))
add("tail z about 16", rnorm(200, 125, 10), rnorm(200, 100, 10))
add("tail z about 21, p about 1e-100", rnorm(300, 140, 10), rnorm(300, 100, 10))
add("fully separated, p about 1e-130", 1000 + runif(400, 0, 100), runif(400, 0, 100))
add("experiment lower", rnorm(90, 80, 8), rnorm(110, 100, 8))
cat("[\n", paste(unlist(cases), collapse = ",\n"), "\n]\n", sep = "")

# Times R's wilcox.test(conf.int = TRUE) on the benchmark batch, the peer of `canary judge`.
# Rscript wilcox-timing.R CONTROL.txt EXPERIMENT.txt [METRICS]   (one line of numbers per metric)
args <- commandArgs(trailingOnly = TRUE)
control <- strsplit(readLines(args[1]), " ", fixed = TRUE)
experiment <- strsplit(readLines(args[2]), " ", fixed = TRUE)
metrics <- if (length(args) >= 3) as.integer(args[3]) else length(control)
elapsed <- system.time(for (i in seq_len(metrics)) {
  x <- as.numeric(experiment[[i]])
  y <- as.numeric(control[[i]])
  wilcox.test(x, y, exact = FALSE, correct = TRUE, conf.int = TRUE, conf.level = 0.98)
})[["elapsed"]]
cat(sprintf("R %s: %d metrics of %d samples in %.2f s, %.1f ms per metric\n",
            paste(R.version$major, R.version$minor, sep = "."), metrics, length(control[[1]]),
            elapsed, 1000 * elapsed / metrics))

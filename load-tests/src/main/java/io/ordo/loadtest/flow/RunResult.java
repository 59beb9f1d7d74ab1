package io.ordo.loadtest.flow;

import org.HdrHistogram.Histogram;

/**
 * What one run measured.
 *
 * @param spec            what ran
 * @param tasks           tasks submitted
 * @param complete        of those, complete
 * @param failed          of those, failed (planted failures)
 * @param unfinished      of those, neither complete, failed nor cancelled when the run ended
 * @param steps           steps completed
 * @param seconds         from the first task offered (burn-down: the submission committed) to the last one finished
 * @param firstStartMicros submit → first step start, per task (task created_at → earliest step started_at)
 * @param completeMicros  submit → task complete, per task (created_at → completed_at)
 * @param transactions    database transactions committed or rolled back in the run's window (pg_stat_database),
 *                        the benchmark's own monitoring queries subtracted
 * @param peakOrchestrationDepth most messages seen in the orchestration queue
 * @param peakNamespaceDepth     most messages seen in the namespace queue
 * @param submitPerSecond tasks submitted per second (burn-down: the one submission transaction)
 * @param submitLagMillis steady: how far behind its schedule the submission fell at worst
 * @param cpuSeconds      CPU used while the tasks ran ({@link CpuAccount}); empty when it cannot be read
 */
record RunResult(RunSpec spec, int tasks, int complete, int failed, int unfinished, long steps, double seconds,
                 Histogram firstStartMicros, Histogram completeMicros, long transactions, long peakOrchestrationDepth,
                 long peakNamespaceDepth, double submitPerSecond, double submitLagMillis, java.util.Map<String, Double> cpuSeconds) {

    /** CPU ms per task of the database sessions of the nodes (orchestrators, workers), or NaN when unknown. */
    double databaseCpuMillisPerTask() {
        if (cpuSeconds.isEmpty() || tasks == 0) {
            return Double.NaN;
        }
        return 1000 * (cpuSeconds.get("db_orchestrators") + cpuSeconds.get("db_workers") + cpuSeconds.get("db_other")) / tasks;
    }

    /** CPU ms per task of the nodes themselves (this JVM, or the node processes), or NaN when unknown. */
    double nodesCpuMillisPerTask() {
        return cpuSeconds.isEmpty() || tasks == 0 ? Double.NaN : 1000 * cpuSeconds.get("nodes") / tasks;
    }

    double tasksPerSecond() {
        return seconds <= 0 ? 0 : (complete + failed) / seconds;
    }

    double stepsPerSecond() {
        return seconds <= 0 ? 0 : steps / seconds;
    }

    double transactionsPerTask() {
        return tasks == 0 ? 0 : (double) transactions / tasks;
    }

    static double millis(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(percentile) / 1000.0;
    }

    static double maxMillis(Histogram h) {
        return h.getTotalCount() == 0 ? 0 : h.getMaxValue() / 1000.0;
    }
}

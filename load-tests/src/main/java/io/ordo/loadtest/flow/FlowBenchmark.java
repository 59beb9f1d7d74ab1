package io.ordo.loadtest.flow;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.ordo.InvalidInputException;
import io.ordo.loadtest.BenchDatabase;
import io.ordo.loadtest.cluster.Topology;
import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The full-path scenarios of {@code ./ordo bench}: tasks submitted through {@code ordo.submit_task} (in one transaction,
 * or one per transaction through {@code TaskClient}), orchestrated by real orchestrator nodes (the engine, its
 * leader's duties), run by real workers ({@code OrdoWorker}) with a no-op or sleeping handler, and completed. Every
 * figure is reported beside the raw-SQL ceiling measured on the same database in the same run (before and after the
 * runs; their mean), as a ratio.
 */
public final class FlowBenchmark {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int WARMUP_ROUNDS = 6;
    private static final double QUIET_JIT_SHARE = 0.05;

    /** A full-path scenario: its name, a line about it, and the runs it makes from the options. */
    public enum Scenario {
        BURN_DOWN("burn-down", "submit N tasks up front in one transaction, then drain them (default 50,000 1-step no-op tasks)"),
        STEADY("steady", "submit at R tasks/s for T seconds, one task per transaction, and measure latencies (after a 3 s ramp, not measured)"),
        SHAPES("shapes", "burn-down of a 1-step task, a chain of 10 and a fan-out 1 -> 10 -> 1 (same number of steps each)"),
        TOPOLOGY("topology", "burn-down with several numbers of orchestrators and workers (--processes: separate JVMs)"),
        HANDLERS("handlers", "burn-down with a no-op handler and handlers that sleep S ms"),
        LATENCY("latency", "one task at a time on an idle system (a chain of 3): submit -> complete latency"),
        REPORT("report", "the benchmark report: every target of the issue in one run, with the raw-SQL ceiling");

        final String key;
        final String summary;

        Scenario(String key, String summary) {
            this.key = key;
            this.summary = summary;
        }

        public String key() {
            return key;
        }

        public String summary() {
            return summary;
        }

        /** Entry point; returns the process exit code. */
        public int run(String[] args) throws Exception {
            return FlowBenchmark.run(this, args);
        }
    }

    private final Scenario scenario;
    private final FlowOptions options;
    private final BenchDatabase bench;
    private final PrintStream err;
    /** Runs decided by an earlier run's figures (the report's steady run at half the burn-down's throughput). */
    private final ArrayDeque<RunSpec> pending = new ArrayDeque<>();

    private FlowBenchmark(Scenario scenario, FlowOptions options, BenchDatabase bench, PrintStream err) {
        this.scenario = scenario;
        this.options = options;
        this.bench = bench;
        this.err = err;
    }

    static int run(Scenario scenario, String[] args) throws Exception {
        if (Arrays.asList(args).contains("--help") || Arrays.asList(args).contains("-h")) {
            usage(scenario, System.out);
            return 0;
        }
        FlowOptions options;
        try {
            options = FlowOptions.parse(scenario.key, args);
        } catch (InvalidInputException e) {
            System.err.println("ordo bench " + scenario.key + ": " + e.getMessage());
            return 2;
        }
        try (BenchDatabase bench = BenchDatabase.open(Ceiling.THREADS + 4)) {
            return new FlowBenchmark(scenario, options, bench, System.err).runAll(System.out);
        }
    }

    /**
     * Runs a scenario on {@code bench} (a pool of at least {@value Ceiling#THREADS} + 4 connections), its JSON lines and
     * table to {@code out}, progress to {@code err}; returns the exit code. For tests and tools that bring their database.
     */
    public static int run(Scenario scenario, String[] args, BenchDatabase bench, PrintStream out, PrintStream err) throws Exception {
        return new FlowBenchmark(scenario, FlowOptions.parse(scenario.key, args), bench, err).runAll(out);
    }

    private static void usage(Scenario scenario, PrintStream out) {
        String own = switch (scenario) {
            case BURN_DOWN -> "  --tasks N               tasks submitted up front (default 50,000)\n";
            case STEADY -> """
                      --rate R                tasks per second (default 1000)
                      --seconds T             how long (default 20)
                      --submitters N          submitting threads (default 8)
                    """;
            case SHAPES -> "  --steps N               steps per shape; tasks = N / steps per task (default 48,000)\n";
            case TOPOLOGY -> """
                      --tasks N               tasks per run (default 50,000)
                      --topologies LIST       ORCHESTRATORSxWORKERS, comma-separated (default 1x1,1x2,2x2,2x4)
                    """;
            case HANDLERS -> "  --steps N               steps per run (default 48,000; a sleeping handler gets fewer, see below)\n";
            case LATENCY -> "  --latency-tasks N       tasks, one at a time (default 200)\n";
            case REPORT -> """
                      --tasks N               burn-down tasks (default 50,000)
                      --steps N               fan-out burn-down steps (default 48,000)
                      --seconds T             steady run at half the maximum throughput, measured first for T/2 s
                                              by submitting as fast as possible (default 20)
                      --latency-tasks N       idle latency tasks (default 200)
                    """;
        };
        out.println("usage: ./ordo bench " + scenario.key + " [options]\n\n" + scenario.summary + ".\n"
                + "Runs against ORDO_DATABASE_URL if set, else a fresh embedded PostgreSQL. Output: one JSON line per run\n"
                + "on stdout, then a table; progress on stderr.\n\n" + own + FlowOptions.usage(scenario.key));
    }

    private int runAll(PrintStream out) throws Exception {
        Environment env = Environment.capture(bench.database().dsl(), bench.description());
        err.println("ordo bench " + scenario.key + ": " + env.summary());
        Path logDir = options.out().toAbsolutePath().getParent().resolve("logs");
        FlowRun runner = new FlowRun(bench, options.namespace(), logDir, err);
        runner.prepare();
        List<RunSpec> plan = plan();
        if (options.warmupSteps() > 0) {
            for (RunSpec run : plan.stream().collect(java.util.stream.Collectors.toMap(
                    r -> r.shape() + "/" + (r.load() instanceof Load.Steady), r -> r, (a, b) -> a, java.util.LinkedHashMap::new)).values()) {
                warmUp(runner, run);
            }
        }
        Duration ceilingTime = Duration.ofSeconds(options.ceilingSeconds());
        err.println("ordo bench " + scenario.key + ": measuring the raw-SQL ceiling");
        Ceiling before = Ceiling.measure(bench.database().dsl(), bench.database().dataSource(), Duration.ofSeconds(2), ceilingTime);
        err.printf(Locale.ROOT, "ordo bench %s: ceiling: insert %,.0f rows/s, claim+delete %,.0f rows/s%n", scenario.key,
                before.insertPerSecond(), before.claimDeletePerSecond());
        List<RunResult> results = new ArrayList<>();
        for (RunSpec spec : plan) {
            RunResult r = runner.run(spec);
            results.add(r);
            err.printf(Locale.ROOT, "ordo bench %s: %s: %,.0f tasks/s, %,.0f steps/s (%.1f%% of the ceiling), %.2f transactions/task,"
                            + " CPU ms/task: database %.3f %s, nodes %.3f%s%n",
                    scenario.key, spec.label(), r.tasksPerSecond(), r.stepsPerSecond(), 100 * before.ratio(r.stepsPerSecond()),
                    r.transactionsPerTask(), r.databaseCpuMillisPerTask(), r.cpuSeconds(), r.nodesCpuMillisPerTask(),
                    r.unfinished() > 0 ? ", " + r.unfinished() + " UNFINISHED" : "");
            if (scenario == Scenario.REPORT && spec.load() instanceof Load.BurnDown && spec.shape() == Shape.ONE) {
                pending.add(saturating());
            }
            while (!pending.isEmpty()) {
                RunSpec next = pending.removeFirst();
                RunResult nr = runner.run(next);
                results.add(nr);
                if (next.load() instanceof Load.Steady st && st.saturate()) {
                    err.printf(Locale.ROOT, "ordo bench %s: %s: %,.0f tasks/s sustained%n", scenario.key, next.label(), nr.tasksPerSecond());
                    pending.add(steadyAtHalf(nr));
                    continue;
                }
                err.printf(Locale.ROOT, "ordo bench %s: %s: first step start p99 %.1f ms, complete p50 %.1f ms%n", scenario.key,
                        next.label(), RunResult.millis(nr.firstStartMicros(), 99), RunResult.millis(nr.completeMicros(), 50));
            }
        }
        err.println("ordo bench " + scenario.key + ": measuring the raw-SQL ceiling again");
        Ceiling after = Ceiling.measure(bench.database().dsl(), bench.database().dataSource(), Duration.ofSeconds(1), ceilingTime);
        Ceiling ceiling = before.mean(after);
        Path file = options.out().toAbsolutePath();
        Files.createDirectories(file.getParent());
        try (PrintStream lines = new PrintStream(Files.newOutputStream(file), true, "UTF-8")) {
            emit(out, lines, environmentLine(env));
            emit(out, lines, ceilingLine(before, after, ceiling));
            for (RunResult r : results) {
                emit(out, lines, runLine(r, ceiling));
            }
        }
        String driftNote = Ceiling.driftNote(before, after);
        printTable(out, env, before, after, ceiling, results, driftNote);
        if (scenario == Scenario.REPORT) {
            printTargets(out, ceiling, results, driftNote);
        }
        err.println("ordo bench " + scenario.key + ": JSON lines written to " + file);
        return warmUpUnfinished > 0 || results.stream().anyMatch(r -> r.unfinished() > 0) ? 1 : 0;
    }

    /**
     * Runs {@code --warmup-steps} steps of the run's shape, not reported, until the JIT is quiet: until a round spent
     * less than {@value #QUIET_JIT_SHARE} of its wall time compiling, at most {@value #WARMUP_ROUNDS} rounds. Measured
     * runs then see compiled code, as a long-running node does (a cold run spent a third of its CPU in C2). A steady
     * run is warmed up by submitting as it will, one task per transaction at its rate: a burn-down submits in one
     * transaction and leaves the submission path cold (a steady run after one spent a third of its CPU in the JIT).
     */
    /** Tasks of the warm-up rounds that never finished: they fail the command as the measured runs' do. */
    private int warmUpUnfinished;

    private void warmUp(FlowRun runner, RunSpec run) throws Exception {
        Shape shape = run.shape();
        Load load = run.load() instanceof Load.Steady st
                ? new Load.Steady(st.rate(), Duration.ofSeconds(Math.clamp(
                        st.rate() <= 0 ? 0 : Math.round(options.warmupSteps() / (st.rate() * shape.steps())), 3, 10)),
                        st.submitters(), st.saturate())
                : new Load.BurnDown(Math.max(1, options.warmupSteps() / shape.steps()));
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        for (int round = 1; round <= WARMUP_ROUNDS; round++) {
            err.println("ordo bench " + scenario.key + ": warm-up round " + round + " (not reported)");
            long compiledBefore = jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : 0;
            long start = System.nanoTime();
            RunResult warm = runner.run(new RunSpec("warm-up", shape, load, run.topology(), 0));
            if (warm.unfinished() > 0) {
                // not measured, but a task that never finished is a fault wherever it happens
                warmUpUnfinished += warm.unfinished();
                err.printf(Locale.ROOT, "ordo bench %s: warm-up round %d: %d tasks UNFINISHED%n", scenario.key, round, warm.unfinished());
            }
            double wallMillis = (System.nanoTime() - start) / 1e6;
            if (!jit.isCompilationTimeMonitoringSupported()) {
                return;
            }
            double share = (jit.getTotalCompilationTime() - compiledBefore) / wallMillis;
            err.printf(Locale.ROOT, "ordo bench %s: warm-up round %d: JIT compiling %.0f%% of the time%n", scenario.key, round, 100 * share);
            if (share < QUIET_JIT_SHARE) {
                return;
            }
        }
    }

    /** The runs of the scenario (the report adds its steady run once the burn-down has measured the maximum). */
    private List<RunSpec> plan() {
        Topology t = options.topology();
        int sleep = options.sleeps().getFirst();
        String key = scenario.key;
        List<RunSpec> runs = new ArrayList<>();
        switch (scenario) {
            case BURN_DOWN -> options.shapes().forEach(s -> runs.add(new RunSpec(key, s, new Load.BurnDown(options.tasks()), t, sleep)));
            case STEADY -> options.shapes().forEach(s -> runs.add(new RunSpec(key, s,
                    new Load.Steady(options.rate(), Duration.ofSeconds(options.seconds()), options.submitters()), t, sleep)));
            case SHAPES -> options.shapes().forEach(s -> runs.add(new RunSpec(key, s,
                    new Load.BurnDown(Math.max(1, options.steps() / s.steps())), t, sleep)));
            case TOPOLOGY -> options.topologyList().forEach(top -> runs.add(new RunSpec(key, options.shapes().getFirst(),
                    new Load.BurnDown(options.tasks()), top, sleep)));
            case HANDLERS -> options.sleeps().forEach(ms -> {
                // a sleeping handler bounds a worker at concurrency / sleep steps per second: keep each run near 20 s at most
                long bound = ms == 0 ? Long.MAX_VALUE : (long) t.workers() * t.workerConcurrency() * 1000L * 20 / ms;
                int steps = (int) Math.min(options.steps(), bound);
                Shape shape = options.shapes().getFirst();
                runs.add(new RunSpec(key, shape, new Load.BurnDown(Math.max(1, steps / shape.steps())), t, ms));
            });
            case LATENCY -> runs.add(new RunSpec(key, Shape.CHAIN3, new Load.Sequential(options.latencyTasks(), Duration.ofMillis(20)), t, 0));
            case REPORT -> {
                runs.add(new RunSpec(key, Shape.ONE, new Load.BurnDown(options.tasks()), t, 0));
                runs.add(new RunSpec(key, Shape.FANOUT, new Load.BurnDown(Math.max(1, options.steps() / Shape.FANOUT.steps())), t, 0));
                runs.add(new RunSpec(key, Shape.CHAIN3, new Load.Sequential(options.latencyTasks(), Duration.ofMillis(20)), t, 0));
            }
        }
        return runs;
    }

    /**
     * The report's measure of the maximum throughput: 1-step tasks submitted one per transaction as fast as the
     * submitters can, for half of {@code --seconds} (at least 5 s). The burn-down drains faster than that, since its
     * tasks were all submitted in one transaction before it started; a steady load pays for every submission.
     */
    private RunSpec saturating() {
        return new RunSpec(scenario.key, Shape.ONE, new Load.Steady(0, Duration.ofSeconds(Math.max(5, options.seconds() / 2)),
                options.submitters(), true), options.topology(), 0);
    }

    /** The report's steady run: 1-step tasks at half the throughput the saturating run sustained. */
    private RunSpec steadyAtHalf(RunResult saturated) {
        double rate = Math.max(1, Math.floor(saturated.tasksPerSecond() / 2));
        return new RunSpec(scenario.key, Shape.ONE, new Load.Steady(rate, Duration.ofSeconds(options.seconds()), options.submitters()),
                options.topology(), 0);
    }

    // ---- output ---------------------------------------------------------------------------------------------

    private static void emit(PrintStream out, PrintStream file, Map<String, Object> line) {
        try {
            String json = JSON.writeValueAsString(line);
            out.println(json);
            file.println(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Map<String, Object> environmentLine(Environment env) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("scenario", scenario.key);
        line.put("figure", "environment");
        line.putAll(env.values());
        return line;
    }

    private Map<String, Object> ceilingLine(Ceiling before, Ceiling after, Ceiling mean) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("scenario", scenario.key);
        line.put("figure", "ceiling");
        line.put("threads", Ceiling.THREADS);
        line.put("batch", Ceiling.BATCH);
        line.put("insert_per_sec", round(mean.insertPerSecond(), 1));
        line.put("claim_delete_per_sec", round(mean.claimDeletePerSecond(), 1));
        line.put("claim_delete_per_sec_before", round(before.claimDeletePerSecond(), 1));
        line.put("claim_delete_per_sec_after", round(after.claimDeletePerSecond(), 1));
        line.put("claim_delete_drift", round(before.claimDeleteDrift(after), 4));
        line.put("insert_per_sec_before", round(before.insertPerSecond(), 1));
        line.put("insert_per_sec_after", round(after.insertPerSecond(), 1));
        return line;
    }

    private Map<String, Object> runLine(RunResult r, Ceiling ceiling) {
        RunSpec s = r.spec();
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("scenario", scenario.key);
        line.put("figure", "run");
        line.put("shape", s.shape().key());
        line.put("steps_per_task", s.shape().steps());
        line.put("load", s.load().label());
        if (s.load() instanceof Load.Steady st) {
            if (st.saturate()) {
                line.put("saturating", true);
            } else {
                line.put("offered_per_sec", st.rate());
            }
            line.put("ramp_seconds_not_measured", FlowRun.RAMP.toSeconds());
        }
        line.put("orchestrators", s.topology().orchestrators());
        line.put("workers", s.topology().workers());
        line.put("processes", s.topology().processes());
        line.put("worker_concurrency", s.topology().workerConcurrency());
        line.put("worker_batch", s.topology().workerBatch());
        line.put("orchestrator_batch", s.topology().orchestratorBatch());
        line.put("handler", s.handlerLabel());
        line.put("tasks", r.tasks());
        line.put("complete", r.complete());
        line.put("failed", r.failed());
        line.put("unfinished", r.unfinished());
        line.put("steps", r.steps());
        line.put("seconds", round(r.seconds(), 3));
        line.put("tasks_per_sec", round(r.tasksPerSecond(), 1));
        line.put("steps_per_sec", round(r.stepsPerSecond(), 1));
        line.put("ceiling_claim_delete_per_sec", round(ceiling.claimDeletePerSecond(), 1));
        line.put("tasks_ratio", round(ceiling.ratio(r.tasksPerSecond()), 4));
        line.put("steps_ratio", round(ceiling.ratio(r.stepsPerSecond()), 4));
        line.put("first_start_ms", percentiles(r.firstStartMicros()));
        line.put("complete_ms", percentiles(r.completeMicros()));
        line.put("transactions", r.transactions());
        line.put("transactions_per_task", round(r.transactionsPerTask(), 3));
        if (!r.cpuSeconds().isEmpty()) {
            line.put("db_cpu_ms_per_task", round(r.databaseCpuMillisPerTask(), 4));
            line.put("nodes_cpu_ms_per_task", round(r.nodesCpuMillisPerTask(), 4));
            r.cpuSeconds().forEach((k, v) -> line.put("cpu_s_" + k, round(v, 2)));
        }
        line.put("peak_orchestration_depth", r.peakOrchestrationDepth());
        line.put("peak_namespace_depth", r.peakNamespaceDepth());
        if (r.submitPerSecond() > 0) {
            line.put("submit_per_sec", round(r.submitPerSecond(), 1));
            line.put("submit_ratio_to_insert_ceiling", round(r.submitPerSecond() / ceiling.insertPerSecond(), 4));
        }
        if (s.load() instanceof Load.Steady) {
            line.put("submit_lag_ms_max", round(r.submitLagMillis(), 1));
        }
        return line;
    }

    private static Map<String, Object> percentiles(Histogram h) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("p50", round(RunResult.millis(h, 50), 2));
        m.put("p90", round(RunResult.millis(h, 90), 2));
        m.put("p99", round(RunResult.millis(h, 99), 2));
        m.put("max", round(RunResult.maxMillis(h), 2));
        return m;
    }

    private void printTable(PrintStream out, Environment env, Ceiling before, Ceiling after, Ceiling ceiling, List<RunResult> results,
                            String driftNote) {
        out.println();
        out.println("ordo bench " + scenario.key + ": " + env.summary());
        out.printf(Locale.ROOT, "raw-SQL ceiling (%d threads, %d rows per transaction): insert %,.0f rows/s, claim+delete %,.0f rows/s"
                        + " (before %,.0f, after %,.0f)%n", Ceiling.THREADS, Ceiling.BATCH, ceiling.insertPerSecond(),
                ceiling.claimDeletePerSecond(), before.claimDeletePerSecond(), after.claimDeletePerSecond());
        if (driftNote != null) {
            out.println(driftNote);
        }
        out.printf(Locale.ROOT, "%-8s %-24s %-11s %-9s %9s %9s %7s %7s %26s %26s %7s %9s%n", "shape", "load", "nodes", "handler",
                "tasks/s", "steps/s", "tasks÷c", "steps÷c", "first start p50/90/99/max", "complete p50/90/99/max", "xact/t",
                "peak q");
        for (RunResult r : results) {
            RunSpec s = r.spec();
            out.printf(Locale.ROOT, "%-8s %-24s %-11s %-9s %,9.0f %,9.0f %6.1f%% %6.1f%% %26s %26s %7.2f %,9d%s%n", s.shape().key(),
                    s.load().label(), s.topology().label(), s.handlerLabel(), r.tasksPerSecond(), r.stepsPerSecond(),
                    100 * ceiling.ratio(r.tasksPerSecond()), 100 * ceiling.ratio(r.stepsPerSecond()), quad(r.firstStartMicros()),
                    quad(r.completeMicros()), r.transactionsPerTask(), Math.max(r.peakNamespaceDepth(), r.peakOrchestrationDepth()),
                    r.unfinished() > 0 ? "  (" + r.unfinished() + " unfinished)" : "");
        }
        out.println("latencies in ms; ÷c is the ratio to the claim+delete ceiling; xact/t is database transactions per task;"
                + " peak q is the deepest queue seen");
        printCpu(out, results);
    }

    /**
     * Where each run's CPU went, per task: the database sessions that submitted, orchestrated and ran the tasks, and the
     * nodes' processes (in-process: this JVM, submitting threads included). Left out when the backends cannot be read.
     */
    private static void printCpu(PrintStream out, List<RunResult> results) {
        List<RunResult> counted = results.stream().filter(r -> !r.cpuSeconds().isEmpty() && r.tasks() > 0).toList();
        if (counted.isEmpty()) {
            return;
        }
        out.println();
        out.printf(Locale.ROOT, "%-8s %-24s %14s %14s %14s %14s%n", "shape", "load", "db submitting", "db orchestr.", "db workers",
                "nodes (JVM)");
        for (RunResult r : counted) {
            Map<String, Double> cpu = r.cpuSeconds();
            out.printf(Locale.ROOT, "%-8s %-24s %14.0f %14.0f %14.0f %14.0f%n", r.spec().shape().key(), r.spec().load().label(),
                    perTask(cpu.getOrDefault("db_submitters", 0.0), r), perTask(cpu.get("db_orchestrators"), r),
                    perTask(cpu.get("db_workers"), r), perTask(cpu.get("nodes"), r));
        }
        out.println("CPU µs per task, counted while the tasks ran: a burn-down's submission came before, and a sequential"
                + " run's submitting session has closed when it is read");
    }

    private static double perTask(double seconds, RunResult r) {
        return seconds * 1e6 / r.tasks();
    }

    private void printTargets(PrintStream out, Ceiling ceiling, List<RunResult> results, String driftNote) {
        out.println();
        out.println("targets:");
        for (RunResult r : results) {
            RunSpec s = r.spec();
            if (s.load() instanceof Load.BurnDown && s.shape() == Shape.ONE) {
                target(out, "burn-down 1-step tasks/s >= 10% of claim+delete ceiling", 100 * ceiling.ratio(r.tasksPerSecond()), 10, true, "%");
                target(out, "transactions per 1-step task, burn-down (one submission transaction) <= 1.5", r.transactionsPerTask(), 1.5,
                        false, "");
            } else if (s.load() instanceof Load.BurnDown && s.shape() == Shape.FANOUT) {
                target(out, "fan-out 1->10->1 steps/s >= 20% of claim+delete ceiling", 100 * ceiling.ratio(r.stepsPerSecond()), 20, true, "%");
            } else if (s.load() instanceof Load.Steady st && st.saturate()) {
                out.printf(Locale.ROOT, "  %-80s %,10.0f/s%n", "maximum throughput, one task per submission (measured, no target)",
                        r.tasksPerSecond());
                target(out, "transactions per 1-step task at saturation, submissions included <= 1.5", r.transactionsPerTask(), 1.5,
                        false, "");
            } else if (s.load() instanceof Load.Steady) {
                target(out, "at half the maximum throughput, submit->first step start p99 <= 25 ms",
                        RunResult.millis(r.firstStartMicros(), 99), 25, false, " ms");
            } else if (s.load() instanceof Load.Sequential) {
                target(out, "idle chain of 3, submit->complete p50 < 20 ms", RunResult.millis(r.completeMicros(), 50), 20, false, " ms");
            }
        }
        if (driftNote != null) {
            out.println(driftNote);
        }
    }

    private static void target(PrintStream out, String what, double value, double limit, boolean atLeast, String unit) {
        boolean met = atLeast ? value >= limit : value <= limit;
        out.printf(Locale.ROOT, "  %-80s %10.2f%s  %s%n", what, value, unit, met ? "met" : "MISSED");
    }

    private static String quad(Histogram h) {
        return String.format(Locale.ROOT, "%.1f/%.1f/%.1f/%.1f", RunResult.millis(h, 50), RunResult.millis(h, 90),
                RunResult.millis(h, 99), RunResult.maxMillis(h));
    }

    private static double round(double value, int decimals) {
        double scale = Math.pow(10, decimals);
        return Math.round(value * scale) / scale;
    }
}

package io.ordo.loadtest.chaos;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.ordo.InvalidInputException;
import io.ordo.db.Database;
import io.ordo.loadtest.BenchDatabase;
import io.ordo.loadtest.Progress;
import io.ordo.loadtest.cluster.BenchCluster;
import io.ordo.loadtest.cluster.NodeProcess;
import io.ordo.loadtest.cluster.Topology;
import io.ordo.loadtest.flow.FlowRun;
import io.ordo.loadtest.flow.Shape;
import io.ordo.task.TaskClient;
import org.jooq.DSLContext;
import org.jooq.Record;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * {@code ./ordo bench chaos}: a steady load on orchestrators ({@code ordo server}) and workers ({@code ordo worker})
 * running as separate processes, while, a number of times, one node chosen at random is killed with SIGKILL and
 * restarted, or has its database sessions terminated (it reconnects by itself), at a random moment. Some tasks carry
 * a planted failure. At the end the database must show every task complete (or, when planted, failed with a dead
 * letter), no step result applied twice (one {@code complete} transition per step), no task left unfinished and no
 * message left behind; and for each fault, how long until progress resumed and until the work in flight at that
 * moment had finished.
 */
public final class ChaosBenchmark {
    public static final String NAME = "chaos";
    public static final String SUMMARY = "steady load on orchestrator and worker processes while nodes are killed or cut off and"
            + " restarted; checks that every task finished, once";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What is done to a node. */
    public enum Fault {
        /** SIGKILL, then the process is started again */
        KILL,
        /** every database session of the node is terminated (pg_terminate_backend); the process lives on */
        TERMINATE_SESSIONS
    }

    /**
     * @param seconds        how long tasks are submitted
     * @param rounds         faults, spread at random over the middle of the run
     * @param rate           tasks submitted per second
     * @param failPercent    share of tasks whose context plants a permanent failure of one step
     * @param sleepMillis    how long each step's handler sleeps, so that a fault finds steps in flight
     * @param visibility     the workers' visibility timeout and the orchestrators' lease TTL: how soon lost work returns
     * @param seed           of the random choices (node, fault, moment)
     */
    public record Options(int seconds, int rounds, int orchestrators, int workers, double rate, Shape shape, int failPercent,
                          int sleepMillis, Duration visibility, long seed, String namespace, Path out) {
        public Options {
            range("--seconds", seconds, 5, 3600);
            range("--rounds", rounds, 1, 1000);
            range("--orchestrators", orchestrators, 2, 8);
            range("--workers", workers, 2, 16);
            range("--fail-percent", failPercent, 0, 100);
            range("--sleep-ms", sleepMillis, 0, 60_000);
            if (!(rate > 0 && rate <= 10_000)) {
                throw new InvalidInputException("--rate must be between 0 and 10000 tasks per second, got " + rate);
            }
            if (visibility.compareTo(Duration.ofSeconds(1)) < 0 || visibility.compareTo(Duration.ofMinutes(5)) > 0) {
                throw new InvalidInputException("--visibility-seconds must be between 1 and 300, got " + visibility.toSeconds());
            }
            if (namespace == null || !namespace.matches("[a-z][a-z0-9_]{0,39}")) {
                throw new InvalidInputException("--namespace must match ^[a-z][a-z0-9_]{0,39}$, got " + namespace);
            }
        }

        public static Options defaults() {
            return new Options(60, 6, 2, 2, 100, Shape.CHAIN3, 5, 50, Duration.ofSeconds(5), System.nanoTime(), "chaos",
                    Path.of("target", "bench", "chaos-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + ".jsonl"));
        }

        public Options with(int seconds, int rounds, double rate, Duration visibility) {
            return new Options(seconds, rounds, orchestrators, workers, rate, shape, failPercent, sleepMillis, visibility, seed,
                    namespace, out);
        }

        static Options parse(String[] args) {
            Options d = defaults();
            int seconds = d.seconds;
            int rounds = d.rounds;
            int orchestrators = d.orchestrators;
            int workers = d.workers;
            double rate = d.rate;
            Shape shape = d.shape;
            int failPercent = d.failPercent;
            int sleepMillis = d.sleepMillis;
            long visibility = d.visibility.toSeconds();
            long seed = d.seed;
            String namespace = d.namespace;
            Path out = d.out;
            for (int i = 0; i < args.length; i++) {
                String option = args[i];
                if (i + 1 >= args.length) {
                    throw new InvalidInputException(option + ": unknown option or missing value; see ./ordo bench chaos --help");
                }
                String value = args[++i];
                switch (option) {
                    case "--seconds" -> seconds = number(option, value);
                    case "--rounds" -> rounds = number(option, value);
                    case "--orchestrators" -> orchestrators = number(option, value);
                    case "--workers" -> workers = number(option, value);
                    case "--rate" -> rate = number(option, value);
                    case "--shape" -> shape = Shape.of(value);
                    case "--fail-percent" -> failPercent = number(option, value);
                    case "--sleep-ms" -> sleepMillis = number(option, value);
                    case "--visibility-seconds" -> visibility = number(option, value);
                    case "--seed" -> seed = number(option, value);
                    case "--namespace" -> namespace = value;
                    case "--out" -> out = Path.of(value);
                    default -> throw new InvalidInputException("unknown option " + option + "; see ./ordo bench chaos --help");
                }
            }
            return new Options(seconds, rounds, orchestrators, workers, rate, shape, failPercent, sleepMillis,
                    Duration.ofSeconds(visibility), seed, namespace, out);
        }

        private static int number(String option, String value) {
            try {
                return Integer.parseInt(value.replace("_", ""));
            } catch (NumberFormatException e) {
                throw new InvalidInputException(option + " needs a whole number, got '" + value + "'");
            }
        }

        private static void range(String option, int value, int min, int max) {
            if (value < min || value > max) {
                throw new InvalidInputException(option + " must be between " + min + " and " + max + ", got " + value);
            }
        }
    }

    /** One fault: which node, what was done, when (database clock), and how long a killed node stayed down. */
    public record Event(int round, String node, NodeProcess.Kind kind, Fault fault, double atSeconds, OffsetDateTime at,
                        Duration downFor) {
    }

    /**
     * How the cluster came back from one fault.
     *
     * @param inFlight            tasks submitted before the fault and not finished at that moment
     * @param progressResumed     from the fault to the next task finished, by any node
     * @param inFlightFinished    from the fault until the last of {@code inFlight} finished (null if one never did)
     */
    public record Recovery(Event event, int inFlight, Duration progressResumed, Duration inFlightFinished) {
    }

    /**
     * What the database shows at the end.
     *
     * @param planted            tasks submitted with a planted failure
     * @param plantedDeadLettered of those, failed with a dead letter for the planted step
     * @param unexpected         tasks failed or cancelled without a planted failure
     * @param unfinished         tasks neither complete, failed nor cancelled
     * @param appliedTwice       steps with more than one applied {@code complete} transition
     * @param completeNotOnce    complete steps without exactly one applied {@code complete} transition
     * @param leftoverMessages   messages of the run's tasks still in a queue
     * @param redelivered        step attempts started again because their worker was lost (a fault found them in flight)
     */
    public record Verdict(int tasks, int complete, int failed, int planted, int plantedDeadLettered, int unexpected, int unfinished,
                          int appliedTwice, int completeNotOnce, int leftoverMessages, int redelivered) {
        public boolean ok() {
            return tasks > 0 && unfinished == 0 && unexpected == 0 && appliedTwice == 0 && completeNotOnce == 0
                    && leftoverMessages == 0 && plantedDeadLettered == planted && complete + failed == tasks;
        }
    }

    public record Result(Options options, List<Recovery> recoveries, Verdict verdict, double completedPerSecond) {
    }

    private final BenchDatabase bench;
    private final Options options;
    private final PrintStream err;
    private final Random random;
    /** Tasks submitted with a planted failure; known once the submission is over. */
    private List<Long> plantedTasks = List.of();

    private ChaosBenchmark(BenchDatabase bench, Options options, PrintStream err) {
        this.bench = bench;
        this.options = options;
        this.err = err;
        this.random = new Random(options.seed());
    }

    /** Entry point of {@code ./ordo bench chaos}; returns the exit code (1 when a check failed). */
    public static int run(String[] args) throws Exception {
        if (Arrays.asList(args).contains("--help") || Arrays.asList(args).contains("-h")) {
            System.out.println("""
                    usage: ./ordo bench chaos [--seconds N] [--rounds N] [--orchestrators N] [--workers N] [--rate R]
                                              [--shape S] [--fail-percent P] [--sleep-ms N] [--visibility-seconds N]
                                              [--seed N] [--out FILE]

                    Runs orchestrators (ordo server) and workers (ordo worker) as separate processes under a steady load and,
                    --rounds times at random moments, kills one at random (SIGKILL, then restarts it) or terminates its
                    database sessions. Then checks against the database that every task finished (planted failures with a
                    dead letter), that no step result was applied twice and that nothing was left behind, and reports how long
                    each fault took to recover from. Runs against ORDO_DATABASE_URL if set, else a fresh embedded PostgreSQL.

                      --seconds N             how long tasks are submitted (default 60)
                      --rounds N              faults (default 6)
                      --orchestrators N       orchestrator processes, at least 2 (default 2)
                      --workers N             worker processes, at least 2 (default 2)
                      --rate R                tasks per second (default 100)
                      --shape S               one, chain3, chain10, fanout (default chain3)
                      --fail-percent P        tasks with a planted permanent failure (default 5)
                      --sleep-ms N            what each step's handler does: sleep N ms, so faults find steps in flight (default 50)
                      --visibility-seconds N  workers' visibility timeout and orchestrators' lease TTL (default 5)
                      --seed N                of the random choices (default: random)
                      --out FILE              also write the JSON lines here (default target/bench/chaos-<time>.jsonl)""");
            return 0;
        }
        Options options;
        try {
            options = Options.parse(args);
        } catch (InvalidInputException e) {
            System.err.println("ordo bench chaos: " + e.getMessage());
            return 2;
        }
        try (BenchDatabase bench = BenchDatabase.open(6)) {
            Result result = run(bench, options, System.err);
            report(result, System.out);
            return result.verdict().ok() ? 0 : 1;
        }
    }

    /** Runs the scenario on a migrated database. */
    public static Result run(BenchDatabase bench, Options options, PrintStream err) throws Exception {
        return new ChaosBenchmark(bench, options, err).execute();
    }

    private Result execute() throws Exception {
        DSLContext dsl = bench.database().dsl();
        FlowRun.prepare(dsl, options.namespace());
        long afterTaskId = dsl.fetchOne("select coalesce(max(id), 0) from ordo.task").get(0, Long.class);
        Topology topology = Topology.defaults().withNodes(options.orchestrators(), options.workers()).withProcesses(true)
                .withWorkerConcurrency(20).withVisibilityTimeout(options.visibility());
        Path logDir = options.out().toAbsolutePath().getParent().resolve("logs");
        String prefix = "chaos" + Long.toString(System.currentTimeMillis() % 100_000, 36);
        err.println("ordo bench chaos: starting " + options.orchestrators() + " orchestrator and " + options.workers()
                + " worker processes (logs in " + logDir + ")");
        List<Event> events;
        AtomicLong submitted = new AtomicLong();
        try (BenchCluster cluster = BenchCluster.start(bench.settings(), bench.url(), dsl, options.namespace(), prefix, topology, logDir)) {
            ConcurrentLinkedQueue<Long> planted = new ConcurrentLinkedQueue<>();
            Thread submitter = Thread.ofPlatform().name("chaos-submit").start(() -> submit(submitted, planted));
            events = faults(cluster, dsl);
            submitter.join();
            err.println("ordo bench chaos: " + submitted.get() + " tasks submitted, " + planted.size()
                    + " with a planted failure; waiting for all of them to finish");
            awaitFinished(dsl, afterTaskId, submitted.get());
            plantedTasks = List.copyOf(planted);
        }
        List<Recovery> recoveries = new ArrayList<>();
        for (Event e : events) {
            recoveries.add(recovery(dsl, afterTaskId, e));
        }
        Verdict verdict = verdict(dsl, afterTaskId);
        Double rate = dsl.fetchOne("select count(*) / nullif(extract(epoch from max(completed_at) - min(created_at)), 0)"
                + " from ordo.task where namespace = ? and id > ?", options.namespace(), afterTaskId).get(0, Double.class);
        return new Result(options, recoveries, verdict, rate == null ? 0 : rate);
    }

    /** Submits at the options' rate for the options' time, one task per transaction; some with a planted failure. */
    private void submit(AtomicLong submitted, ConcurrentLinkedQueue<Long> planted) {
        try (Database pool = Database.connect(bench.settings().withMaxPoolSize(4).withApplicationName("ordo-bench-submit"))) {
            TaskClient client = new TaskClient(pool.dsl());
            Random plant = new Random(options.seed() + 1);
            String failing = plantedStep(options.shape());
            long total = Math.round(options.rate() * options.seconds());
            long start = System.nanoTime();
            double interval = 1e9 / options.rate();
            for (long i = 0; i < total; i++) {
                long wait = start + (long) (i * interval) - System.nanoTime();
                if (wait > 0) {
                    LockSupport.parkNanos(wait);
                }
                boolean fail = plant.nextInt(100) < options.failPercent();
                String sleep = "\"sleep_ms\":" + options.sleepMillis();
                long id = submitWithRetry(client, fail ? "{\"fail\":\"" + failing + "\"," + sleep + "}" : "{" + sleep + "}");
                if (fail) {
                    planted.add(id);
                }
                submitted.incrementAndGet();
            }
        }
    }

    /** Submission goes straight to the database, which no fault touches; a refused or failed call is retried. */
    private long submitWithRetry(TaskClient client, String context) {
        for (int attempt = 1; ; attempt++) {
            try {
                return client.submit(options.namespace(), options.shape().template(), context);
            } catch (RuntimeException e) {
                if (attempt >= 5) {
                    throw e;
                }
                LockSupport.parkNanos(Duration.ofMillis(50L * attempt).toNanos());
            }
        }
    }

    static String plantedStep(Shape shape) {
        return switch (shape) {
            case ONE -> "s1";
            case CHAIN3 -> "s2";
            case CHAIN10 -> "s5";
            case FANOUT -> "f3";
        };
    }

    /** Spreads the faults at random over the middle of the run, one at a time, each node restarted before the next. */
    private List<Event> faults(BenchCluster cluster, DSLContext dsl) throws InterruptedException {
        List<NodeProcess> nodes = cluster.processes();
        long runNanos = Duration.ofSeconds(options.seconds()).toNanos();
        List<Long> moments = new ArrayList<>();
        for (int i = 0; i < options.rounds(); i++) {
            moments.add((long) (runNanos * (0.1 + 0.8 * random.nextDouble())));
        }
        Collections.sort(moments);
        long start = System.nanoTime();
        List<Event> events = new ArrayList<>();
        Progress progress = new Progress(err, "  chaos");
        for (int round = 0; round < moments.size(); round++) {
            long wait = start + moments.get(round) - System.nanoTime();
            if (wait > 0) {
                Thread.sleep(Duration.ofNanos(wait));
            }
            NodeProcess node = nodes.get(random.nextInt(nodes.size()));
            Fault fault = random.nextBoolean() ? Fault.KILL : Fault.TERMINATE_SESSIONS;
            OffsetDateTime at = dsl.fetchOne("select clock_timestamp()").get(0, OffsetDateTime.class);
            double atSeconds = (System.nanoTime() - start) / 1e9;
            Duration down = Duration.ZERO;
            if (fault == Fault.KILL) {
                node.kill();
                down = Duration.ofMillis(200 + random.nextInt(1800));
                Thread.sleep(down);
                node.start();
            } else {
                dsl.fetch("select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database()"
                        + " and application_name ~ ('(^|-)' || ? || '(:|$)')", node.nodeId());
            }
            events.add(new Event(round + 1, node.nodeId(), node.kind(), fault, atSeconds, at, down));
            err.printf(Locale.ROOT, "%nordo bench chaos: round %d at %.1f s: %s %s %s%n", round + 1, atSeconds,
                    fault == Fault.KILL ? "killed (and restarted after " + down.toMillis() + " ms)" : "terminated the sessions of",
                    node.kind().name().toLowerCase(Locale.ROOT), node.nodeId());
            progress.update(round + 1, moments.size(), "faults");
        }
        progress.done();
        return events;
    }

    /** Waits until every task submitted has finished, or nothing has moved for a while. */
    private void awaitFinished(DSLContext dsl, long afterTaskId, long total) throws InterruptedException {
        Duration stall = options.visibility().multipliedBy(6).plusSeconds(60);
        long lastDone = -1;
        long lastChange = System.nanoTime();
        Progress progress = new Progress(err, "  finishing");
        while (true) {
            long done = dsl.fetchOne("select count(*) from ordo.task where namespace = ? and id > ?"
                    + " and status in ('complete', 'failed', 'cancelled')", options.namespace(), afterTaskId).get(0, Long.class);
            progress.update(done, total, "tasks finished");
            if (done >= total) {
                break;
            }
            if (done != lastDone) {
                lastDone = done;
                lastChange = System.nanoTime();
            } else if (System.nanoTime() - lastChange > stall.toNanos()) {
                break;
            }
            Thread.sleep(250);
        }
        progress.done();
    }

    private Recovery recovery(DSLContext dsl, long afterTaskId, Event e) {
        Record r = dsl.fetchOne("""
                select count(*) filter (where t.completed_at is null or t.completed_at > ?::timestamptz),
                       bool_and(t.completed_at is not null) filter (where t.completed_at is null or t.completed_at > ?::timestamptz),
                       extract(epoch from max(t.completed_at) filter (where t.completed_at > ?::timestamptz) - ?::timestamptz)
                from ordo.task t where t.namespace = ? and t.id > ? and t.created_at < ?::timestamptz""",
                e.at(), e.at(), e.at(), e.at(), options.namespace(), afterTaskId, e.at());
        Double next = dsl.fetchOne("select extract(epoch from min(completed_at) - ?::timestamptz) from ordo.task"
                + " where namespace = ? and id > ? and completed_at > ?::timestamptz", e.at(), options.namespace(), afterTaskId, e.at())
                .get(0, Double.class);
        int inFlight = r.get(0, Integer.class);
        Boolean allFinished = r.get(1, Boolean.class);
        Double last = r.get(2, Double.class);
        Duration finished = inFlight == 0 ? Duration.ZERO
                : Boolean.TRUE.equals(allFinished) && last != null ? seconds(last) : null;
        return new Recovery(e, inFlight, next == null ? null : seconds(next), finished);
    }

    private Verdict verdict(DSLContext dsl, long afterTaskId) {
        String ns = options.namespace();
        Record counts = dsl.fetchOne("""
                select count(*), count(*) filter (where status = 'complete'), count(*) filter (where status in ('failed', 'cancelled')),
                       count(*) filter (where status not in ('complete', 'failed', 'cancelled'))
                from ordo.task where namespace = ? and id > ?""", ns, afterTaskId);
        Long[] planted = plantedTasks.toArray(Long[]::new);
        int plantedDeadLettered = dsl.fetchOne("""
                select count(*) from ordo.task t
                where t.id = any (?::bigint[]) and t.status = 'failed'
                  and exists (select 1 from ordo.dead_letter d join ordo.step s on s.id = d.step_id
                              where d.task_id = t.id and s.name = ?)""", planted, plantedStep(options.shape())).get(0, Integer.class);
        int unexpected = dsl.fetchOne("""
                select count(*) from ordo.task where namespace = ? and id > ? and status in ('failed', 'cancelled')
                  and not id = any (?::bigint[])""", ns, afterTaskId, planted).get(0, Integer.class);
        Record applied = dsl.fetchOne("""
                select count(*) filter (where n > 1), count(*) filter (where status = 'complete' and n <> 1)
                from (select s.id, s.status, count(tr.seq) as n
                      from ordo.step s
                      join ordo.task k on k.id = s.task_id and k.namespace = ? and k.id > ?
                      left join ordo.transition tr on tr.step_id = s.id and tr.to_state = 'complete' and tr.detail is null
                      group by s.id, s.status) x""", ns, afterTaskId);
        int leftover = dsl.fetchOne("""
                select count(*) from ordo.message m
                where m.queue_name in ('orchestration', 'ns_' || ?) and (m.message ->> 'task_id')::bigint > ?""", ns, afterTaskId)
                .get(0, Integer.class);
        int redelivered = dsl.fetchOne("""
                select count(*) from ordo.transition tr join ordo.task k on k.id = tr.task_id and k.namespace = ? and k.id > ?
                where tr.to_state = 'in_progress' and (tr.detail ->> 'redelivered')::boolean""", ns, afterTaskId).get(0, Integer.class);
        return new Verdict(counts.get(0, Integer.class), counts.get(1, Integer.class), counts.get(2, Integer.class), planted.length,
                plantedDeadLettered, unexpected, counts.get(3, Integer.class), applied.get(0, Integer.class), applied.get(1, Integer.class),
                leftover, redelivered);
    }

    private static Duration seconds(double s) {
        return Duration.ofNanos((long) (s * 1e9));
    }

    // ---- output ---------------------------------------------------------------------------------------------

    static void report(Result result, PrintStream out) throws IOException {
        Path file = result.options().out().toAbsolutePath();
        Files.createDirectories(file.getParent());
        try (PrintStream lines = new PrintStream(Files.newOutputStream(file), true, "UTF-8")) {
            for (Recovery r : result.recoveries()) {
                Map<String, Object> line = new LinkedHashMap<>();
                line.put("scenario", NAME);
                line.put("figure", "fault");
                line.put("round", r.event().round());
                line.put("node", r.event().node());
                line.put("kind", r.event().kind().name().toLowerCase(Locale.ROOT));
                line.put("fault", r.event().fault().name().toLowerCase(Locale.ROOT));
                line.put("at_s", Math.round(r.event().atSeconds() * 10) / 10.0);
                line.put("down_ms", r.event().downFor().toMillis());
                line.put("in_flight_tasks", r.inFlight());
                line.put("progress_resumed_ms", r.progressResumed() == null ? null : r.progressResumed().toMillis());
                line.put("in_flight_finished_ms", r.inFlightFinished() == null ? null : r.inFlightFinished().toMillis());
                emit(out, lines, line);
            }
            Verdict v = result.verdict();
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("scenario", NAME);
            line.put("figure", "verdict");
            line.put("ok", v.ok());
            line.put("tasks", v.tasks());
            line.put("complete", v.complete());
            line.put("failed", v.failed());
            line.put("planted_failures", v.planted());
            line.put("planted_failed_with_dead_letter", v.plantedDeadLettered());
            line.put("unexpected_failures", v.unexpected());
            line.put("unfinished", v.unfinished());
            line.put("steps_applied_twice", v.appliedTwice());
            line.put("complete_steps_not_applied_once", v.completeNotOnce());
            line.put("leftover_messages", v.leftoverMessages());
            line.put("steps_redelivered", v.redelivered());
            line.put("completed_per_sec", Math.round(result.completedPerSecond() * 10) / 10.0);
            Options o = result.options();
            line.put("orchestrators", o.orchestrators());
            line.put("workers", o.workers());
            line.put("rate", o.rate());
            line.put("seconds", o.seconds());
            line.put("shape", o.shape().key());
            line.put("sleep_ms", o.sleepMillis());
            line.put("visibility_s", o.visibility().toSeconds());
            line.put("seed", o.seed());
            emit(out, lines, line);
        }
        out.println();
        out.printf(Locale.ROOT, "%-5s %-26s %-12s %-18s %8s %9s %15s %18s%n", "round", "node", "kind", "fault", "at s",
                "in flight", "resumed ms", "in flight done ms");
        for (Recovery r : result.recoveries()) {
            out.printf(Locale.ROOT, "%-5d %-26s %-12s %-18s %8.1f %9d %15s %18s%n", r.event().round(), r.event().node(),
                    r.event().kind().name().toLowerCase(Locale.ROOT), r.event().fault().name().toLowerCase(Locale.ROOT),
                    r.event().atSeconds(), r.inFlight(), millis(r.progressResumed()), millis(r.inFlightFinished()));
        }
        Verdict v = result.verdict();
        out.printf(Locale.ROOT, "%ntasks %d: complete %d, failed %d (planted %d, with a dead letter %d, unexpected %d), unfinished %d;"
                        + " steps applied twice %d, complete steps not applied exactly once %d; messages left %d;"
                        + " steps redelivered after a fault %d  =>  %s%n",
                v.tasks(), v.complete(), v.failed(), v.planted(), v.plantedDeadLettered(), v.unexpected(), v.unfinished(),
                v.appliedTwice(), v.completeNotOnce(), v.leftoverMessages(), v.redelivered(), v.ok() ? "OK" : "FAILED");
    }

    private static String millis(Duration d) {
        return d == null ? "never" : Long.toString(d.toMillis());
    }

    private static void emit(PrintStream out, PrintStream file, Map<String, Object> line) {
        try {
            String json = JSON.writeValueAsString(line);
            out.println(json);
            file.println(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

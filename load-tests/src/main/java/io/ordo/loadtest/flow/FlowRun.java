package io.ordo.loadtest.flow;

import io.ordo.OrdoException;
import io.ordo.config.ConfigStore;
import io.ordo.db.Database;
import io.ordo.db.DatabaseSettings;
import io.ordo.loadtest.BenchDatabase;
import io.ordo.loadtest.Progress;
import io.ordo.loadtest.cluster.BenchCluster;
import io.ordo.task.TaskClient;
import io.ordo.template.TemplateRegistry;
import org.HdrHistogram.Histogram;
import org.jooq.DSLContext;
import org.jooq.Record;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import javax.sql.DataSource;

/**
 * Runs one {@link RunSpec} against the real components: the cluster of its topology is started, tasks are offered
 * as its load says, and once they have all finished (or nothing moved for {@link #STALL}) the cluster is stopped and
 * the figures are read from the database: throughput from the tasks' and steps' timestamps, latencies from
 * {@code created_at}, the first step's {@code started_at} and {@code completed_at}, and the run's transactions from
 * {@code pg_stat_database} (stopping the nodes flushes their sessions' statistics).
 */
public final class FlowRun {
    static final Duration STALL = Duration.ofSeconds(120);
    /** How long a steady run offers its load before the measured part begins; see {@link #ramp}. */
    static final Duration RAMP = Duration.ofSeconds(3);
    private static final long MAX_MICROS = Duration.ofHours(1).toNanos() / 1000;
    private static final int SUBMIT_CHUNK = 1000;
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    /** The application name of the sessions that submit the tasks. */
    static final String SUBMITTERS = "ordo-bench-submit";

    private final BenchDatabase bench;
    private final String namespace;
    private final Path logDir;
    private final PrintStream err;
    private int runs;

    FlowRun(BenchDatabase bench, String namespace, Path logDir, PrintStream err) {
        this.bench = bench;
        this.namespace = namespace;
        this.logDir = logDir;
        this.err = err;
    }

    void prepare() {
        prepare(dsl(), namespace);
    }

    /** Registers the templates of every shape and lifts the namespace's backpressure out of the way of burn-downs. */
    public static void prepare(DSLContext dsl, String namespace) {
        TemplateRegistry templates = new TemplateRegistry(dsl);
        for (Shape shape : Shape.values()) {
            templates.register(shape.templateJson(namespace));
        }
        ConfigStore config = new ConfigStore(dsl);
        config.set("backpressure." + namespace + ".warning", 1_000_000_000L, "ordo-bench");
        config.set("backpressure." + namespace + ".critical", 1_000_000_000L, "ordo-bench");
    }

    RunResult run(RunSpec spec) throws Exception {
        runs++;
        vacuum();
        long afterTaskId = dsl().fetchOne("select coalesce(max(id), 0) from ordo.task").get(0, Long.class);
        DatabaseSettings settings = bench.settings();
        String prefix = "bench-r" + runs;
        err.println("ordo bench " + spec.scenario() + ": " + spec.label() + ": starting " + spec.topology().label());
        AtomicLong offered = new AtomicLong();
        // the benchmark's own statements in the window, taken out of the transaction count
        AtomicLong ownQueries = new AtomicLong(1);
        long transactionsBefore;
        long monitorQueries;
        long peakOrchestration;
        long peakNamespace;
        double submitPerSecond = 0;
        double lagMillis = 0;
        OffsetDateTime committedAt = null;
        Map<String, Double> cpu;
        BenchCluster cluster = BenchCluster.start(settings, bench.url(), dsl(), namespace, prefix, spec.topology(), logDir);
        try {
            Progress progress = new Progress(err, "  " + spec.scenario());
            switch (spec.load()) {
                case Load.BurnDown b -> {
                    long t = System.nanoTime();
                    try (Connection c = connect(settings, SUBMITTERS)) {
                        c.setAutoCommit(false);
                        submitInOneTransaction(c, spec, b.tasks(), progress);
                        double seconds = (System.nanoTime() - t) / 1e9;
                        progress.done();
                        transactionsBefore = transactions(settings);
                        c.commit();
                        submitPerSecond = b.tasks() / seconds;
                        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("select clock_timestamp()")) {
                            rs.next();
                            committedAt = rs.getObject(1, OffsetDateTime.class);
                        }
                        c.commit();
                        ownQueries.addAndGet(1); // the clock read; the submission itself counts as one transaction of the run
                    }
                    offered.set(b.tasks());
                    try (Monitor monitor = monitor(settings, afterTaskId, new Progress(err, "  drain"), offered::get)) {
                        CpuAccount account = cpuAccount(monitor, prefix, cluster);
                        monitor.awaitFinished(offered::get, STALL);
                        cpu = account.stop(monitor.connection());
                        monitorQueries = monitor.queries();
                        peakOrchestration = monitor.peakOrchestration();
                        peakNamespace = monitor.peakNamespace();
                    }
                }
                case Load.Steady s -> {
                    try (Database submitPool = Database.connect(settings.withMaxPoolSize(s.submitters())
                            .withApplicationName(SUBMITTERS))) {
                        TaskClient client = new TaskClient(submitPool.dsl());
                        afterTaskId = ramp(settings, spec, s, client, afterTaskId);
                        settle(submitPool.dataSource(), s.submitters());
                        transactionsBefore = transactions(settings);
                        long total = total(s);
                        AtomicReference<Double> lag = new AtomicReference<>(0.0);
                        AtomicLong submitCpuNanos = new AtomicLong();
                        Thread submitter = Thread.ofPlatform().name("bench-submit").start(() -> lag.set(
                                submitSteady(client, spec, s, total, offered, submitCpuNanos)));
                        try (Monitor monitor = monitor(settings, afterTaskId, progress, s.saturate() ? offered::get : () -> total)) {
                            CpuAccount account = cpuAccount(monitor, prefix, cluster);
                            monitor.awaitFinished(() -> submitter.isAlive() ? Long.MAX_VALUE : offered.get(), STALL);
                            submitter.join();
                            account.endedThreads("submitters", submitCpuNanos.get() / 1e9);
                            cpu = account.stop(monitor.connection());
                            monitorQueries = monitor.queries();
                            peakOrchestration = monitor.peakOrchestration();
                            peakNamespace = monitor.peakNamespace();
                        }
                        lagMillis = lag.get();
                    }
                }
                case Load.Sequential q -> {
                    transactionsBefore = transactions(settings);
                    try (Monitor monitor = monitor(settings, afterTaskId, progress, q::tasks)) {
                        CpuAccount account = cpuAccount(monitor, prefix, cluster);
                        submitSequential(settings, spec, q, offered, monitor, ownQueries);
                        cpu = account.stop(monitor.connection());
                        monitorQueries = monitor.queries();
                        peakOrchestration = monitor.peakOrchestration();
                        peakNamespace = monitor.peakNamespace();
                    }
                }
            }
        } finally {
            cluster.close();
        }
        // closed sessions have flushed their statistics; give the last backends a moment to exit
        Thread.sleep(500);
        long transactions = transactions(settings) - transactionsBefore - monitorQueries - ownQueries.get();
        return collect(spec, afterTaskId, committedAt, (int) offered.get(), transactions, peakOrchestration, peakNamespace,
                submitPerSecond, lagMillis, cpu);
    }

    // ---- offering tasks -------------------------------------------------------------------------------------

    /** Submits {@code tasks} tasks in the connection's transaction, in statements of {@value #SUBMIT_CHUNK}. */
    private void submitInOneTransaction(Connection c, RunSpec spec, int tasks, Progress progress) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "select count(ordo.submit_task(?, ?, null, ?::jsonb)) from generate_series(1, ?)")) {
            ps.setString(1, namespace);
            ps.setString(2, spec.shape().template());
            ps.setString(3, spec.context());
            int submitted = 0;
            while (submitted < tasks) {
                int n = Math.min(SUBMIT_CHUNK, tasks - submitted);
                ps.setInt(4, n);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                }
                submitted += n;
                progress.update(submitted, tasks, "submitted in one transaction");
            }
        }
    }

    /**
     * A steady run's first {@link #RAMP}, not measured: the load offered as it will be, then drained. The nodes and
     * the submitters' pool it starts are new, and their sessions' first statements load catalogs and plan; in a run
     * of 20 s at 800 tasks/s, the tasks of its first second alone, one in twenty, held most of the slowest hundredth.
     * Returns the last task id of the ramp: the run counts only the tasks after it.
     */
    private long ramp(DatabaseSettings settings, RunSpec spec, Load.Steady load, TaskClient client, long afterTaskId)
            throws SQLException, InterruptedException {
        Load.Steady ramp = new Load.Steady(load.rate(), RAMP, load.submitters(), load.saturate());
        AtomicLong offered = new AtomicLong();
        submitSteady(client, spec, ramp, total(ramp), offered, new AtomicLong());
        try (Monitor monitor = monitor(settings, afterTaskId, new Progress(err, "  ramp (not measured)"), offered::get)) {
            monitor.awaitFinished(offered::get, STALL);
        }
        return dsl().fetchOne("select coalesce(max(id), 0) from ordo.task").get(0, Long.class);
    }

    /**
     * Lets every session report the ramp's transactions before the run's count starts. A backend reports its counts at
     * the end of a transaction, at most every 0.5 s (PostgreSQL 14) or 1 s (15 and later): a submitting session that
     * went idle right after the ramp held its last transactions back until its first one in the measured run, which
     * counted them there. After a pause, one trivial transaction on each pooled session makes it report; the second
     * pause covers PostgreSQL 14's statistics file, which may be half a second old when read.
     */
    private static void settle(DataSource pool, int sessions) throws SQLException, InterruptedException {
        Thread.sleep(1_100);
        List<Connection> held = new ArrayList<>();
        try {
            for (int i = 0; i < sessions; i++) {
                Connection c = pool.getConnection();
                held.add(c);
                try (Statement st = c.createStatement()) {
                    st.execute("select 1");
                }
            }
        } finally {
            for (Connection c : held) {
                c.close();
            }
        }
        Thread.sleep(600);
    }

    private static long total(Load.Steady load) {
        return load.saturate() ? Long.MAX_VALUE : Math.round(load.rate() * load.duration().toNanos() / 1e9);
    }

    /**
     * Submits {@code total} tasks at {@code rate} per second through {@code client}, one per transaction, from a
     * few threads sharing its pool (saturating: as fast as they can until the load's duration is over). Returns how far
     * behind its schedule the submission fell at worst, in ms.
     */
    private double submitSteady(TaskClient client, RunSpec spec, Load.Steady load, long total, AtomicLong offered,
                                AtomicLong cpuNanos) {
        AtomicLong next = new AtomicLong();
        AtomicLong worstLagNanos = new AtomicLong();
        try {
            long start = System.nanoTime() + 20_000_000;
            long end = start + load.duration().toNanos();
            double interval = load.saturate() ? 0 : 1e9 / load.rate();
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < load.submitters(); i++) {
                threads.add(Thread.ofPlatform().name("bench-submit-" + i).start(() -> {
                    long cpuStart = THREADS.getCurrentThreadCpuTime();
                    while (true) {
                        long ticket = next.getAndIncrement();
                        if (ticket >= total || (load.saturate() && System.nanoTime() - end > 0)) {
                            cpuNanos.addAndGet(THREADS.getCurrentThreadCpuTime() - cpuStart);
                            return;
                        }
                        long due = start + (long) (ticket * interval);
                        long wait = due - System.nanoTime();
                        if (wait > 0) {
                            LockSupport.parkNanos(wait);
                        } else if (!load.saturate()) {
                            worstLagNanos.accumulateAndGet(-wait, Math::max);
                        }
                        client.submit(namespace, spec.shape().template(), spec.context());
                        offered.incrementAndGet();
                    }
                }));
            }
            for (Thread t : threads) {
                t.join();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return worstLagNanos.get() / 1e6;
    }

    /** One task at a time: submit, wait until it finished (polling every 5 ms), pause, repeat. */
    private void submitSequential(DatabaseSettings settings, RunSpec spec, Load.Sequential load, AtomicLong offered, Monitor monitor,
                                  AtomicLong ownQueries) throws SQLException, InterruptedException {
        try (Connection c = connect(settings, SUBMITTERS);
             PreparedStatement submit = c.prepareStatement("select ordo.submit_task(?, ?, null, ?::jsonb)");
             PreparedStatement status = c.prepareStatement("select status in ('complete', 'failed', 'cancelled') from ordo.task where id = ?")) {
            submit.setString(1, namespace);
            submit.setString(2, spec.shape().template());
            submit.setString(3, spec.context());
            for (int i = 0; i < load.tasks(); i++) {
                long id;
                try (ResultSet rs = submit.executeQuery()) {
                    rs.next();
                    id = rs.getLong(1);
                }
                offered.incrementAndGet();
                status.setLong(1, id);
                long deadline = System.nanoTime() + STALL.toNanos();
                while (true) {
                    Thread.sleep(5);
                    ownQueries.incrementAndGet();
                    try (ResultSet rs = status.executeQuery()) {
                        rs.next();
                        if (rs.getBoolean(1)) {
                            break;
                        }
                    }
                    if (System.nanoTime() - deadline > 0) {
                        throw new OrdoException("task " + id + " did not finish within " + STALL);
                    }
                }
                if (i % 10 == 0) {
                    monitor.sample();
                }
                Thread.sleep(load.gap());
            }
            monitor.sample();
        }
    }

    // ---- measuring ------------------------------------------------------------------------------------------

    /**
     * Reads the run's figures from the database. Latencies count from the task's {@code created_at} (the start of its
     * submission transaction), or for a burn-down from the commit of the one submission transaction; throughput
     * counts from the first task offered (or that commit) to the last task finished.
     */
    private RunResult collect(RunSpec spec, long afterTaskId, OffsetDateTime committedAt, int offered, long transactions,
                              long peakOrchestration, long peakNamespace, double submitPerSecond, double lagMillis,
                              Map<String, Double> cpu) {
        Histogram firstStart = new Histogram(MAX_MICROS, 3);
        Histogram complete = new Histogram(MAX_MICROS, 3);
        int done = 0;
        int failed = 0;
        int unfinished = 0;
        for (Record r : dsl().fetch("""
                select t.status,
                       (extract(epoch from (f.first_start - greatest(t.created_at, ?::timestamptz))) * 1e6)::bigint,
                       (extract(epoch from (t.completed_at - greatest(t.created_at, ?::timestamptz))) * 1e6)::bigint
                from ordo.task t
                left join lateral (select min(s.started_at) as first_start from ordo.step s where s.task_id = t.id) f on true
                where t.namespace = ? and t.id > ?""", committedAt, committedAt, namespace, afterTaskId)) {
            String status = r.get(0, String.class);
            Long start = r.get(1, Long.class);
            Long end = r.get(2, Long.class);
            if (start != null) {
                firstStart.recordValue(Math.max(0, Math.min(start, MAX_MICROS)));
            }
            switch (status) {
                case "complete" -> {
                    done++;
                    complete.recordValue(Math.max(0, Math.min(end, MAX_MICROS)));
                }
                case "failed", "cancelled" -> failed++;
                default -> unfinished++;
            }
        }
        Record span = dsl().fetchOne("""
                select extract(epoch from (max(t.completed_at) - coalesce(?::timestamptz, min(t.created_at))))::float8,
                       (select count(*) from ordo.step s join ordo.task t2 on t2.id = s.task_id
                        where t2.namespace = ? and t2.id > ? and s.status = 'complete')
                from ordo.task t where t.namespace = ? and t.id > ?""",
                committedAt, namespace, afterTaskId, namespace, afterTaskId);
        Double seconds = span.get(0, Double.class);
        long steps = span.get(1, Long.class);
        return new RunResult(spec, offered, done, failed, unfinished, steps, seconds == null ? 0 : seconds, firstStart, complete,
                transactions, peakOrchestration, peakNamespace, submitPerSecond, lagMillis, cpu);
    }

    /** Counts the CPU of the run's sessions (their application_name starts with the run's prefix) and of its nodes. */
    private static CpuAccount cpuAccount(Monitor monitor, String prefix, BenchCluster cluster) throws SQLException {
        return CpuAccount.start(monitor.connection(), prefix + "-", SUBMITTERS, cluster.processes().stream().map(p -> p.pid()).toList());
    }

    /** Committed and rolled-back transactions of the database so far (a fresh session: a fresh statistics snapshot). */
    private static long transactions(DatabaseSettings settings) throws SQLException {
        try (Connection c = connect(settings, "ordo-bench-stats");
             Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("select xact_commit + xact_rollback from pg_stat_database where datname = current_database()")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private Monitor monitor(DatabaseSettings settings, long afterTaskId, Progress progress, java.util.function.LongSupplier total)
            throws SQLException {
        return new Monitor(connect(settings, "ordo-bench-monitor"), namespace, afterTaskId, progress, total);
    }

    private void vacuum() throws SQLException {
        try (Connection c = connect(bench.settings(), "ordo-bench-vacuum"); Statement st = c.createStatement()) {
            st.execute("vacuum (analyze) ordo.task, ordo.step, ordo.message, ordo.transition");
        }
    }

    static Connection connect(DatabaseSettings settings, String applicationName) throws SQLException {
        Properties props = new Properties();
        if (settings.user() != null) {
            props.setProperty("user", settings.user());
        }
        if (settings.password() != null) {
            props.setProperty("password", settings.password());
        }
        props.setProperty("ApplicationName", applicationName);
        return DriverManager.getConnection(settings.jdbcUrl(), props);
    }

    private DSLContext dsl() {
        return bench.database().dsl();
    }

}

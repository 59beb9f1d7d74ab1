package io.ordo.deploy;

import io.ordo.template.TemplateRegistry;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * SIGTERM stops every Ordo process gracefully, proven with real processes started the way the images start them
 * ({@code java -cp ... <entry point>}, configured by environment variables) on one database, under a steady load:
 * readiness fails at once, the process stops claiming, finishes the work in hand, hands back what it holds (task
 * leases, unstarted steps, the leadership), marks its node draining, leaves the registry and exits 0.
 * <p>
 * Leases and visibility timeouts are set to two minutes, so that anything left behind by a stop would wait for them:
 * the load must still finish within seconds, every step on its first attempt, and the next leader must be elected
 * at once when the old one steps down, long before the next election interval.
 */
@Tag("chaos")
@ExtendWith(OrdoDatabaseExtension.class)
class GracefulShutdownTest {
    /** Ordo's default: the next leader must not wait for it. */
    private static final Duration ELECTION_INTERVAL = Duration.ofSeconds(5);
    private static final Duration LEASE = Duration.ofMinutes(2);
    private static final Duration STEP = Duration.ofMillis(400);
    private static final Path LOGS = Path.of("target", "graceful-shutdown");
    private static final String TEMPLATE = """
            namespace: drain
            name: chain
            version: 1
            steps:
              - {name: first, handler: work, timeout: 5m}
              - {name: second, handler: work, depends_on: [first], timeout: 5m}
              - {name: third, handler: work, depends_on: [second], timeout: 5m}
            """;

    private final List<OrdoProcess> processes = new ArrayList<>();
    private TestDatabase db;

    @AfterEach
    void killWhatIsLeft() {
        processes.forEach(OrdoProcess::close);
    }

    @Test
    void a_rolling_stop_under_load_loses_nothing_waits_for_no_lease_and_every_process_exits_0(TestDatabase db) throws Exception {
        this.db = db;
        new TemplateRegistry(db.dsl()).register(TEMPLATE);

        // the first orchestrator leads; the others join it
        OrdoProcess o1 = orchestrator("o1");
        awaitReady(o1);
        await().atMost(Duration.ofSeconds(30)).until(() -> "o1".equals(leader()));
        OrdoProcess o2 = orchestrator("o2");
        OrdoProcess w1 = worker("w1");
        OrdoProcess w2 = worker("w2");
        OrdoProcess d1 = dlqProcessor("d1");
        for (OrdoProcess p : List.of(o2, w1, w2, d1)) {
            awaitReady(p);
        }

        // a steady load: ten tasks a second
        List<Long> submitted = new ArrayList<>();
        AtomicBoolean loading = new AtomicBoolean(true);
        Thread load = Thread.ofPlatform().name("load").start(() -> {
            while (loading.get()) {
                try {
                    long id = number("select ordo.submit_task('drain', 'chain', null, '{}'::jsonb, '{}'::jsonb)");
                    synchronized (submitted) {
                        submitted.add(id);
                    }
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                } catch (SQLException e) {
                    throw new AssertionError(e);
                }
            }
        });
        await().atMost(Duration.ofSeconds(60)).until(() -> number("select count(*) from ordo.task where status = 'complete'") >= 5);

        // 1. the leading orchestrator stops: readiness fails, the leadership and its task leases are released at
        // once, it leaves the registry and exits 0; the other orchestrator is elected within one election interval
        var o1Ready = o1.watch("/health/ready").seeing(200);
        Map<String, Instant> leaderChanges = new ConcurrentHashMap<>();
        AtomicBoolean watchingLeader = new AtomicBoolean(true);
        Thread leaderWatch = Thread.ofPlatform().name("leader-watch").start(() -> {
            while (watchingLeader.get()) {
                try {
                    leaderChanges.putIfAbsent(String.valueOf(leader()), Instant.now());
                    Thread.sleep(10);
                } catch (Exception e) {
                    return;
                }
            }
        });
        o1.terminate();
        assertThat(o1.awaitExit(Duration.ofSeconds(30))).as("o1's exit code; its log ends with:\n" + o1.tail()).isZero();
        await().atMost(Duration.ofSeconds(10)).until(() -> leaderChanges.containsKey("o2"));
        watchingLeader.set(false);
        leaderWatch.join();
        assertThat(o1Ready.await()).as("o1's readiness through its stop").containsSubsequence(200, 503).endsWith(-1);
        // no leader seen between the two: o2 was elected within one poll of o1 stepping down
        Instant stepDown = leaderChanges.getOrDefault("null", leaderChanges.get("o2"));
        assertThat(stepDown).as("o1 released the leadership while it was still running").isBefore(o1.exitedAt());
        assertThat(Duration.between(stepDown, leaderChanges.get("o2")))
                .as("o2 is elected at once when o1 steps down, well within one election interval (" + ELECTION_INTERVAL + ")")
                .isLessThanOrEqualTo(Duration.ofSeconds(1));
        assertThat(number("select count(*) from ordo.node where node_id = 'o1'")).as("o1 left the registry").isZero();
        assertThat(number("select count(*) from ordo.task where lease_owner = 'o1'")).as("o1's task leases").isZero();

        // 2. a busy worker stops: readiness fails, its node drains, the steps it runs finish, it leaves and exits 0
        await().atMost(Duration.ofSeconds(10)).until(() -> w1.body("/health").contains("\"steps_held\":") && !w1.body("/health").contains("\"steps_held\":0"));
        var w1Ready = w1.watch("/health/ready").seeing(200);
        Set<String> w1Statuses = ConcurrentHashMap.newKeySet();
        AtomicBoolean watchingNode = new AtomicBoolean(true);
        Thread nodeWatch = Thread.ofPlatform().name("node-watch").start(() -> {
            while (watchingNode.get()) {
                try {
                    w1Statuses.add(String.valueOf(text("select status from ordo.node where node_id = 'w1'")));
                    Thread.sleep(5);
                } catch (Exception e) {
                    return;
                }
            }
        });
        // the watch has seen the node active before the stop begins (its first query may come after the drain)
        await().atMost(Duration.ofSeconds(10)).until(() -> w1Statuses.contains("active"));
        w1.terminate();
        assertThat(w1.awaitExit(Duration.ofSeconds(30))).as("w1's exit code; its log ends with:\n" + w1.tail()).isZero();
        watchingNode.set(false);
        nodeWatch.join();
        assertThat(w1Ready.await()).as("w1's readiness through its stop").containsSubsequence(200, 503).endsWith(-1);
        assertThat(w1Statuses).as("w1's node while it stopped").contains("active", "draining", "null");
        assertThat(number("select count(*) from ordo.node where node_id = 'w1'")).as("w1 left the registry").isZero();

        // 3. the dlq-processor stops: readiness fails, it leaves the registry and exits 0
        var d1Ready = d1.watch("/health/ready").seeing(200);
        d1.terminate();
        assertThat(d1.awaitExit(Duration.ofSeconds(45))).as("d1's exit code; its log ends with:\n" + d1.tail()).isZero();
        assertThat(d1Ready.await()).as("d1's readiness through its stop").containsSubsequence(200, 503).endsWith(-1);
        assertThat(number("select count(*) from ordo.node where node_id = 'd1'")).as("d1 left the registry").isZero();

        // 4. the load finishes long before any lease or visibility timeout could have run out, and nothing ran twice
        Thread.sleep(1000);
        loading.set(false);
        load.join();
        List<Long> tasks;
        synchronized (submitted) {
            tasks = List.copyOf(submitted);
        }
        Instant drained = Instant.now();
        await().atMost(Duration.ofSeconds(45)).pollInterval(Duration.ofMillis(200))
                .until(() -> number("select count(*) from ordo.task where status <> 'complete'") == 0);
        assertThat(Duration.between(drained, Instant.now())).as("far shorter than the lease and visibility timeout").isLessThan(LEASE.dividedBy(2));
        assertThat(number("select count(*) from ordo.task")).as("every submitted task exists").isEqualTo(tasks.size());
        assertThat(number("select count(*) from ordo.task where status = 'complete'")).as("every task completed").isEqualTo(tasks.size());
        assertThat(number("select count(*) from ordo.step where status <> 'complete'")).isZero();
        assertThat(number("select count(*) from ordo.step where attempt <> 1"))
                .as("steps that ran again (a stop that gave back a running step, or waited for a visibility timeout)").isZero();
        assertThat(number("select count(*) from ordo.dead_letter")).isZero();

        // 5. the rest stop too: nothing is left holding a lease or a place in the registry
        o2.terminate();
        w2.terminate();
        assertThat(o2.awaitExit(Duration.ofSeconds(30))).as("o2's exit code; its log ends with:\n" + o2.tail()).isZero();
        assertThat(w2.awaitExit(Duration.ofSeconds(30))).as("w2's exit code; its log ends with:\n" + w2.tail()).isZero();
        assertThat(number("select count(*) from ordo.node")).as("nodes still registered").isZero();
        assertThat(number("select count(*) from ordo.task where lease_owner is not null")).as("task leases still held").isZero();
        assertThat(leader()).as("leader after every orchestrator stopped").isNull();
    }

    // ---- processes ------------------------------------------------------------------------------------------------

    private Map<String, String> cluster() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("ORDO_DATABASE_URL", OrdoProcess.jdbcUrl(db.settings()));
        env.put("ORDO_LEASE_TTL", LEASE.toSeconds() + "s");
        env.put("ORDO_ELECTION_INTERVAL", ELECTION_INTERVAL.toMillis() + "ms");
        env.put("ORDO_NODE_HEARTBEAT_INTERVAL", "1s");
        return env;
    }

    private OrdoProcess orchestrator(String id) throws Exception {
        int port = OrdoProcess.freePort();
        Map<String, String> env = cluster();
        env.put("ORDO_MIGRATE", "false");
        env.put("ORDO_NODE_ID", id);
        env.put("ORDO_HTTP_HOST", "127.0.0.1");
        env.put("ORDO_HTTP_PORT", Integer.toString(port));
        return started(OrdoProcess.start(id, port, "io.ordo.orchestrator.Main", List.of("server"), env, LOGS));
    }

    private OrdoProcess worker(String id) throws Exception {
        int port = OrdoProcess.freePort();
        Map<String, String> env = cluster();
        env.put("ORDO_WORKER_NODE_ID", id);
        env.put("ORDO_WORKER_HEALTH_PORT", Integer.toString(port));
        env.put("ORDO_WORKER_CONCURRENCY", "8");
        env.put("ORDO_WORKER_VISIBILITY_TIMEOUT", LEASE.toSeconds() + "s");
        env.put("ORDO_WORKER_SHUTDOWN_GRACE", "15s");
        env.put("ORDO_TEST_STEP_MILLIS", Long.toString(STEP.toMillis()));
        return started(OrdoProcess.start(id, port, "io.ordo.worker.container.WorkerMain", List.of("--namespace", "drain"), env, LOGS));
    }

    private OrdoProcess dlqProcessor(String id) throws Exception {
        int port = OrdoProcess.freePort();
        Map<String, String> env = cluster();
        env.put("ORDO_NODE_ID", id);
        env.put("ORDO_HTTP_HOST", "127.0.0.1");
        env.put("ORDO_DLQ_PORT", Integer.toString(port));
        return started(OrdoProcess.start(id, port, "io.ordo.dlq.DlqCommand", List.of(), env, LOGS));
    }

    private OrdoProcess started(OrdoProcess p) {
        processes.add(p);
        return p;
    }

    private static void awaitReady(OrdoProcess p) {
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200)).until(() -> {
            if (!p.alive()) {
                throw new AssertionError(p.name() + " exited while starting; its log ends with:\n" + p.tail());
            }
            return p.get("/health/ready") == 200;
        });
    }

    // ---- database ---------------------------------------------------------------------------------------------------

    private String leader() throws SQLException {
        return text("select node_id from ordo.get_leader()");
    }

    private long number(String sql) throws SQLException {
        try (Connection c = db.dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private String text(String sql) throws SQLException {
        try (Connection c = db.dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            return rs.next() ? rs.getString(1) : null;
        }
    }
}

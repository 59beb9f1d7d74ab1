package io.ordo.loadtest.cluster;

import io.ordo.OrdoException;
import io.ordo.db.Database;
import io.ordo.db.DatabaseSettings;
import io.ordo.http.HttpSettings;
import io.ordo.http.telemetry.Telemetry;
import io.ordo.orchestrator.OrchestratorNode;
import io.ordo.orchestrator.ServerSettings;
import org.jooq.DSLContext;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The orchestrators and workers of a {@link Topology} on one database, in this JVM or as processes. Node ids are
 * {@code <prefix>-orch-<n>} and {@code <prefix>-worker-<n>}; their sessions' application_name contains them
 * (orchestrators' are {@code ordo-<node id>}, as {@code ordo server} names them).
 */
public final class BenchCluster implements AutoCloseable {
    private final List<AutoCloseable> inProcess = new ArrayList<>();
    private final List<NodeProcess> processes = new ArrayList<>();

    private BenchCluster() {
    }

    /**
     * Starts every node and returns once each has registered in the node registry.
     *
     * @param settings  the database (a migrated one)
     * @param jdbcUrl   the same database as a URL for processes (credentials in it)
     * @param logDir    where processes write their output
     */
    public static BenchCluster start(DatabaseSettings settings, String jdbcUrl, DSLContext dsl, String namespace, String prefix,
                                     Topology topology, Path logDir) {
        BenchCluster cluster = new BenchCluster();
        try {
            Instant since = Instant.now();
            List<String> ids = new ArrayList<>();
            if (topology.processes()) {
                for (int i = 1; i <= topology.orchestrators(); i++) {
                    String id = prefix + "-orch-" + i;
                    cluster.processes.add(NodeProcess.orchestrator(id, jdbcUrl, topology.orchestratorConfig(), logDir).start());
                    ids.add(id);
                }
                for (int i = 1; i <= topology.workers(); i++) {
                    String id = prefix + "-worker-" + i;
                    cluster.processes.add(NodeProcess.worker(id, jdbcUrl, namespace, topology.workerEnvironment(), logDir).start());
                    ids.add(id);
                }
            } else {
                // nodes start in parallel: a pool and its first connections take a while each
                try (ExecutorService starter = Executors.newVirtualThreadPerTaskExecutor()) {
                    List<Future<AutoCloseable>> started = new ArrayList<>();
                    for (int i = 1; i <= topology.orchestrators(); i++) {
                        String id = prefix + "-orch-" + i;
                        started.add(starter.submit((Callable<AutoCloseable>) () -> orchestrator(settings, id, topology)));
                        ids.add(id);
                    }
                    for (int i = 1; i <= topology.workers(); i++) {
                        String id = prefix + "-worker-" + i;
                        started.add(starter.submit((Callable<AutoCloseable>) () ->
                                BenchWorker.start(settings, topology.workerSettings(namespace, id))));
                        ids.add(id);
                    }
                    for (Future<AutoCloseable> f : started) {
                        cluster.inProcess.add(f.get());
                    }
                }
            }
            awaitRegistered(dsl, ids, since, topology.processes() ? Duration.ofSeconds(60) : Duration.ofSeconds(20));
            return cluster;
        } catch (Exception e) {
            cluster.close();
            throw e instanceof OrdoException oe ? oe : new OrdoException("cannot start the benchmark cluster: " + e.getMessage(), e);
        }
    }

    /**
     * An orchestrator node as {@code ordo server} runs one (orchestration loop, live config, node registry, leader
     * election with the engine's and the cluster's duties), without its web server, on a pool of its own whose
     * sessions are named {@code ordo-<node id>} like the server's.
     */
    private static AutoCloseable orchestrator(DatabaseSettings settings, String nodeId, Topology topology) {
        Database db = Database.connect(settings.withMaxPoolSize(20).withApplicationName("ordo-" + nodeId));
        Telemetry telemetry = Telemetry.fromEnvironment("ordo-orchestrator", Map.of());
        try {
            OrchestratorNode node = OrchestratorNode.start(db, telemetry, ServerSettings.forNode(nodeId, HttpSettings.defaults(0))
                    .withConfigValues(topology.orchestratorConfig()), Clock.systemUTC());
            return () -> {
                node.close();
                telemetry.close();
                db.close();
            };
        } catch (RuntimeException e) {
            telemetry.close();
            db.close();
            throw e;
        }
    }

    /** Waits until every node has registered since {@code since}. */
    public static void awaitRegistered(DSLContext dsl, List<String> nodeIds, Instant since, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            int registered = dsl.fetchOne("select count(*) from ordo.node where node_id = any (?::text[]) and status = 'active'"
                    + " and started_at >= ?::timestamptz", nodeIds.toArray(String[]::new),
                    OffsetDateTime.ofInstant(since.minusMillis(5), java.time.ZoneOffset.UTC)).get(0, Integer.class);
            if (registered == nodeIds.size()) {
                return;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new OrdoException(registered + " of the nodes " + nodeIds + " registered within " + timeout
                        + "; see their logs");
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new OrdoException("interrupted while starting nodes", e);
            }
        }
    }

    /** The node processes, when the topology runs processes. */
    public List<NodeProcess> processes() {
        return List.copyOf(processes);
    }


    /** Stops every node gracefully, workers first. */
    @Override
    public void close() {
        for (int i = inProcess.size() - 1; i >= 0; i--) {
            try {
                inProcess.get(i).close();
            } catch (Exception e) {
                System.err.println("stopping a benchmark node: " + e.getMessage());
            }
        }
        inProcess.clear();
        List<Thread> stopping = new ArrayList<>();
        for (int i = processes.size() - 1; i >= 0; i--) {
            NodeProcess p = processes.get(i);
            stopping.add(Thread.ofVirtual().start(() -> p.stop(Duration.ofSeconds(15))));
        }
        for (Thread t : stopping) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        processes.clear();
    }
}

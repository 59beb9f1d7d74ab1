package io.ordo.loadtest.cluster;

import io.ordo.config.ConfigStore;
import io.ordo.config.LiveConfig;
import io.ordo.coordination.LeaderElector;
import io.ordo.coordination.NodeInfo;
import io.ordo.coordination.NodeMembership;
import io.ordo.coordination.NodeRole;
import io.ordo.coordination.PostgresCoordination;
import io.ordo.coordination.StandardDuties;
import io.ordo.db.Database;
import io.ordo.db.DatabaseSettings;
import io.ordo.engine.EngineDuties;
import io.ordo.engine.EngineMetrics;
import io.ordo.engine.Orchestrator;
import io.ordo.engine.OrchestratorSettings;
import io.ordo.queue.QueueListener;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * An orchestrator node as {@code ordo server} runs one, without the HTTP API: the orchestration loop, live config,
 * membership in the node registry and a leader elector with the engine's and the cluster's duties. Benchmarks start
 * it in-process; {@link #main} runs it as a process of its own for the chaos scenario. All its sessions carry the
 * node id as application_name (dedicated ones with a {@code :purpose} suffix), so they can be found and terminated.
 */
public final class BenchOrchestrator implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(BenchOrchestrator.class.getName());
    static final Duration ENGINE_DUTY_INTERVAL = Duration.ofSeconds(1);

    private final String nodeId;
    private final List<AutoCloseable> open = new ArrayList<>();
    private final Database database;
    private final PostgresCoordination coordination;
    private final Orchestrator orchestrator;
    private final NodeMembership membership;
    private final LeaderElector elector;

    private BenchOrchestrator(DatabaseSettings settings, String nodeId, Map<String, String> config) {
        this.nodeId = nodeId;
        try {
            this.database = track(Database.connect(settings.withMaxPoolSize(6).withApplicationName(nodeId)));
            this.coordination = track(new PostgresCoordination(database, Clock.systemUTC()));
            LiveConfig live = track(LiveConfig.start(new ConfigStore(database.dsl()), coordination, config));
            var cfg = live.current();
            QueueListener listener = track(new QueueListener(database));
            this.orchestrator = Orchestrator.start(database, new OrchestratorSettings(nodeId, cfg.orchestratorBatchSize(),
                    cfg.leaseTtl(), cfg.pollIntervalMin(), cfg.pollIntervalMax()), listener, Clock.systemUTC());
            open.add(() -> orchestrator.stop(Duration.ofSeconds(10)));
            this.membership = track(NodeMembership.join(coordination, new NodeInfo(nodeId, NodeRole.ORCHESTRATOR, List.of(),
                    "localhost", "bench", Clock.systemUTC().instant(), cfg.heartbeatInterval(), Map.of()), live::version));
            this.elector = new LeaderElector(coordination, nodeId, () -> live.current().electionInterval());
            elector.register(StandardDuties.nodeMonitor(coordination, () -> live.current().heartbeatInterval(), List.of()))
                    .register(StandardDuties.queueStats(database.dsl(), () -> live.current().queueStatsRefreshInterval()))
                    .register(StandardDuties.archiveMaintenance(database.dsl(), Clock.systemUTC(),
                            () -> live.current().archiveMaintenanceInterval(), () -> live.current().archiveDaysAhead(),
                            () -> live.current().archiveRetentionDays()))
                    .register(StandardDuties.coordinationCleanup(database.dsl(), Clock.systemUTC(), () -> Duration.ofMinutes(1)));
            new EngineDuties(database.dsl()).leaderDuties(() -> ENGINE_DUTY_INTERVAL, () -> live.current().archiveRetentionDays())
                    .forEach(elector::register);
            track(elector.start());
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * Starts a node on a migrated database.
     *
     * @param config cluster config keys (as in {@code ordo.config}) that this node sets locally, e.g. {@code lease.ttl}
     */
    public static BenchOrchestrator start(DatabaseSettings settings, String nodeId, Map<String, String> config) {
        return new BenchOrchestrator(settings, nodeId, config);
    }

    private <T extends AutoCloseable> T track(T resource) {
        open.add(resource);
        return resource;
    }

    public String nodeId() {
        return nodeId;
    }

    public EngineMetrics metrics() {
        return orchestrator.metrics();
    }

    public boolean isLeader() {
        return elector.isLeader();
    }

    /** Stops gracefully: finishes the pass in progress, releases leases and leadership, leaves the registry. */
    @Override
    public void close() {
        for (int i = open.size() - 1; i >= 0; i--) {
            try {
                open.get(i).close();
            } catch (Exception e) {
                LOG.log(System.Logger.Level.WARNING, "stopping " + nodeId + ": " + e.getMessage());
            }
        }
        open.clear();
    }

    /**
     * Runs a node until SIGTERM/SIGINT (then stops gracefully) or SIGKILL. Environment: {@code ORDO_DATABASE_URL}
     * (required, migrated), {@code ORDO_NODE_ID}, and {@code ORDO_CONFIG_<KEY>} for local cluster config keys with
     * dots and dashes as underscores ({@code ORDO_CONFIG_LEASE_TTL=5s}). Prints {@code started <node id>} on stdout
     * once it runs.
     */
    public static void main(String[] args) throws InterruptedException {
        String url = System.getenv("ORDO_DATABASE_URL");
        if (url == null || url.isBlank()) {
            System.err.println("bench orchestrator: set ORDO_DATABASE_URL");
            System.exit(2);
        }
        String nodeId = System.getenv().getOrDefault("ORDO_NODE_ID", "bench-orchestrator-" + ProcessHandle.current().pid());
        Map<String, String> config = new java.util.HashMap<>();
        System.getenv().forEach((k, v) -> {
            if (k.startsWith("ORDO_CONFIG_")) {
                config.put(configKey(k.substring("ORDO_CONFIG_".length())), v);
            }
        });
        BenchOrchestrator node = start(DatabaseSettings.fromUrl(url), nodeId, config);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            node.close();
            stopped.countDown();
        }, "bench-orchestrator-shutdown"));
        System.out.println("started " + nodeId);
        System.out.flush();
        stopped.await();
    }

    /** {@code LEASE_TTL} → {@code lease.ttl}, {@code ORCHESTRATOR_BATCH_SIZE} → {@code orchestrator.batch_size}. */
    static String configKey(String variable) {
        String lower = variable.toLowerCase(java.util.Locale.ROOT);
        int dot = lower.indexOf('_');
        return dot < 0 ? lower : lower.substring(0, dot) + "." + lower.substring(dot + 1);
    }
}

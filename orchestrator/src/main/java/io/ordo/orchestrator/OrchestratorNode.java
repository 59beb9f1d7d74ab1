package io.ordo.orchestrator;

import io.ordo.config.ConfigStore;
import io.ordo.config.LiveConfig;
import io.ordo.coordination.Coordination;
import io.ordo.coordination.LeaderElector;
import io.ordo.coordination.LeadershipEvent;
import io.ordo.coordination.NodeInfo;
import io.ordo.coordination.NodeMembership;
import io.ordo.coordination.NodeRole;
import io.ordo.coordination.PostgresCoordination;
import io.ordo.coordination.StandardDuties;
import io.ordo.db.Database;
import io.ordo.engine.EngineDuties;
import io.ordo.engine.Orchestrator;
import io.ordo.engine.OrchestratorSettings;
import io.ordo.http.Requests;
import io.ordo.http.auth.Access;
import io.ordo.http.auth.ApiTokens;
import io.ordo.http.health.DatabaseChecks;
import io.ordo.http.health.HealthCheck;
import io.ordo.http.health.HealthResult;
import io.ordo.http.health.HealthService;
import io.ordo.http.telemetry.Telemetry;
import io.ordo.queue.QueueListener;
import io.ordo.template.TemplateRegistry;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One orchestrator node on a database: the orchestration loop, membership in the node registry, leader
 * election with the engine's and the cluster's duties (run only while this node leads), live config, queue
 * statistics, meters, API tokens and the health checks. The HTTP API ({@link Main#routing}) reads it.
 */
public final class OrchestratorNode implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(OrchestratorNode.class.getName());
    static final Duration ENGINE_DUTY_INTERVAL = Duration.ofSeconds(1);
    static final Duration QUEUE_VACUUM_INTERVAL = Duration.ofSeconds(1);
    static final long QUEUE_VACUUM_MIN_DEAD_ROWS = 5_000;
    static final Duration QUEUE_VACUUM_MIN_GAP = Duration.ofSeconds(2);

    private final Database database;
    private final Telemetry telemetry;
    private final Clock clock;
    private final ServerSettings settings;
    private final List<AutoCloseable> open = new ArrayList<>();
    private final PostgresCoordination coordination;
    private final LiveConfig config;
    private final Orchestrator orchestrator;
    private final NodeMembership membership;
    private final LeaderElector elector;
    private final ClusterStats stats;
    private final NodeMetrics metrics;
    private final ApiTokens tokens;
    private final Access access;
    private final Requests requests;
    private volatile boolean draining;

    private OrchestratorNode(Database database, Telemetry telemetry, ServerSettings settings, Clock clock) {
        this.database = database;
        this.telemetry = telemetry;
        this.settings = settings;
        this.clock = clock;
        try {
            this.coordination = track(new PostgresCoordination(database, clock));
            ConfigStore store = new ConfigStore(database.dsl());
            this.config = track(LiveConfig.start(store, coordination, settings.configValues()));
            config.onChange(LiveConfig.logLevelApplier());
            if (settings.templatesDir() != null) {
                var registered = new TemplateRegistry(database.dsl()).registerDirectory(settings.templatesDir());
                LOG.log(System.Logger.Level.INFO, "registered " + registered.size() + " template(s) from " + settings.templatesDir());
            }
            QueueListener listener = track(new QueueListener(database));
            var cfg = config.current();
            OrchestratorSettings engine = new OrchestratorSettings(settings.nodeId(), cfg.orchestratorBatchSize(), cfg.leaseTtl(),
                    cfg.pollIntervalMin(), cfg.pollIntervalMax());
            this.orchestrator = track(Orchestrator.start(database, engine, listener, clock, telemetry.openTelemetry()));
            this.stats = track(new ClusterStats(database.dsl(), orchestrator.metrics(), clock, settings.statsInterval()));
            this.metrics = track(new NodeMetrics(telemetry.openTelemetry(), orchestrator.metrics(), stats));
            this.membership = track(NodeMembership.join(coordination, new NodeInfo(settings.nodeId(), NodeRole.ORCHESTRATOR, List.of(),
                    host(), version(), clock.instant(), cfg.heartbeatInterval(), Map.of()), config::version));
            this.elector = new LeaderElector(coordination, settings.nodeId(), () -> config.current().electionInterval());
            EngineDuties engineDuties = new EngineDuties(database.dsl());
            elector.register(StandardDuties.nodeMonitor(coordination, () -> config.current().heartbeatInterval(),
                            List.of(engineDuties.leaseReleaser())))
                    .register(StandardDuties.queueStats(database.dsl(), () -> config.current().queueStatsRefreshInterval()))
                    .register(StandardDuties.queueVacuum(database.dsl(), () -> QUEUE_VACUUM_INTERVAL, QUEUE_VACUUM_MIN_DEAD_ROWS,
                            QUEUE_VACUUM_MIN_GAP))
                    .register(StandardDuties.archiveMaintenance(database.dsl(), clock, () -> config.current().archiveMaintenanceInterval(),
                            () -> config.current().archiveDaysAhead(), () -> config.current().archiveRetentionDays()))
                    .register(StandardDuties.coordinationCleanup(database.dsl(), clock, () -> Duration.ofMinutes(1)));
            engineDuties.leaderDuties(() -> ENGINE_DUTY_INTERVAL, () -> config.current().archiveRetentionDays())
                    .forEach(elector::register);
            elector.onChange(event -> metrics.leaderChanged(event instanceof LeadershipEvent.Elected ? "elected" : "lost"));
            track(elector.start());
            this.tokens = new ApiTokens(database.dsl(), clock);
            this.access = new Access(tokens, settings.http().observabilityOpen());
            this.requests = new Requests(settings.http().maxBodyBytes());
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Starts a node on a migrated database. The caller keeps ownership of the database and the telemetry. */
    public static OrchestratorNode start(Database database, Telemetry telemetry, ServerSettings settings, Clock clock) {
        return new OrchestratorNode(database, telemetry, settings, clock);
    }

    private <T extends AutoCloseable> T track(T resource) {
        open.add(resource);
        return resource;
    }

    public Database database() {
        return database;
    }

    public Telemetry telemetry() {
        return telemetry;
    }

    public Clock clock() {
        return clock;
    }

    public String nodeId() {
        return settings.nodeId();
    }

    public Orchestrator orchestrator() {
        return orchestrator;
    }

    public Coordination coordination() {
        return coordination;
    }

    public LiveConfig config() {
        return config;
    }

    public LeaderElector elector() {
        return elector;
    }

    public ApiTokens tokens() {
        return tokens;
    }

    public Access access() {
        return access;
    }

    public Requests requests() {
        return requests;
    }

    ClusterStats stats() {
        return stats;
    }

    NodeMetrics metrics() {
        return metrics;
    }

    public boolean draining() {
        return draining;
    }

    /** Stops taking work: readiness fails, so load balancers move on; the node keeps finishing what it holds. */
    public void drain() {
        draining = true;
        try {
            membership.drain();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "could not mark node " + nodeId() + " draining: " + e.getMessage());
        }
    }

    /** /health/live, /health/ready and /health of this node. */
    public HealthService healthService() {
        List<HealthCheck> live = List.of(
                HealthCheck.of("orchestrator_running", () -> orchestrator.isRunning()
                        ? HealthResult.up("running") : HealthResult.down("the orchestration loop has stopped")),
                HealthCheck.heartbeat("orchestrator_loop", orchestrator::lastLoopAt, settings.liveTimeout(), clock));
        List<HealthCheck> ready = List.of(
                DatabaseChecks.reachable(database),
                DatabaseChecks.migrationsCurrent(database, Duration.ofSeconds(30), clock),
                HealthCheck.downWhen("draining", () -> draining, "the node is draining"),
                DatabaseChecks.poolNotSaturated(database));
        return new HealthService(access, live, ready, this::healthDetails);
    }

    private Map<String, Object> healthDetails() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("node_id", nodeId());
        out.put("draining", draining);
        out.put("leader", coordination.leader().map(l -> Map.of("node_id", l.nodeId(), "term", l.term(),
                "since", l.since().toString())).orElse(null));
        out.put("this_node_leads", elector.isLeader());
        out.put("config_version", config.version());
        out.put("connection_pool", DatabaseChecks.poolUsage(database));
        ClusterStats.Sample s = stats.cached();
        if (s != null) {
            out.put("sampled_at", s.at().toString());
            List<Map<String, Object>> queues = new ArrayList<>();
            for (ClusterStats.QueueStat q : s.queues()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("queue", q.queue());
                m.put("depth", q.depth());
                m.put("visible_depth", q.visibleDepth());
                m.put("oldest_age_seconds", q.oldestAge() == null ? null : q.oldestAge().toMillis() / 1000.0);
                m.put("sent_per_second", q.sentPerSecond());
                queues.add(m);
            }
            out.put("queues", queues);
            Map<String, Object> rates = new LinkedHashMap<>();
            rates.put("messages_per_second", s.engine().messagesPerSecond());
            rates.put("steps_completed_per_second", s.engine().stepsCompletedPerSecond());
            rates.put("steps_failed_per_second", s.engine().stepsFailedPerSecond());
            rates.put("pass_errors_per_second", s.engine().passErrorsPerSecond());
            out.put("processing", rates);
            out.put("open_dead_letters", s.openDeadLetters());
        }
        var engine = orchestrator.metrics();
        out.put("engine_totals", Map.of("messages_processed", engine.messagesProcessed(), "pass_errors", engine.passErrors(),
                "steps_failed", engine.stepsFailed(), "claim_conflicts", engine.claimConflicts(),
                "lease_takeovers", engine.leaseTakeovers()));
        return out;
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "unknown";
        }
    }

    static String version() {
        String v = OrchestratorNode.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /**
     * Stops gracefully, in this order: readiness fails; the node steps down if it leads (another node is elected at
     * its next campaign); the orchestration loop finishes its pass and releases its task leases (within
     * {@link Orchestrator#close()}'s grace); the node leaves the registry; then the rest closes.
     */
    @Override
    public void close() {
        draining = true;
        closeFirst(elector);
        closeFirst(orchestrator);
        closeFirst(membership);
        for (int i = open.size() - 1; i >= 0; i--) {
            closeQuietly(open.get(i));
        }
        open.clear();
    }

    private void closeFirst(AutoCloseable resource) {
        if (resource != null && open.remove(resource)) {
            closeQuietly(resource);
        }
    }

    private void closeQuietly(AutoCloseable resource) {
        try {
            resource.close();
        } catch (Exception e) {
            LOG.log(System.Logger.Level.WARNING, "stopping node " + settings.nodeId() + ": " + e.getMessage());
        }
    }
}

package io.ordo.dlq;

import io.ordo.config.ConfigStore;
import io.ordo.config.LiveConfig;
import io.ordo.coordination.PostgresCoordination;
import io.ordo.db.Database;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.ordo.http.auth.ApiTokens;
import io.ordo.http.auth.Role;
import io.ordo.http.telemetry.Telemetry;
import io.ordo.engine.Orchestrator;
import io.ordo.engine.OrchestratorSettings;
import io.ordo.queue.QueueListener;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.awaitility.Awaitility.await;

/** Orchestrators, dlq-processors, API tokens and templates for the dead-letter tests; closes what it opened. */
final class DlqFixture implements AutoCloseable {
    private final TestDatabase db;
    private final List<AutoCloseable> open = new ArrayList<>();
    private final Map<String, Telemetry> telemetry = new java.util.concurrent.ConcurrentHashMap<>();

    DlqFixture(TestDatabase db) {
        this.db = db;
    }

    Orchestrator orchestrator(String nodeId) {
        Database pool = track(Database.connect(db.settings().withMaxPoolSize(4).withApplicationName("orch-" + nodeId)));
        QueueListener listener = track(new QueueListener(pool));
        Orchestrator o = Orchestrator.start(pool, OrchestratorSettings.defaults(nodeId).withBatchSize(200), listener, Clock.systemUTC());
        open.add(() -> o.stop(Duration.ofSeconds(2)));
        return o;
    }

    /** A dlq-processor with a pool and a coordination adapter of its own, as a separate process would have. */
    DlqProcessor processor(String nodeId) {
        return server(nodeId, -1).processor();
    }

    /** A dlq-processor process: the processor and, unless {@code port} is -1, its admin endpoints. */
    DlqServer server(String nodeId, int port) {
        return server(nodeId, port, Map.of("queue.poll_interval_min", "20ms", "queue.poll_interval_max", "200ms",
                "node.heartbeat_interval", "200ms"));
    }

    /** The same, with these node-local config values. */
    DlqServer server(String nodeId, int port, Map<String, String> localConfig) {
        Database pool = track(Database.connect(db.settings().withMaxPoolSize(4).withApplicationName("dlq-" + nodeId)));
        PostgresCoordination coordination = track(new PostgresCoordination(pool, Clock.systemUTC()));
        LiveConfig config = track(LiveConfig.start(new ConfigStore(pool.dsl()), coordination, localConfig));
        DlqSettings settings = DlqSettings.defaults(nodeId).withPort(port).withIntervals(Duration.ofMillis(100), Duration.ofMillis(100));
        Telemetry otel = track(Telemetry.inMemory(SpanExporter.composite()));
        telemetry.put(nodeId, otel);
        return track(DlqServer.start(pool, coordination, config, settings, otel, Clock.systemUTC()));
    }

    /** The telemetry of a node started by this fixture: its meters are on {@code prometheus().scrape()}. */
    Telemetry telemetry(String nodeId) {
        return telemetry.get(nodeId);
    }

    <T extends AutoCloseable> T track(T resource) {
        open.add(resource);
        return resource;
    }

    /** Creates an API token with the role; returns the secret to send as a bearer token. */
    static String token(DSLContext dsl, String name, Role role) {
        return new ApiTokens(dsl, Clock.systemUTC()).create(role, name).secret();
    }

    /** A linear template: steps before -> middle -> after; middle retries quickly. */
    static String chainTemplate(String namespace, String name, String middleHandler, int maxAttempts) {
        return """
                {"namespace": "%s", "name": "%s", "version": "1", "steps": [
                  {"name": "before", "handler": "ok"},
                  {"name": "middle", "handler": "%s", "depends_on": ["before"],
                   "retry": {"max_attempts": %d, "backoff": {"initial": "10ms", "max": "20ms", "jitter": false}}},
                  {"name": "after", "handler": "ok", "depends_on": ["middle"]}
                ]}""".formatted(namespace, name, middleHandler, maxAttempts);
    }

    static void awaitTaskStatus(DSLContext dsl, long taskId, String status, Duration atMost) {
        await().atMost(atMost).pollInterval(Duration.ofMillis(20)).until(() ->
                status.equals(dsl.fetchOne("select status from ordo.task where id = ?", taskId).get(0, String.class)));
    }

    @Override
    public void close() {
        for (int i = open.size() - 1; i >= 0; i--) {
            try {
                open.get(i).close();
            } catch (Exception ignored) {
                // best effort
            }
        }
    }
}

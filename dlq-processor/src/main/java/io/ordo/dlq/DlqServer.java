package io.ordo.dlq;

import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.ordo.config.LiveConfig;
import io.ordo.coordination.Coordination;
import io.ordo.db.Database;
import io.ordo.dlq.http.DlqHttpService;
import io.ordo.http.HttpServers;
import io.ordo.http.Requests;
import io.ordo.http.auth.Access;
import io.ordo.http.auth.ApiTokens;
import io.ordo.http.health.DatabaseChecks;
import io.ordo.http.health.HealthCheck;
import io.ordo.http.health.HealthResult;
import io.ordo.http.health.HealthService;
import io.ordo.http.telemetry.MetricsService;
import io.ordo.http.telemetry.Telemetry;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A dlq-processor process: the {@link DlqProcessor} and, unless {@link DlqSettings#http()} is null, a web server with
 * the {@code /v1/dlq} admin endpoints, {@code /health} ({@code live}: the processing loop goes round; {@code ready}:
 * the database answers and the node is not stopping) and the {@code /metrics} scrape. {@link #close()} stops both
 * gracefully.
 */
public final class DlqServer implements AutoCloseable {
    private final DlqProcessor processor;
    private final WebServer web;
    private final AtomicBoolean stopping;

    private DlqServer(DlqProcessor processor, WebServer web, AtomicBoolean stopping) {
        this.processor = processor;
        this.web = web;
        this.stopping = stopping;
    }

    /** Mounts the admin endpoints at {@code /v1/dlq}, e.g. inside {@link HttpServers#start}. */
    public static void routing(HttpRouting.Builder routing, DeadLetters letters, Access access, Requests requests) {
        routing.register("/v1/dlq", new DlqHttpService(letters, access, requests));
    }

    /** Starts the web server (if any), then the processor; see {@link DlqProcessor#start}. */
    public static DlqServer start(Database database, Coordination coordination, LiveConfig config, DlqSettings settings,
                                  Telemetry telemetry, Clock clock) {
        WebServer web = null;
        AtomicReference<DlqProcessor> started = new AtomicReference<>();
        AtomicBoolean stopping = new AtomicBoolean();
        if (settings.http() != null) {
            Access access = new Access(new ApiTokens(database.dsl(), clock), settings.http().observabilityOpen());
            Requests requests = new Requests(settings.http().maxBodyBytes());
            HealthService health = new HealthService(access,
                    List.of(HealthCheck.of("dlq_processor_running", () -> started.get() != null && started.get().isRunning()
                            ? HealthResult.up("running") : HealthResult.down("the processing loop is not running"))),
                    List.of(DatabaseChecks.reachable(database),
                            HealthCheck.downWhen("draining", stopping::get, "the dlq-processor is stopping")),
                    () -> Map.of("node_id", settings.nodeId()));
            web = HttpServers.start(settings.http(), r -> {
                routing(r, new DeadLetters(database.dsl()), access, requests);
                r.register("/health", health).register("/metrics", new MetricsService(access, telemetry.prometheus()));
            });
        }
        try {
            // the node registers the port it actually listens on
            DlqSettings actual = web == null ? settings : settings.withPort(web.port());
            started.set(DlqProcessor.start(database, coordination, config, actual, telemetry.openTelemetry(), clock));
            return new DlqServer(started.get(), web, stopping);
        } catch (RuntimeException e) {
            if (web != null) {
                web.stop();
            }
            throw e;
        }
    }

    public DlqProcessor processor() {
        return processor;
    }

    /** The port the admin endpoints listen on, or -1 without them. */
    public int port() {
        return web == null ? -1 : web.port();
    }

    /**
     * Stops gracefully: {@code /health/ready} fails at once; the processor marks its node draining, finishes the
     * batch in progress and leaves the registry; then the web server stops (requests in progress get up to 5 s).
     */
    @Override
    public void close() {
        stopping.set(true);
        processor.close();
        if (web != null) {
            web.stop();
        }
    }
}

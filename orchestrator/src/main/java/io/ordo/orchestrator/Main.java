package io.ordo.orchestrator;

import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.ordo.InvalidInputException;
import io.ordo.config.ConfigStore;
import io.ordo.db.Database;
import io.ordo.db.DatabaseSettings;
import io.ordo.db.EmbeddedDatabase;
import io.ordo.http.HttpServers;
import io.ordo.http.auth.ApiTokens;
import io.ordo.http.auth.Role;
import io.ordo.http.telemetry.MetricsService;
import io.ordo.http.telemetry.Telemetry;
import io.ordo.http.telemetry.TracingFilter;
import io.ordo.lifecycle.StopSignal;
import io.ordo.orchestrator.api.ClusterService;
import io.ordo.orchestrator.api.ConfigService;
import io.ordo.orchestrator.api.OpenApiService;
import io.ordo.orchestrator.api.QueueService;
import io.ordo.orchestrator.api.TaskService;
import io.ordo.orchestrator.api.TemplateService;
import io.ordo.orchestrator.api.TokenService;
import io.ordo.telemetry.Logging;
import io.ordo.template.TemplateRegistry;

import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * {@code ordo server}: an orchestrator node with the HTTP API, health endpoints and metrics.
 * {@link #routing(HttpRouting.Builder, OrchestratorNode)} is the whole API; tests reuse it.
 */
public final class Main {
    private Main() {
    }

    /**
     * The orchestrator image's entry point: {@code migrate} and {@code token ...} run those commands, anything else
     * runs the server (see {@link #run}). Exits with the command's code: 0 after a graceful stop.
     */
    public static void main(String[] args) {
        String[] rest = args.length == 0 ? args : Arrays.copyOfRange(args, 1, args.length);
        int code = switch (args.length == 0 ? "" : args[0]) {
            case "migrate" -> MigrateCommand.run(System.getenv(), System.out, System.err);
            case "token" -> TokenCommand.run(rest, System.getenv(), System.out, System.err);
            case "server" -> run(rest, System.getenv());
            default -> run(args, System.getenv());
        };
        System.exit(code);
    }

    /** Every route of the API, each with the role it needs. Problem+json error mapping comes with {@link HttpServers#start}. */
    public static void routing(HttpRouting.Builder routing, OrchestratorNode node) {
        var db = node.database();
        routing.addFilter(new TracingFilter(node.telemetry().openTelemetry(), "/v1/"))
                .register("/v1/tasks", new TaskService(db.dsl(), node.access(), node.requests(),
                        node.metrics()::submitted, node.metrics()::backpressureRefused, node.metrics()::cancelled))
                .register("/v1/templates", new TemplateService(new TemplateRegistry(db.dsl()), node.access(), node.requests()))
                .register("/v1/queues", new QueueService(node.access(), () -> queues(node)))
                .register("/v1/cluster", new ClusterService(node.access(), node.coordination(), new ConfigStore(db.dsl()), node.nodeId()))
                .register("/v1/config", new ConfigService(node.access(), new ConfigStore(db.dsl()), node.requests()))
                .register("/v1/tokens", new TokenService(node.access(), node.tokens(), node.requests()))
                .register("/health", node.healthService())
                .register("/metrics", new MetricsService(node.access(), node.telemetry().prometheus()))
                .register("/openapi", new OpenApiService(node.access()));
    }

    private static List<QueueService.Queue> queues(OrchestratorNode node) {
        return node.stats().current().stream().map(q -> new QueueService.Queue(q.queue(), q.namespace(), q.depth(),
                q.visibleDepth(), q.oldestAge() == null ? null : q.oldestAge().toMillis() / 1000.0, q.totalSent(),
                q.sentPerSecond(), q.backpressure(), q.openDeadLetters(), q.scrapedAt())).toList();
    }

    /** Closes in reverse order of opening: the web server, the node, telemetry, the pool, the embedded PostgreSQL. */
    private static void closeAll(List<AutoCloseable> opened) {
        for (int i = opened.size() - 1; i >= 0; i--) {
            try {
                opened.get(i).close();
            } catch (Exception e) {
                System.err.println("ordo server: while stopping: " + e.getMessage());
            }
        }
    }

    /**
     * Runs the server until the process is told to stop (SIGTERM, Ctrl-C), then stops gracefully and returns 0:
     * <ol>
     *   <li>{@code /health/ready} fails at once and the node is marked {@code draining} in the registry;</li>
     *   <li>the node steps down if it leads: it releases the leader lock and says so, and another node is elected at
     *       once rather than at its next election;</li>
     *   <li>the orchestration loop stops reading, finishes the pass in progress and releases its task leases, so
     *       other nodes take those tasks at once rather than after the lease TTL;</li>
     *   <li>the node leaves the registry, the HTTP server stops (requests in progress get up to 5 s), and the
     *       telemetry and the pool are closed.</li>
     * </ol>
     * Returns 2 when the settings are refused, 1 when the server could not start.
     */
    public static int run(String[] args, Map<String, String> env) {
        ServerSettings settings;
        try {
            Logging.configure(env);
            settings = ServerSettings.parse(args, env);
        } catch (InvalidInputException e) {
            System.err.println("ordo server: " + e.getMessage());
            return 2;
        }
        try (StopSignal stop = StopSignal.install()) {
            return serve(settings, env, stop);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }

    private static int serve(ServerSettings settings, Map<String, String> env, StopSignal stop) throws InterruptedException {
        List<AutoCloseable> opened = new ArrayList<>();
        OrchestratorNode node;
        WebServer server;
        try {
            String url = settings.databaseUrl();
            boolean embedded = url == null;
            if (embedded) {
                System.out.println("ordo server: ORDO_DATABASE_URL is not set; starting an embedded PostgreSQL in "
                        + settings.embeddedDataDir());
                EmbeddedDatabase pg = EmbeddedDatabase.start(settings.embeddedDataDir(), true);
                opened.add(pg);
                url = pg.jdbcUrl("postgres");
            }
            Database db = Database.connect(DatabaseSettings.fromUrl(url).withMaxPoolSize(20)
                    .withApplicationName("ordo-" + settings.nodeId()));
            opened.add(db);
            if (embedded || settings.migrate()) {
                db.migrate();
            }
            Telemetry telemetry = Telemetry.fromEnvironment("ordo-orchestrator", env);
            opened.add(telemetry);
            node = OrchestratorNode.start(db, telemetry, settings, Clock.systemUTC());
            opened.add(node);
            if (embedded && !node.tokens().anyActive()) {
                ApiTokens.Created admin = node.tokens().create(Role.ADMIN, "bootstrap-admin");
                System.out.println("ordo server: no API token existed, so this admin token was created (it is not shown again):");
                System.out.println("  " + admin.secret());
            }
            server = HttpServers.start(settings.http(), r -> routing(r, node));
            opened.add(server::stop);
        } catch (RuntimeException e) {
            closeAll(opened);
            System.err.println("ordo server: could not start: " + e.getMessage());
            return e instanceof InvalidInputException ? 2 : 1;
        }
        System.out.println("ordo server: node " + settings.nodeId() + " listening on " + (settings.http().tlsKeystore() == null
                ? "http" : "https") + "://" + settings.http().host() + ":" + server.port());
        String signal = stop.await();
        System.out.println("ordo server: " + signal + ": node " + settings.nodeId() + " is draining");
        node.drain();
        // the node stops before the web server, so /health/ready answers 503 while it drains
        node.close();
        closeAll(opened);
        System.out.println("ordo server: node " + settings.nodeId() + " stopped");
        return 0;
    }
}

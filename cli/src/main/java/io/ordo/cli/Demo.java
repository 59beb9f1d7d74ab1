package io.ordo.cli;

import io.ordo.InvalidInputException;
import io.ordo.db.Database;
import io.ordo.db.DatabaseSettings;
import io.ordo.db.EmbeddedDatabase;
import io.ordo.http.HttpServers;
import io.ordo.http.HttpSettings;
import io.ordo.http.auth.ApiTokens;
import io.ordo.http.auth.Role;
import io.ordo.http.telemetry.Telemetry;
import io.ordo.orchestrator.OrchestratorNode;
import io.ordo.orchestrator.ServerSettings;
import io.ordo.template.TemplateRegistry;
import io.ordo.worker.OrdoWorker;
import io.ordo.worker.StepHandlerProvider;
import io.helidon.webserver.WebServer;
import org.jooq.DSLContext;
import org.jooq.Record;

import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;

/**
 * {@code ./ordo demo}: Ordo end to end on one machine with no setup. An embedded PostgreSQL (unless
 * ORDO_DATABASE_URL is set), two orchestrator nodes (one serves the HTTP API), the example workers in
 * process, the example templates, and sample orders submitted over HTTP; live progress, then a summary.
 * It keeps serving until Ctrl-C, or exits after the summary with {@code --exit}.
 */
public final class Demo {
    /** Loggers the demo quiets, held so their levels are not lost to garbage collection. */
    private static final List<java.util.logging.Logger> QUIET = new ArrayList<>();
    private final PrintStream out;
    private final List<AutoCloseable> opened = new ArrayList<>();

    private Demo(PrintStream out) {
        this.out = out;
    }

    /** Options of the demo. */
    record Options(int tasks, int orchestrators, int port, boolean exitAfterSummary, Path templates) {
        static Options parse(String[] args, Map<String, String> env) {
            int tasks = 200;
            int orchestrators = 2;
            String portText = env.getOrDefault("ORDO_HTTP_PORT", "8080");
            boolean exit = false;
            String home = env.getOrDefault("ORDO_HOME", ".");
            Path templates = Path.of(home, "examples", "templates");
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--tasks" -> tasks = number("--tasks", value(args, ++i), 1, 100_000);
                    case "--orchestrators" -> orchestrators = number("--orchestrators", value(args, ++i), 1, 8);
                    case "--port" -> portText = value(args, ++i);
                    case "--templates" -> templates = Path.of(value(args, ++i));
                    case "--exit" -> exit = true;
                    default -> throw new InvalidInputException("unknown option " + args[i]
                            + "; ordo demo takes --tasks N, --orchestrators N, --port N, --templates DIR and --exit");
                }
            }
            if (!Files.isDirectory(templates)) {
                throw new InvalidInputException("templates directory " + templates + " does not exist (set --templates or ORDO_HOME)");
            }
            return new Options(tasks, orchestrators, number("--port", portText, 0, 65535), exit, templates);
        }

        private static String value(String[] args, int i) {
            if (i >= args.length) {
                throw new InvalidInputException(args[i - 1] + " needs a value");
            }
            return args[i];
        }

        private static int number(String name, String text, int min, int max) {
            try {
                int n = Integer.parseInt(text);
                if (n < min || n > max) {
                    throw new InvalidInputException(name + " must be between " + min + " and " + max + ", got " + n);
                }
                return n;
            } catch (NumberFormatException e) {
                throw new InvalidInputException(name + " must be a whole number, got " + text);
            }
        }
    }

    public static int run(String[] args, Map<String, String> env, PrintStream out) {
        Options options;
        try {
            options = Options.parse(args, env);
        } catch (InvalidInputException e) {
            System.err.println("ordo demo: " + e.getMessage());
            return 2;
        }
        if (!env.containsKey("ORDO_LOG_LEVEL")) {
            // the handlers' progress lines and the libraries' start-up chatter would drown the demo's own output;
            // ORDO_LOG_LEVEL=INFO shows them
            for (String name : List.of("io.ordo", "io.zonky", "com.zaxxer", "io.helidon")) {
                QUIET.add(java.util.logging.Logger.getLogger(name));
            }
            QUIET.add(java.util.logging.Logger.getLogger("org.jooq"));
            QUIET.add(java.util.logging.Logger.getLogger("org.flywaydb"));
            QUIET.forEach(l -> l.setLevel(l.getName().startsWith("org.") ? java.util.logging.Level.SEVERE : java.util.logging.Level.WARNING));
        }
        Demo demo = new Demo(out);
        CountDownLatch stop = new CountDownLatch(1);
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            stop.countDown();
            try {
                stopped.await(Duration.ofSeconds(30).toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "ordo-demo-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return demo.run(options, env, stop);
        } catch (RuntimeException e) {
            System.err.println("ordo demo: " + e.getMessage());
            return 1;
        } finally {
            demo.closeAll();
            stopped.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException alreadyShuttingDown) {
                // Ctrl-C: the hook is running and waits for us
            }
        }
    }

    private int run(Options options, Map<String, String> env, CountDownLatch stop) throws RuntimeException {
        String url = env.get("ORDO_DATABASE_URL");
        if (url == null || url.isBlank()) {
            out.println("Starting an embedded PostgreSQL (a throw-away one: set ORDO_DATABASE_URL to use yours)...");
            EmbeddedDatabase pg = EmbeddedDatabase.startTemporary();
            opened.add(pg);
            url = pg.jdbcUrl("postgres");
        }
        Database db = Database.connect(DatabaseSettings.fromUrl(url).withMaxPoolSize(24).withApplicationName("ordo-demo"));
        opened.add(db);
        db.migrate();
        TemplateRegistry templates = new TemplateRegistry(db.dsl());
        Set<String> namespaces = new TreeSet<>();
        for (TemplateRegistry.Registered t : templates.registerDirectory(options.templates())) {
            namespaces.add(t.namespace());
            out.printf("Template %s/%s version %s %s%n", t.namespace(), t.name(), t.version(), t.created() ? "registered" : "already registered");
        }

        Telemetry telemetry = Telemetry.fromEnvironment("ordo-demo", Map.of("OTEL_SDK_DISABLED", "true"));
        opened.add(telemetry);
        List<OrchestratorNode> nodes = new ArrayList<>();
        for (int i = 1; i <= options.orchestrators(); i++) {
            OrchestratorNode node = OrchestratorNode.start(db, telemetry,
                    ServerSettings.forNode("demo-orchestrator-" + i, HttpSettings.defaults(options.port()))
                            .withStatsInterval(Duration.ofSeconds(1)), Clock.systemUTC());
            opened.add(node);
            nodes.add(node);
        }
        WebServer server = HttpServers.start(HttpSettings.defaults(options.port()),
                r -> io.ordo.orchestrator.Main.routing(r, nodes.getFirst()));
        opened.add(server::stop);

        for (StepHandlerProvider provider : ServiceLoader.load(StepHandlerProvider.class)) {
            if (!namespaces.contains(provider.namespace())) {
                continue; // handlers of another namespace on the classpath (the benchmark's): the demo has no template for them
            }
            for (int i = 1; i <= 2; i++) {
                OrdoWorker worker = OrdoWorker.builder(db.dataSource())
                        .namespace(provider.namespace())
                        .handlers(provider.handlers())
                        .concurrency(16)
                        .nodeId("demo-worker-" + provider.namespace() + "-" + i)
                        .build()
                        .start();
                opened.add(worker);
            }
            out.printf("Workers for namespace %s: 2 in process, handlers %s%n", provider.namespace(),
                    String.join(", ", provider.handlers().keySet().stream().sorted().toList()));
        }

        ApiTokens.Created token = nodes.getFirst().tokens().create(Role.SUBMITTER, "demo");
        String base = "http://localhost:" + server.port();
        out.println();
        out.println("HTTP API at " + base + "  (OpenAPI: " + base + "/openapi, health: " + base + "/health)");
        out.println("Submit an order yourself:");
        out.println("  curl -s -X POST " + base + "/v1/tasks -H 'Authorization: Bearer " + token.secret() + "' \\");
        out.println("       -H 'Content-Type: application/json' \\");
        out.println("       -d '{\"namespace\":\"fulfillment\",\"template\":\"order_fulfillment\",\"context\":"
                + "{\"orderId\":\"A-1\",\"customer\":\"Ada\",\"email\":\"ada@example.com\",\"lines\":[{\"sku\":\"BOOK-1\",\"quantity\":2,\"priceCents\":1250}]}}'");
        out.println();

        long started = System.nanoTime();
        java.util.concurrent.atomic.AtomicReference<RuntimeException> failure = new java.util.concurrent.atomic.AtomicReference<>();
        Thread submitter = Thread.ofVirtual().start(() -> {
            try {
                submit(base, token.secret(), options.tasks());
                out.printf("Submitted %d orders over HTTP%n", options.tasks());
            } catch (RuntimeException e) {
                failure.set(e);
            }
        });
        progress(db.dsl(), started, stop, submitter);
        if (failure.get() != null) {
            throw failure.get();
        }
        summary(db.dsl(), started);
        if (!options.exitAfterSummary() && stop.getCount() > 0) {
            out.println();
            out.println("Ordo keeps running at " + base + " - press Ctrl-C to stop.");
            try {
                stop.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        out.println("Stopping: workers finish their steps, orchestrators release their leases...");
        return 0;
    }

    /** Submits the sample orders over HTTP, four at a time. */
    private void submit(String base, String token, int count) {
        HttpClient http = HttpClient.newHttpClient();
        java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger(1);
        List<Thread> senders = new ArrayList<>();
        java.util.concurrent.atomic.AtomicReference<RuntimeException> failure = new java.util.concurrent.atomic.AtomicReference<>();
        for (int t = 0; t < 4; t++) {
            senders.add(Thread.ofVirtual().start(() -> {
                try {
                    for (int i = next.getAndIncrement(); i <= count && failure.get() == null; i = next.getAndIncrement()) {
                        submitOne(http, base, token, i);
                    }
                } catch (RuntimeException e) {
                    failure.set(e);
                }
            }));
        }
        for (Thread sender : senders) {
            try {
                sender.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while submitting", e);
            }
        }
        if (failure.get() != null) {
            throw failure.get();
        }
    }

    private static void submitOne(HttpClient http, String base, String token, int i) {
        java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
        String[] skus = {"BOOK-1", "MUG-2", "PEN-3", "LAMP-4"};
        {
            String sku = skus[random.nextInt(skus.length)];
            String body = "{\"namespace\":\"fulfillment\",\"template\":\"order_fulfillment\",\"idempotency_key\":\"demo-"
                    + i + "-" + System.nanoTime() + "\",\"context\":{\"orderId\":\"D-" + i + "\",\"customer\":\"Customer " + i
                    + "\",\"email\":\"c" + i + "@example.com\",\"lines\":[{\"sku\":\"" + sku + "\",\"quantity\":" + (1 + random.nextInt(3))
                    + ",\"priceCents\":" + (500 + random.nextInt(5000)) + "}]}}";
            HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/v1/tasks"))
                    .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build();
            try {
                HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() != 201) {
                    throw new IllegalStateException("submitting order " + i + " got HTTP " + response.statusCode() + ": " + response.body());
                }
            } catch (java.io.IOException e) {
                throw new IllegalStateException("submitting order " + i + " failed: " + e.getMessage(), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while submitting", e);
            }
        }
    }

    private void progress(DSLContext dsl, long started, CountDownLatch stop, Thread submitter) {
        long lastSteps = 0;
        long lastAt = started;
        while (stop.getCount() > 0) {
            Record r = dsl.fetchOne("""
                    select count(*) filter (where status = 'pending'), count(*) filter (where status = 'in_progress'),
                           count(*) filter (where status = 'complete'), count(*) filter (where status = 'failed'),
                           count(*) filter (where status = 'cancelled'),
                           (select count(*) from ordo.step where status = 'complete'),
                           (select count(*) from ordo.transition where to_state = 'waiting_retry')
                    from ordo.task""");
            long steps = r.get(5, Long.class);
            long now = System.nanoTime();
            double rate = (steps - lastSteps) / ((now - lastAt) / 1e9);
            lastSteps = steps;
            lastAt = now;
            out.printf("[%5.1fs] tasks: %d pending, %d in progress, %d complete, %d failed, %d cancelled | %.0f steps/s | %d retries%n",
                    (now - started) / 1e9, r.get(0, Long.class), r.get(1, Long.class), r.get(2, Long.class), r.get(3, Long.class),
                    r.get(4, Long.class), rate, r.get(6, Long.class));
            if (!submitter.isAlive() && r.get(0, Long.class) + r.get(1, Long.class) == 0) {
                return;
            }
            try {
                stop.await(1, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void summary(DSLContext dsl, long started) {
        Record r = dsl.fetchOne("""
                select count(*), count(*) filter (where status = 'complete'), count(*) filter (where status = 'failed'),
                       percentile_cont(0.5) within group (order by extract(epoch from completed_at - created_at)),
                       percentile_cont(0.99) within group (order by extract(epoch from completed_at - created_at)),
                       (select count(*) from ordo.step where status = 'complete'),
                       (select count(*) from ordo.transition where to_state = 'waiting_retry'),
                       (select count(*) from ordo.dead_letter)
                from ordo.task""");
        double seconds = (System.nanoTime() - started) / 1e9;
        out.println();
        out.printf("Summary: %d tasks (%d complete, %d failed) and %d steps in %.1f s: %.1f tasks/s, %.1f steps/s%n",
                r.get(0, Long.class), r.get(1, Long.class), r.get(2, Long.class), r.get(5, Long.class), seconds,
                r.get(1, Long.class) / seconds, r.get(5, Long.class) / seconds);
        Double p50 = r.get(3, Double.class);
        Double p99 = r.get(4, Double.class);
        if (p50 != null) {
            out.printf("Submit to complete: p50 %.0f ms, p99 %.0f ms; %d retries with backoff (charge_payment fails once by design); %d dead letters%n",
                    p50 * 1000, p99 * 1000, r.get(6, Long.class), r.get(7, Long.class));
        }
    }

    private void closeAll() {
        for (int i = opened.size() - 1; i >= 0; i--) {
            try {
                opened.get(i).close();
            } catch (Exception e) {
                System.err.println("ordo demo: while stopping: " + e.getMessage());
            }
        }
        opened.clear();
    }
}

package io.ordo.worker.container;

import io.helidon.webserver.WebServer;
import io.ordo.InvalidInputException;
import io.ordo.OrdoException;
import io.ordo.config.ConfigStore;
import io.ordo.coordination.PostgresCoordination;
import io.ordo.db.Database;
import io.ordo.http.telemetry.Telemetry;
import io.ordo.lifecycle.StopSignal;
import io.ordo.queue.QueueListener;
import io.ordo.telemetry.Logging;
import io.ordo.worker.NamespaceAccessDeniedException;
import io.ordo.worker.OrdoWorker;
import io.ordo.worker.StepHandlerProvider;

import java.io.PrintStream;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A worker container: runs the handlers of one namespace found on the classpath through {@link StepHandlerProvider}
 * until the process is told to stop (SIGTERM or SIGINT), then stops gracefully and exits 0. Configured by
 * {@link WorkerConfig}. This is {@code ./ordo worker} and the entry point of worker images.
 * <p>
 * On SIGTERM: {@code /health/ready} fails at once; the worker stops reading, gives back the steps it read but had not
 * started (they keep their attempt), lets running handlers finish and hand back within {@code shutdown_grace} (those
 * still running then are interrupted and their steps made visible at once), marks its node draining and leaves the
 * registry; then the health port closes and the process exits 0.
 */
public final class WorkerMain {
    private static final String USAGE = """
            usage: ordo worker --namespace NAME [--concurrency N] [--config FILE]

            Runs the step handlers of namespace NAME found on the classpath (implementations of
            io.ordo.worker.StepHandlerProvider listed in META-INF/services) until SIGTERM, then stops gracefully.

            environment:
              ORDO_DATABASE_URL         jdbc:postgresql://host:5432/db?user=.. or postgres://user:pass@host:5432/db (required)
              ORDO_DATABASE_USER        database user, if not in the URL (a member of ordo_worker_<namespace>)
              ORDO_DATABASE_PASSWORD    its password, if not in the URL
              ORDO_WORKER_NAMESPACE     the namespace, if not given with --namespace
              ORDO_WORKER_CONCURRENCY   most handlers running at once (default 10)
              ORDO_WORKER_HEALTH_PORT   port of /health/live and /health/ready (default: none)
              ORDO_WORKER_CONFIG        a .properties or .yaml file with any of the keys below
              ORDO_WORKER_<KEY>         batch_size, visibility_timeout, heartbeat_interval, poll_min, poll_max,
                                        shutdown_grace, hand_off_batch, hand_off_linger, node_id
              OTEL_*                    OpenTelemetry: each step is a span, exported when OTEL_EXPORTER_OTLP_ENDPOINT is set
            """;

    private WorkerMain() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /**
     * Runs a worker until SIGTERM or SIGINT and returns 0 once it has stopped gracefully. On a failure to start: 2 for
     * bad configuration or no handlers, 3 when the database role may not work the namespace, 1 when the database
     * cannot be reached or the health port cannot be opened.
     */
    public static int run(String[] args) {
        return run(Arrays.asList(args), System.getenv(), System.err);
    }

    static int run(List<String> args, Map<String, String> env, PrintStream err) {
        if (args.contains("--help") || args.contains("-h")) {
            System.out.print(USAGE);
            return 0;
        }
        WorkerConfig config;
        try {
            Logging.configure(env);
            config = WorkerConfig.load(args, env);
        } catch (InvalidInputException e) {
            err.println("ordo worker: " + e.getMessage());
            return 2;
        }
        String ns = config.worker().namespace();
        List<StepHandlerProvider> providers = new ArrayList<>();
        TreeSet<String> others = new TreeSet<>();
        for (StepHandlerProvider p : ServiceLoader.load(StepHandlerProvider.class)) {
            if (ns.equals(p.namespace())) {
                providers.add(p);
            } else {
                others.add(p.namespace());
            }
        }
        if (providers.isEmpty()) {
            err.println("ordo worker: no io.ordo.worker.StepHandlerProvider on the classpath serves namespace " + ns
                    + (others.isEmpty() ? "; there is none at all" : "; there are providers for " + others));
            return 2;
        }
        try (StopSignal stop = StopSignal.install()) {
            return serve(config, providers, env, err, stop);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }

    private static int serve(WorkerConfig config, List<StepHandlerProvider> providers, Map<String, String> env, PrintStream err,
                             StopSignal stop) throws InterruptedException {
        String ns = config.worker().namespace();
        Database database;
        try {
            database = Database.connect(config.database().withMaxPoolSize(6));
        } catch (RuntimeException e) {
            err.println("ordo worker: cannot connect to " + config.database() + ": " + e.getMessage());
            return 1;
        }
        List<AutoCloseable> opened = new ArrayList<>();
        opened.add(database);
        Telemetry telemetry = Telemetry.fromEnvironment("ordo-worker-" + ns, env);
        opened.add(telemetry);
        QueueListener listener = new QueueListener(database);
        opened.add(listener);
        PostgresCoordination coordination = new PostgresCoordination(database, Clock.systemUTC());
        opened.add(coordination);
        AtomicBoolean stopping = new AtomicBoolean();
        OrdoWorker worker;
        WebServer health = null;
        try {
            // a worker applies no cluster configuration, so it always runs the latest version
            ConfigStore configs = new ConfigStore(database.dsl());
            OrdoWorker.Builder builder = OrdoWorker.builder(database.dataSource()).settings(config.worker())
                    .listener(listener).nodeRegistry(coordination, configs::latestVersion)
                    .openTelemetry(telemetry.openTelemetry());
            providers.forEach(p -> builder.handlers(p.handlers()));
            worker = builder.build();
            if (config.healthPort() >= 0) {
                health = WorkerHealth.start(config.healthPort(), worker, database, stopping);
            }
            worker.start();
        } catch (OrdoException e) {
            err.println("ordo worker: " + e.getMessage());
            stopAll(health, opened);
            return e instanceof NamespaceAccessDeniedException ? 3 : e instanceof InvalidInputException ? 2 : 1;
        } catch (RuntimeException e) {
            err.println("ordo worker: could not start: " + e.getMessage());
            stopAll(health, opened);
            return 1;
        }
        err.println("ordo worker: node " + worker.settings().nodeId() + " runs namespace " + ns
                + (health == null ? "" : ", health endpoints on port " + health.port()));
        String signal = stop.await();
        stopping.set(true);
        // straight to stderr: java.util.logging may be shut down already when the JVM itself is stopping
        err.println("ordo worker: " + signal + ": stopping " + worker.settings().nodeId() + " (" + worker.inFlight() + " steps held)");
        worker.stop();
        stopAll(health, opened);
        err.println("ordo worker: stopped");
        return 0;
    }

    private static void stopAll(WebServer health, List<AutoCloseable> opened) {
        if (health != null) {
            health.stop();
        }
        for (int i = opened.size() - 1; i >= 0; i--) {
            try {
                opened.get(i).close();
            } catch (Exception e) {
                System.err.println("ordo worker: while stopping: " + e.getMessage());
            }
        }
    }
}

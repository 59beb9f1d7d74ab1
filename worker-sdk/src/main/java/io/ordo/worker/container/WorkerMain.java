package io.ordo.worker.container;

import io.ordo.InvalidInputException;
import io.ordo.OrdoException;
import io.ordo.config.ConfigStore;
import io.ordo.coordination.PostgresCoordination;
import io.ordo.db.Database;
import io.ordo.queue.QueueListener;
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

/**
 * A worker container: runs the handlers of one namespace found on the classpath through {@link StepHandlerProvider}
 * until the process is told to stop (SIGTERM or SIGINT), then stops gracefully (see {@link OrdoWorker#stop()}).
 * Configured by {@link WorkerConfig}. This is {@code ./ordo worker} and the entry point of worker images.
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
              ORDO_WORKER_CONFIG        a .properties or .yaml file with any of the keys below
              ORDO_WORKER_<KEY>         batch_size, visibility_timeout, heartbeat_interval, poll_min, poll_max,
                                        shutdown_grace, hand_off_batch, hand_off_linger, node_id
            """;

    private WorkerMain() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /**
     * Runs a worker until the JVM shuts down. Returns only on a failure to start: 2 for bad configuration or no
     * handlers, 3 when the database role may not work the namespace, 1 when the database cannot be reached.
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

        Database database;
        try {
            database = Database.connect(config.database().withMaxPoolSize(6));
        } catch (RuntimeException e) {
            err.println("ordo worker: cannot connect to " + config.database() + ": " + e.getMessage());
            return 1;
        }
        QueueListener listener = new QueueListener(database);
        PostgresCoordination coordination = new PostgresCoordination(database, Clock.systemUTC());
        // a worker applies no cluster configuration, so it always runs the latest version
        ConfigStore configs = new ConfigStore(database.dsl());
        OrdoWorker worker;
        try {
            OrdoWorker.Builder builder = OrdoWorker.builder(database.dataSource()).settings(config.worker())
                    .listener(listener).nodeRegistry(coordination, configs::latestVersion);
            providers.forEach(p -> builder.handlers(p.handlers()));
            worker = builder.build().start();
        } catch (OrdoException e) {
            err.println("ordo worker: " + e.getMessage());
            close(coordination, listener, database);
            return e instanceof NamespaceAccessDeniedException ? 3 : e instanceof InvalidInputException ? 2 : 1;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            // straight to stderr: java.util.logging may already be shut down by its own hook
            err.println("ordo worker: stopping " + worker.settings().nodeId() + " (" + worker.inFlight() + " steps held)");
            worker.stop();
            close(coordination, listener, database);
            err.println("ordo worker: stopped");
        }, "ordo-worker-shutdown"));
        worker.awaitStopped();
        return 0;
    }

    private static void close(PostgresCoordination coordination, QueueListener listener, Database database) {
        coordination.close();
        listener.close();
        database.close();
    }
}

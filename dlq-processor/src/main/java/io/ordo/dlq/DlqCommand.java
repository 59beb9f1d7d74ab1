package io.ordo.dlq;

import io.helidon.config.Config;
import io.ordo.OrdoException;
import io.ordo.config.ConfigKeys;
import io.ordo.config.ConfigStore;
import io.ordo.config.LiveConfig;
import io.ordo.coordination.PostgresCoordination;
import io.ordo.db.Database;
import io.ordo.db.DatabaseSettings;
import io.ordo.http.telemetry.Telemetry;
import io.ordo.lifecycle.StopSignal;
import io.ordo.telemetry.Logging;

import java.time.Clock;

/**
 * {@code ./ordo dlq}: runs a dlq-processor until the process is told to stop (SIGTERM, Ctrl-C), then stops gracefully
 * ({@link DlqServer#close()}) and exits 0.
 */
public final class DlqCommand {
    private DlqCommand() {
    }

    /** The dlq-processor image's entry point. */
    public static void main(String[] args) throws InterruptedException {
        System.exit(run(args));
    }

    public static int run(String[] args) throws InterruptedException {
        if (args.length > 0 && (args[0].equals("--help") || args[0].equals("-h"))) {
            System.out.println("""
                    usage: ./ordo dlq

                    Runs a dlq-processor: classifies new dead letters, requeues transient ones (dlq.auto_requeue_max),
                    raises alerts, deletes resolved letters past retention, and serves the /v1/dlq admin endpoints,
                    /health and /metrics. API tokens come from ./ordo token create.
                    Run as many as you like. The database must be migrated (./ordo migrate).

                    environment (or -D system properties with the dotted names):
                      ORDO_DATABASE_URL              the database (required)
                      ORDO_NODE_ID                   this node's id (default dlq-<host>-<pid>)
                      ORDO_DLQ_PORT                  the admin endpoints' port (default 8082; -1: none); the other
                                                     ORDO_HTTP_* variables (host, TLS, body limit) apply as for ordo server
                      ORDO_DLQ_ALERT_INTERVAL        how often alert thresholds are checked (default 10s)
                      ORDO_DLQ_RETENTION_INTERVAL    how often retention runs (default 1m)
                    Rules, alert thresholds, the alert webhook and retention are dlq.* keys of the config table
                    (ordo.set_config); like every config key they may also be set per node, e.g. ORDO_DLQ_BATCH_SIZE=50.""");
            return 0;
        }
        if (args.length > 0) {
            System.err.println("ordo dlq: unexpected argument '" + args[0] + "'; see ./ordo dlq --help");
            return 2;
        }
        String url = System.getenv("ORDO_DATABASE_URL");
        if (url == null || url.isBlank()) {
            System.err.println("ordo dlq: set ORDO_DATABASE_URL to the database to work on");
            return 2;
        }
        DlqSettings settings;
        try {
            Logging.configure(System.getenv());
            settings = DlqSettings.from(Config.create(), System.getenv(), "dlq-" + hostName() + "-" + ProcessHandle.current().pid());
        } catch (OrdoException e) {
            System.err.println("ordo dlq: " + e.getMessage());
            return 2;
        }
        try (StopSignal stop = StopSignal.install()) {
            return serve(url, settings, stop);
        }
    }

    private static int serve(String url, DlqSettings settings, StopSignal stop) throws InterruptedException {
        Clock clock = Clock.systemUTC();
        Database database;
        try {
            database = Database.connect(DatabaseSettings.fromUrl(url).withMaxPoolSize(8).withApplicationName("ordo-dlq-" + settings.nodeId()));
        } catch (RuntimeException e) {
            System.err.println("ordo dlq: cannot connect: " + e.getMessage());
            return e instanceof io.ordo.InvalidInputException ? 2 : 1;
        }
        Telemetry telemetry = Telemetry.fromEnvironment("ordo-dlq", System.getenv());
        PostgresCoordination coordination = new PostgresCoordination(database, clock);
        LiveConfig config = null;
        DlqServer server;
        try {
            config = LiveConfig.start(new ConfigStore(database.dsl()), coordination, ConfigKeys.fromEnvironment(System.getenv()));
            config.onChange(LiveConfig.logLevelApplier());
            server = DlqServer.start(database, coordination, config, settings, telemetry, clock);
        } catch (RuntimeException e) {
            if (config != null) {
                config.close();
            }
            coordination.close();
            telemetry.close();
            database.close();
            System.err.println("ordo dlq: could not start: " + e.getMessage());
            return e instanceof io.ordo.InvalidInputException ? 2 : 1;
        }
        System.out.println("ordo dlq: node " + settings.nodeId() + " running"
                + (server.port() >= 0 ? ", admin endpoints on port " + server.port() + " at /v1/dlq" : ""));
        String signal = stop.await();
        System.out.println("ordo dlq: " + signal + ": node " + settings.nodeId() + " is draining");
        server.close();
        config.close();
        coordination.close();
        telemetry.close();
        database.close();
        System.out.println("ordo dlq: node " + settings.nodeId() + " stopped");
        return 0;
    }

    private static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName().replaceAll("[^A-Za-z0-9_.:-]", "-");
        } catch (java.net.UnknownHostException e) {
            return "localhost";
        }
    }
}

package io.ordo.orchestrator;

import io.ordo.OrdoException;
import io.ordo.db.Database;
import io.ordo.db.DatabaseSettings;
import io.ordo.telemetry.Logging;

import java.io.PrintStream;
import java.util.Map;

/**
 * {@code ordo migrate}: applies the pending migrations to {@code ORDO_DATABASE_URL} and exits. This is the migration
 * job of a deployment (a docker compose service, a Kubernetes Job), run once before the orchestrators start with
 * {@code ORDO_MIGRATE=false}. Runs that overlap are safe: Flyway serializes them on a lock in the database. The role
 * needs CREATEROLE (migrations create the {@code ordo_*} group roles).
 */
public final class MigrateCommand {
    private MigrateCommand() {
    }

    /** Returns the process exit code: 0 when the schema is current, 2 without a database URL, 1 when migrating failed. */
    public static int run(Map<String, String> env, PrintStream out, PrintStream err) {
        String url = env.get("ORDO_DATABASE_URL");
        if (url == null || url.isBlank()) {
            err.println("ordo migrate: set ORDO_DATABASE_URL to the database to migrate");
            return 2;
        }
        try {
            Logging.configure(env);
            try (Database db = Database.connect(DatabaseSettings.fromUrl(url).withMaxPoolSize(2).withApplicationName("ordo-migrate"))) {
                db.migrate();
                out.println("ordo migrate: the database is at the latest schema version");
            }
            return 0;
        } catch (OrdoException e) {
            err.println("ordo migrate: " + e.getMessage());
            return e instanceof io.ordo.InvalidInputException ? 2 : 1;
        } catch (RuntimeException e) {
            err.println("ordo migrate: failed: " + e.getMessage());
            return 1;
        }
    }
}

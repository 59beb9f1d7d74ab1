package io.ordo.deploy;

import io.ordo.db.Database;
import io.ordo.db.DatabaseSettings;
import io.ordo.testing.PostgresServer;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The migration job of a deployment ({@code migrate} of the orchestrator image, a compose service, a Kubernetes Job):
 * on an empty database, two of them at once (a retried Job, a second {@code compose up}) both exit 0 and leave one
 * current schema, since Flyway serializes them on its lock.
 */
class MigrationJobTest {
    private static final Path LOGS = Path.of("target", "migration-job");

    @Test
    void two_migration_jobs_racing_on_an_empty_database_both_exit_0_and_leave_one_current_schema() throws Exception {
        DatabaseSettings admin = PostgresServer.get().admin();
        String name = "ordo_t_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
        execute(admin, "create database " + name);
        try {
            DatabaseSettings target = admin.withDatabase(name);
            Map<String, String> env = Map.of("ORDO_DATABASE_URL", OrdoProcess.jdbcUrl(target));
            try (OrdoProcess a = OrdoProcess.start("migrate-a", -1, "io.ordo.orchestrator.Main", List.of("migrate"), env, LOGS);
                 OrdoProcess b = OrdoProcess.start("migrate-b", -1, "io.ordo.orchestrator.Main", List.of("migrate"), env, LOGS)) {
                assertThat(a.awaitExit(Duration.ofSeconds(90))).as("migrate-a; its log ends with:\n" + a.tail()).isZero();
                assertThat(b.awaitExit(Duration.ofSeconds(90))).as("migrate-b; its log ends with:\n" + b.tail()).isZero();
            }
            try (Database db = Database.connect(target.withMaxPoolSize(2).withApplicationName("ordo-test"))) {
                assertThat(db.pendingMigrations()).as("migrations left to apply").isZero();
                assertThat(db.dsl().fetchOne("select count(*) from ordo.flyway_schema_history where not success").get(0, Long.class))
                        .as("failed migrations").isZero();
            }
        } finally {
            execute(admin, "drop database if exists " + name + " with (force)");
        }
    }

    private static void execute(DatabaseSettings admin, String sql) throws Exception {
        Properties props = new Properties();
        if (admin.user() != null) {
            props.setProperty("user", admin.user());
        }
        if (admin.password() != null) {
            props.setProperty("password", admin.password());
        }
        try (Connection c = DriverManager.getConnection(admin.jdbcUrl(), props); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }
}

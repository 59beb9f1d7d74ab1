package io.ordo.testing;

import io.ordo.db.Database;
import io.ordo.db.DatabaseSettings;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;

/**
 * Gives each test class a fresh, migrated database of its own on the {@link PostgresServer}, injected
 * as a {@link TestDatabase} parameter. Databases are cloned from a template migrated once per JVM,
 * so a new one costs a file copy, not a migration run.
 */
public final class OrdoDatabaseExtension implements BeforeAllCallback, AfterAllCallback, ParameterResolver {
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(OrdoDatabaseExtension.class);
    private static String template;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        context.getStore(NAMESPACE).put(TestDatabase.class, create());
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        TestDatabase db = context.getStore(NAMESPACE).remove(TestDatabase.class, TestDatabase.class);
        if (db != null) {
            db.close();
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext extension) {
        return parameter.getParameter().getType() == TestDatabase.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext extension) {
        ExtensionContext c = extension;
        while (c != null) {
            TestDatabase db = c.getStore(NAMESPACE).get(TestDatabase.class, TestDatabase.class);
            if (db != null) {
                return db;
            }
            c = c.getParent().orElse(null);
        }
        throw new IllegalStateException("no test database: is the class annotated with @ExtendWith(OrdoDatabaseExtension.class)?");
    }

    /** Creates a fresh migrated database outside of JUnit (benchmarks, tools). Close it to drop it. */
    public static synchronized TestDatabase create() throws SQLException {
        PostgresServer server = PostgresServer.get();
        DatabaseSettings admin = server.admin();
        if (template == null) {
            template = createTemplate(admin);
        }
        String name = "ordo_t_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
        try (Connection c = DriverManager.getConnection(admin.jdbcUrl(), TestDatabase.credentials(admin));
             Statement st = c.createStatement()) {
            st.execute("create database " + name + " template " + template);
        }
        return new TestDatabase(name, admin.withDatabase(name), admin);
    }

    private static String createTemplate(DatabaseSettings admin) throws SQLException {
        String name = "ordo_tpl_" + ProcessHandle.current().pid() + "_" + UUID.randomUUID().toString().substring(0, 8);
        try (Connection c = DriverManager.getConnection(admin.jdbcUrl(), TestDatabase.credentials(admin));
             Statement st = c.createStatement()) {
            st.execute("create database " + name);
        }
        try (Database db = Database.connect(admin.withDatabase(name).withMaxPoolSize(2).withApplicationName("ordo-migrate"))) {
            db.migrate();
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try (Connection c = DriverManager.getConnection(admin.jdbcUrl(), TestDatabase.credentials(admin));
                 Statement st = c.createStatement()) {
                st.execute("drop database if exists " + name + " with (force)");
            } catch (SQLException ignored) {
                // the server may be gone already (embedded PostgreSQL stops in its own hook)
            }
        }));
        return name;
    }
}

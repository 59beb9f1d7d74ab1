package io.ordo.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.flywaydb.core.Flyway;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.conf.RenderQuotedNames;
import org.jooq.conf.Settings;
import org.jooq.impl.DSL;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/**
 * The connection pool, the jOOQ context and Flyway for one Ordo database.
 */
public final class Database implements AutoCloseable {
    static {
        // jOOQ prints a banner and a "tip of the day" on first use unless told not to
        System.setProperty("org.jooq.no-logo", "true");
        System.setProperty("org.jooq.no-tips", "true");
    }

    private final DatabaseSettings settings;
    private final HikariDataSource dataSource;
    private final DSLContext dsl;

    private Database(DatabaseSettings settings) {
        this.settings = settings;
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(settings.jdbcUrl());
        if (settings.user() != null) {
            config.setUsername(settings.user());
        }
        if (settings.password() != null) {
            config.setPassword(settings.password());
        }
        config.setMaximumPoolSize(settings.maxPoolSize());
        config.setMinimumIdle(Math.min(2, settings.maxPoolSize()));
        config.setPoolName(settings.applicationName());
        config.addDataSourceProperty("ApplicationName", settings.applicationName());
        config.addDataSourceProperty("reWriteBatchedInserts", "true");
        config.addDataSourceProperty("tcpKeepAlive", "true");
        config.addDataSourceProperty("socketFactory", PromptSocketFactory.class.getName());
        config.setTransactionIsolation("TRANSACTION_READ_COMMITTED");
        this.dataSource = new HikariDataSource(config);
        this.dsl = DSL.using(new KnownIsolationDataSource(dataSource), SQLDialect.POSTGRES, jooqSettings());
    }

    public static Database connect(DatabaseSettings settings) {
        return new Database(settings);
    }

    /** jOOQ settings shared by every context Ordo creates. */
    public static Settings jooqSettings() {
        return new Settings()
                .withRenderQuotedNames(RenderQuotedNames.EXPLICIT_DEFAULT_UNQUOTED)
                .withExecuteLogging(false)
                .withRenderSchema(true);
    }

    /** Applies every pending migration from {@code classpath:db/migration}. Safe to call from many nodes at once. */
    public static void migrate(DataSource dataSource) {
        flyway(dataSource).migrate();
    }

    /** How many migrations on the classpath this database has not applied yet (0 when its schema is current). */
    public int pendingMigrations() {
        return flyway(dataSource).info().pending().length;
    }

    private static Flyway flyway(DataSource dataSource) {
        return Flyway.configure()
                .dataSource(dataSource)
                .locations("classpath:db/migration")
                .schemas("ordo")
                .createSchemas(true)
                .table("flyway_schema_history")
                .outputQueryResults(false)
                .load();
    }

    public Database migrate() {
        migrate(dataSource);
        return this;
    }

    public DataSource dataSource() {
        return dataSource;
    }

    public DSLContext dsl() {
        return dsl;
    }

    public DatabaseSettings settings() {
        return settings;
    }

    /** A connection outside the pool, for sessions that must stay put (LISTEN, advisory locks). */
    public Connection openDedicatedConnection(String purpose) throws SQLException {
        Properties props = new Properties();
        if (settings.user() != null) {
            props.setProperty("user", settings.user());
        }
        if (settings.password() != null) {
            props.setProperty("password", settings.password());
        }
        props.setProperty("ApplicationName", settings.applicationName() + ":" + purpose);
        props.setProperty("tcpKeepAlive", "true");
        props.setProperty("socketFactory", PromptSocketFactory.class.getName());
        return DriverManager.getConnection(settings.jdbcUrl(), props);
    }

    @Override
    public void close() {
        dataSource.close();
    }
}

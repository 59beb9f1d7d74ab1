package io.ordo.testing;

import io.ordo.db.Database;
import io.ordo.db.DatabaseSettings;
import org.jooq.DSLContext;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/**
 * A freshly migrated database of its own for one test class. Dropped when the class finishes.
 */
public final class TestDatabase implements AutoCloseable {
    private final String name;
    private final DatabaseSettings settings;
    private final DatabaseSettings admin;
    private Database database;

    TestDatabase(String name, DatabaseSettings settings, DatabaseSettings admin) {
        this.name = name;
        this.settings = settings;
        this.admin = admin;
    }

    public String name() {
        return name;
    }

    /** Settings to open more pools on this database (for example one per simulated node). */
    public DatabaseSettings settings() {
        return settings;
    }

    /** A shared pool on this database, opened on first use. */
    public synchronized Database database() {
        if (database == null) {
            database = Database.connect(settings.withMaxPoolSize(20).withApplicationName("ordo-test"));
        }
        return database;
    }

    public DataSource dataSource() {
        return database().dataSource();
    }

    public DSLContext dsl() {
        return database().dsl();
    }

    /** A new connection outside any pool. */
    public Connection connect() throws SQLException {
        return connect(settings.user(), settings.password());
    }

    /** A new connection as another role. */
    public Connection connect(String user, String password) throws SQLException {
        Properties props = new Properties();
        if (user != null) {
            props.setProperty("user", user);
        }
        if (password != null) {
            props.setProperty("password", password);
        }
        // another user replaces the URL's; without one, the URL's own user stays (an embedded server's URL carries it)
        String url = user == null ? settings.jdbcUrl()
                : settings.jdbcUrl().replaceAll("([?&])user=[^&]*&?", "$1").replaceAll("[?&]$", "");
        return DriverManager.getConnection(url, props);
    }

    /** Terminates every session on this database whose application_name starts with the prefix. Returns how many. */
    public int terminateSessions(String applicationNamePrefix) throws SQLException {
        try (Connection c = DriverManager.getConnection(admin.jdbcUrl(), credentials(admin));
             var ps = c.prepareStatement("select count(pg_terminate_backend(pid)) from pg_stat_activity"
                     + " where datname = ? and application_name like ? and pid <> pg_backend_pid()")) {
            ps.setString(1, name);
            ps.setString(2, applicationNamePrefix.replace("%", "\\%") + "%");
            try (var rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    static Properties credentials(DatabaseSettings s) {
        Properties props = new Properties();
        if (s.user() != null) {
            props.setProperty("user", s.user());
        }
        if (s.password() != null) {
            props.setProperty("password", s.password());
        }
        return props;
    }

    @Override
    public synchronized void close() throws SQLException {
        if (database != null) {
            database.close();
            database = null;
        }
        try (Connection c = DriverManager.getConnection(admin.jdbcUrl(), credentials(admin));
             Statement st = c.createStatement()) {
            st.execute("drop database if exists " + name + " with (force)");
        }
    }
}

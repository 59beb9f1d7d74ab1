package io.ordo.http.health;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;
import io.ordo.db.Database;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/** Health checks of an Ordo database and its connection pool. */
public final class DatabaseChecks {
    private DatabaseChecks() {
    }

    /** Up when a pooled connection answers within two seconds. */
    public static HealthCheck reachable(Database db) {
        return HealthCheck.of("database", () -> {
            try (Connection c = db.dataSource().getConnection()) {
                return c.isValid(2) ? HealthResult.up("reachable") : HealthResult.down("connection did not answer within 2 s");
            } catch (SQLException e) {
                return HealthResult.down("unreachable: " + e.getMessage());
            }
        });
    }

    /**
     * Up when every migration this build knows has been applied. Once current, the answer is kept for
     * {@code recheck}: only a newer build can make it stale.
     */
    public static HealthCheck migrationsCurrent(Database db, Duration recheck, Clock clock) {
        return new HealthCheck() {
            private volatile Instant currentUntil = Instant.MIN;

            @Override
            public String name() {
                return "migrations";
            }

            @Override
            public HealthResult check() {
                if (clock.instant().isBefore(currentUntil)) {
                    return HealthResult.up("no pending migrations");
                }
                int pending = db.pendingMigrations();
                if (pending > 0) {
                    return HealthResult.down(pending + " pending migration(s)");
                }
                currentUntil = clock.instant().plus(recheck);
                return HealthResult.up("no pending migrations");
            }
        };
    }

    /** Down when requests queue for a connection: more threads wait than the pool holds. */
    public static HealthCheck poolNotSaturated(Database db) {
        return HealthCheck.of("connection_pool", () -> {
            HikariPoolMXBean pool = pool(db);
            if (pool == null) {
                return HealthResult.up("not a Hikari pool");
            }
            int waiting = pool.getThreadsAwaitingConnection();
            int max = db.settings().maxPoolSize();
            String detail = pool.getActiveConnections() + " of " + max + " connections busy, " + waiting + " waiting";
            return waiting > max ? HealthResult.down("overloaded: " + detail) : HealthResult.up(detail);
        });
    }

    /** Connection pool usage: active, idle, total, waiting and max. */
    public static Map<String, Object> poolUsage(Database db) {
        Map<String, Object> out = new LinkedHashMap<>();
        HikariPoolMXBean pool = pool(db);
        out.put("max", db.settings().maxPoolSize());
        if (pool != null) {
            out.put("active", pool.getActiveConnections());
            out.put("idle", pool.getIdleConnections());
            out.put("total", pool.getTotalConnections());
            out.put("waiting", pool.getThreadsAwaitingConnection());
        }
        return out;
    }

    private static HikariPoolMXBean pool(Database db) {
        return db.dataSource() instanceof HikariDataSource hikari ? hikari.getHikariPoolMXBean() : null;
    }
}

package io.ordo.coordination;

import io.ordo.db.Database;
import org.postgresql.PGConnection;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The dedicated session on which one node campaigns and, once elected, holds the leader advisory lock.
 * While it leads, a watcher thread keeps reading the socket, so a terminated session (pg_terminate_backend,
 * a restarted server) is noticed within {@value #WATCH_MILLIS} ms and the leadership is dropped at once;
 * a probe query every {@link #PROBE} catches connections that silently stop answering.
 */
final class LeaderSession implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(LeaderSession.class.getName());
    private static final int WATCH_MILLIS = 50;
    private static final Duration PROBE = Duration.ofSeconds(1);
    private static final int NETWORK_TIMEOUT_MILLIS = 5000;

    private final Database database;
    private final String nodeId;
    private final ReentrantLock lock = new ReentrantLock(true);
    private Connection connection;
    private volatile Leadership leadership;
    private volatile boolean ended;

    LeaderSession(Database database, String nodeId) {
        this.database = database;
        this.nodeId = nodeId;
    }

    /** Tries to take the leader lock; the session is ended (and must be replaced) if this throws. */
    Optional<Leadership> campaign(Instant now) throws SQLException {
        lock.lock();
        try {
            if (ended) {
                throw new SQLException("leader session of node " + nodeId + " has ended");
            }
            if (leadership != null) {
                return Optional.of(leadership);
            }
            try {
                if (connection == null) {
                    connection = database.openDedicatedConnection("leader");
                    connection.setNetworkTimeout(Runnable::run, NETWORK_TIMEOUT_MILLIS);
                }
                try (PreparedStatement ps = connection.prepareStatement("select node_id, term, since from ordo.try_become_leader(?, ?)")) {
                    ps.setString(1, nodeId);
                    ps.setObject(2, OffsetDateTime.ofInstant(now, ZoneOffset.UTC));
                    try (ResultSet rs = ps.executeQuery()) {
                        if (!rs.next()) {
                            return Optional.empty();
                        }
                        leadership = new Leadership(rs.getString(1), rs.getLong(2), rs.getObject(3, OffsetDateTime.class).toInstant());
                    }
                }
            } catch (SQLException e) {
                // the lock may have been taken before the failure; ending the session releases it
                end("election failed: " + e.getMessage());
                throw e;
            }
            Thread.ofPlatform().daemon().name("ordo-leader-watch-" + nodeId).start(this::watch);
            return Optional.of(leadership);
        } finally {
            lock.unlock();
        }
    }

    boolean holds(Leadership l) {
        return !ended && l.equals(leadership);
    }

    boolean ended() {
        return ended;
    }

    Leadership leadership() {
        return leadership;
    }

    private void watch() {
        long lastProbe = System.nanoTime();
        while (!ended) {
            lock.lock();
            try {
                if (ended) {
                    return;
                }
                // returns after WATCH_MILLIS, or throws as soon as the server ends the session
                connection.unwrap(PGConnection.class).getNotifications(WATCH_MILLIS);
                if (System.nanoTime() - lastProbe > PROBE.toNanos()) {
                    try (Statement st = connection.createStatement()) {
                        st.execute("select 1");
                    }
                    lastProbe = System.nanoTime();
                }
            } catch (SQLException e) {
                LOG.log(System.Logger.Level.WARNING, "node " + nodeId + " lost its leader session (term "
                        + (leadership == null ? "-" : leadership.term()) + "): " + e.getMessage());
                end("session lost");
            } finally {
                lock.unlock();
            }
        }
    }

    private void end(String why) {
        ended = true;
        Connection c = connection;
        connection = null;
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // broken already
            }
        }
        LOG.log(System.Logger.Level.DEBUG, "leader session of node " + nodeId + " ended: " + why);
    }

    /** Ends the session, which releases the leader lock if it was held. */
    @Override
    public void close() {
        lock.lock();
        try {
            if (!ended) {
                if (leadership != null && connection != null) {
                    // released before the socket closes, so another node can be elected at once
                    try (Statement st = connection.createStatement()) {
                        st.execute("select pg_advisory_unlock(1869767791, 1)");
                    } catch (SQLException ignored) {
                        // closing ends the session and releases the lock anyway
                    }
                }
                end("closed");
            }
        } finally {
            lock.unlock();
        }
    }
}

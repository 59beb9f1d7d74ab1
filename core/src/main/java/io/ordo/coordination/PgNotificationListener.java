package io.ordo.coordination;

import io.ordo.db.Database;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One dedicated connection that LISTENs on every channel with a subscriber and hands notifications to
 * {@link Subscribers}. It follows the subscriber set (LISTEN/UNLISTEN) and reconnects with backoff when the
 * connection drops; notifications sent while it is disconnected are lost.
 */
final class PgNotificationListener implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PgNotificationListener.class.getName());
    private static final int POLL_MILLIS = 50;

    private final Database database;
    private final Subscribers subscribers;
    private final Set<String> listening = ConcurrentHashMap.newKeySet();
    private final Object changed = new Object();
    private final Thread thread;
    private volatile boolean running = true;
    private volatile Connection connection;

    PgNotificationListener(Database database, Subscribers subscribers) {
        this.database = database;
        this.subscribers = subscribers;
        try {
            this.connection = database.openDedicatedConnection("coordination-listener");
        } catch (SQLException e) {
            LOG.log(System.Logger.Level.WARNING, "coordination listener cannot connect yet, will retry: " + e.getMessage());
        }
        this.thread = Thread.ofPlatform().daemon().name("ordo-coordination-listener").start(this::loop);
    }

    boolean connected() {
        return connection != null;
    }

    /** Waits until the channel is LISTENed on the live connection; returns whether it is. */
    boolean awaitListening(String channel, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (changed) {
            while (!listening.contains(channel)) {
                long remaining = deadline - System.nanoTime();
                if (remaining <= 0) {
                    return false;
                }
                changed.wait(Math.max(1, remaining / 1_000_000));
            }
            return true;
        }
    }

    private void loop() {
        Duration backoff = Duration.ofMillis(100);
        while (running) {
            try {
                if (connection == null) {
                    connection = database.openDedicatedConnection("coordination-listener");
                    backoff = Duration.ofMillis(100);
                }
                follow(connection);
                PGNotification[] notifications = connection.unwrap(PGConnection.class).getNotifications(POLL_MILLIS);
                if (notifications != null) {
                    for (PGNotification n : notifications) {
                        subscribers.deliver(n.getName(), n.getParameter());
                    }
                }
            } catch (SQLException e) {
                if (!running) {
                    break;
                }
                LOG.log(System.Logger.Level.WARNING, "coordination listener lost its connection, reconnecting in "
                        + backoff.toMillis() + " ms: " + e.getMessage());
                closeConnection();
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    break;
                }
                backoff = backoff.multipliedBy(2).compareTo(Duration.ofSeconds(5)) > 0 ? Duration.ofSeconds(5) : backoff.multipliedBy(2);
            }
        }
        closeConnection();
    }

    /** LISTENs on channels that gained a subscriber and UNLISTENs those that lost their last one. */
    private void follow(Connection c) throws SQLException {
        for (String channel : subscribers.channels()) {
            if (!listening.contains(channel)) {
                try (Statement st = c.createStatement()) {
                    // channel names are validated by Names.channel: lower-case letters, digits, '_' and '.'
                    st.execute("LISTEN \"" + Names.channel(channel) + "\"");
                }
                synchronized (changed) {
                    listening.add(channel);
                    changed.notifyAll();
                }
            }
        }
        for (String channel : listening) {
            if (!subscribers.has(channel)) {
                try (Statement st = c.createStatement()) {
                    st.execute("UNLISTEN \"" + Names.channel(channel) + "\"");
                }
                listening.remove(channel);
            }
        }
    }

    private void closeConnection() {
        Connection c = connection;
        connection = null;
        listening.clear();
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // already broken
            }
        }
    }

    @Override
    public void close() {
        running = false;
        try {
            thread.join(Duration.ofSeconds(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

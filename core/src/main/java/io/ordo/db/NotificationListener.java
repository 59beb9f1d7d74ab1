package io.ordo.db;

import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

import javax.sql.DataSource;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * One dedicated connection that LISTENs on every channel its {@link Sink} wants and hands it the
 * notifications. It follows the sink's channel set (LISTEN/UNLISTEN) and reconnects with backoff when the
 * connection drops; notifications sent while it is disconnected are lost, so the sink is told when it
 * reconnects. The coordination port's pub/sub and the queues' wake-ups both run on it.
 */
public final class NotificationListener implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(NotificationListener.class.getName());
    private static final int POLL_MILLIS = 50;
    /** Channel names are quoted identifiers; allow only what needs no escaping. */
    private static final Pattern CHANNEL = Pattern.compile("[a-z][a-z0-9_.]{0,62}");

    /** Where notifications go. */
    public interface Sink {
        /** The channels to LISTEN on now. */
        Set<String> channels();

        void deliver(String channel, String payload);

        /** The connection was (re)established: anything sent meanwhile was missed. */
        default void reconnected() {
        }
    }

    /** Opens the listener's connection. */
    @FunctionalInterface
    private interface Connector {
        Connection open() throws SQLException;
    }

    private final Connector connector;
    private final Sink subscribers;
    private final String purpose;
    private final Set<String> listening = ConcurrentHashMap.newKeySet();
    private final Object changed = new Object();
    private final Thread thread;
    private volatile boolean running = true;
    private volatile Connection connection;

    public NotificationListener(Database database, Sink sink, String purpose) {
        this(() -> database.openDedicatedConnection(purpose), sink, purpose);
    }

    /**
     * Listens on a connection borrowed from {@code dataSource} and held until {@link #close()}, which UNLISTENs before
     * giving it back to the pool.
     */
    public NotificationListener(DataSource dataSource, Sink sink, String purpose) {
        this(dataSource::getConnection, sink, purpose);
    }

    private NotificationListener(Connector connector, Sink sink, String purpose) {
        this.connector = connector;
        this.subscribers = sink;
        this.purpose = purpose;
        try {
            this.connection = connector.open();
        } catch (SQLException e) {
            LOG.log(System.Logger.Level.WARNING, purpose + " cannot connect yet, will retry: " + e.getMessage());
        }
        this.thread = Thread.ofPlatform().daemon().name("ordo-" + purpose).start(this::loop);
    }

    public boolean connected() {
        return connection != null;
    }

    /** Whether the channel is LISTENed on the live connection. */
    public boolean isListening(String channel) {
        return listening.contains(channel);
    }

    /** Waits until the channel is LISTENed on the live connection; returns whether it is. */
    public boolean awaitListening(String channel, Duration timeout) throws InterruptedException {
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
                    connection = connector.open();
                    backoff = Duration.ofMillis(100);
                    subscribers.reconnected();
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
                LOG.log(System.Logger.Level.WARNING, purpose + " lost its connection, reconnecting in "
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
                    st.execute("LISTEN \"" + checked(channel) + "\"");
                }
                synchronized (changed) {
                    listening.add(channel);
                    changed.notifyAll();
                }
            }
        }
        for (String channel : listening) {
            if (!subscribers.channels().contains(channel)) {
                try (Statement st = c.createStatement()) {
                    st.execute("UNLISTEN \"" + checked(channel) + "\"");
                }
                listening.remove(channel);
            }
        }
    }

    private static String checked(String channel) {
        if (!CHANNEL.matcher(channel).matches()) {
            throw new IllegalArgumentException("channel must match " + CHANNEL.pattern() + ", got " + channel);
        }
        return channel;
    }

    private void closeConnection() {
        Connection c = connection;
        connection = null;
        listening.clear();
        if (c != null) {
            try {
                if (!running) {
                    // a pooled connection must not keep listening once it is back in the pool
                    try (Statement st = c.createStatement()) {
                        st.execute("UNLISTEN *");
                    }
                }
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

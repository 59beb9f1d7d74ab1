package io.ordo.queue;

import io.ordo.db.Database;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.List;

/**
 * Turns PostgreSQL NOTIFY into wake-ups. One dedicated connection LISTENs on {@code ordo_<queue>} for
 * every subscribed queue; each notification signals that queue's {@link WakeSignal}s. When the
 * connection drops it reconnects and wakes everybody, since notifications may have been missed.
 */
public final class QueueListener implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(QueueListener.class.getName());

    private final Database database;
    private final Map<String, List<WakeSignal>> signals = new ConcurrentHashMap<>();
    private final Set<String> listening = ConcurrentHashMap.newKeySet();
    private final Thread thread;
    private volatile boolean running = true;
    private volatile Connection connection;

    public QueueListener(Database database) {
        this.database = database;
        this.thread = Thread.ofPlatform().daemon().name("ordo-queue-listener").start(this::loop);
    }

    /** Returns a signal that fires whenever a message is sent to {@code queue}. */
    public WakeSignal subscribe(String queue) {
        WakeSignal signal = new WakeSignal();
        subscribe(queue, signal);
        return signal;
    }

    /** Signals {@code signal} whenever a message is sent to {@code queue}. */
    public void subscribe(String queue, WakeSignal signal) {
        signals.computeIfAbsent(queue, q -> new CopyOnWriteArrayList<>()).add(signal);
    }

    /** Whether the listener currently holds a LISTEN for the queue (a wake-up will arrive). */
    public boolean isListening(String queue) {
        return listening.contains(queue);
    }

    private void loop() {
        Duration backoff = Duration.ofMillis(100);
        while (running) {
            try {
                if (connection == null) {
                    connection = database.openDedicatedConnection("listener");
                    listening.clear();
                    wakeAll();
                    backoff = Duration.ofMillis(100);
                }
                for (String queue : signals.keySet()) {
                    if (listening.add(queue)) {
                        try (Statement st = connection.createStatement()) {
                            st.execute("LISTEN " + channel(queue));
                        }
                        // anything sent before the LISTEN took effect would otherwise go unnoticed
                        wake(queue);
                    }
                }
                PGNotification[] notifications = connection.unwrap(PGConnection.class).getNotifications(200);
                if (notifications != null) {
                    for (PGNotification n : notifications) {
                        if (n.getName().startsWith("ordo_")) {
                            wake(n.getName().substring(5));
                        }
                    }
                }
            } catch (SQLException e) {
                if (!running) {
                    break;
                }
                LOG.log(System.Logger.Level.WARNING, "queue listener lost its connection, reconnecting in "
                        + backoff.toMillis() + " ms: " + e.getMessage());
                closeQuietly();
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    break;
                }
                backoff = backoff.multipliedBy(2).compareTo(Duration.ofSeconds(5)) > 0 ? Duration.ofSeconds(5) : backoff.multipliedBy(2);
            }
        }
        closeQuietly();
    }

    private static String channel(String queue) {
        // queue names are validated by the database (^[a-z][a-z0-9_]{0,47}$); refuse anything else here too
        if (!queue.matches("[a-z][a-z0-9_]{0,47}")) {
            throw new IllegalArgumentException("invalid queue name: " + queue);
        }
        return "ordo_" + queue;
    }

    private void wake(String queue) {
        List<WakeSignal> list = signals.get(queue);
        if (list != null) {
            list.forEach(WakeSignal::signal);
        }
    }

    private void wakeAll() {
        signals.values().forEach(list -> list.forEach(WakeSignal::signal));
    }

    private void closeQuietly() {
        Connection c = connection;
        connection = null;
        listening.clear();
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // the connection is already broken
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

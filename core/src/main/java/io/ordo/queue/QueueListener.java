package io.ordo.queue;

import io.ordo.db.Database;
import io.ordo.db.NotificationListener;

import javax.sql.DataSource;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Turns PostgreSQL NOTIFY into wake-ups: one dedicated connection LISTENs on {@code ordo_<queue>} for every
 * subscribed queue, and each notification signals that queue's {@link WakeSignal}s. After a reconnect it
 * wakes everybody, since notifications may have been missed; consumers poll with backoff as the fallback.
 */
public final class QueueListener implements AutoCloseable {
    private final Map<String, List<WakeSignal>> signals = new ConcurrentHashMap<>();
    private final NotificationListener listener;

    /** Listens on a dedicated connection of the database, outside its pool. */
    public QueueListener(Database database) {
        this.listener = new NotificationListener(database, sink(), "queue-listener");
    }

    /**
     * Listens on a connection borrowed from {@code dataSource} and held until {@link #close()} (size the pool for it),
     * for callers that have a pool but no {@link Database}, such as a worker given a {@code DataSource}.
     */
    public QueueListener(DataSource dataSource) {
        this.listener = new NotificationListener(dataSource, sink(), "queue-listener");
    }

    private NotificationListener.Sink sink() {
        return new NotificationListener.Sink() {
            @Override
            public Set<String> channels() {
                return signals.keySet();
            }

            @Override
            public void deliver(String channel, String payload) {
                wake(channel);
            }

            @Override
            public void reconnected() {
                signals.values().forEach(list -> list.forEach(WakeSignal::signal));
            }
        };
    }

    /** Returns a signal that fires whenever a message is sent to {@code queue}. */
    public WakeSignal subscribe(String queue) {
        WakeSignal signal = new WakeSignal();
        subscribe(queue, signal);
        return signal;
    }

    /** Signals {@code signal} whenever a message is sent to {@code queue}, and once now. */
    public void subscribe(String queue, WakeSignal signal) {
        signals.computeIfAbsent(channel(queue), c -> new CopyOnWriteArrayList<>()).add(signal);
        // anything sent before the LISTEN takes effect would otherwise go unnoticed
        signal.signal();
    }

    /** Whether the listener currently holds a LISTEN for the queue (a wake-up will arrive). */
    public boolean isListening(String queue) {
        return listener.isListening(channel(queue));
    }

    private static String channel(String queue) {
        // queue names are validated by the database (^[a-z][a-z0-9_]{0,47}$); refuse anything else here too
        if (queue == null || !queue.matches("[a-z][a-z0-9_]{0,47}")) {
            throw new IllegalArgumentException("invalid queue name: " + queue);
        }
        return "ordo_" + queue;
    }

    private void wake(String channel) {
        List<WakeSignal> list = signals.get(channel);
        if (list != null) {
            list.forEach(WakeSignal::signal);
        }
    }

    @Override
    public void close() {
        listener.close();
    }
}

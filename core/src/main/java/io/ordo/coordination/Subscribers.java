package io.ordo.coordination;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/** The handlers of each channel and the one thread that delivers to them, shared by both adapters. */
final class Subscribers implements AutoCloseable, io.ordo.db.NotificationListener.Sink {
    private static final System.Logger LOG = System.getLogger(Subscribers.class.getName());

    private final Map<String, List<Handler>> byChannel = new ConcurrentHashMap<>();
    private final ExecutorService delivery;
    private final AtomicLong delivered = new AtomicLong();

    Subscribers(String threadName) {
        this.delivery = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon().name(threadName).factory());
    }

    Subscription add(String channel, Consumer<String> handler, Runnable onClose) {
        Handler h = new Handler(channel, handler, onClose);
        byChannel.computeIfAbsent(channel, c -> new CopyOnWriteArrayList<>()).add(h);
        return h;
    }

    /** Channels that have at least one handler. */
    @Override
    public Set<String> channels() {
        return byChannel.keySet();
    }

    boolean has(String channel) {
        List<Handler> list = byChannel.get(channel);
        return list != null && !list.isEmpty();
    }

    /** Hands the payload to the channel's current handlers, in order, on the delivery thread. */
    @Override
    public void deliver(String channel, String payload) {
        List<Handler> list = byChannel.get(channel);
        if (list == null || list.isEmpty()) {
            return;
        }
        List<Handler> snapshot = List.copyOf(list);
        try {
            delivery.execute(() -> {
                for (Handler h : snapshot) {
                    if (h.open) {
                        try {
                            h.handler.accept(payload);
                            delivered.incrementAndGet();
                        } catch (RuntimeException e) {
                            LOG.log(System.Logger.Level.WARNING, "handler of channel " + channel + " failed", e);
                        }
                    }
                }
            });
        } catch (RejectedExecutionException e) {
            // closed: nothing is delivered any more
        }
    }

    long count() {
        return byChannel.values().stream().mapToLong(List::size).sum();
    }

    long delivered() {
        return delivered.get();
    }

    @Override
    public void close() {
        delivery.shutdownNow();
        byChannel.clear();
    }

    private final class Handler implements Subscription {
        private final String channel;
        private final Consumer<String> handler;
        private final Runnable onClose;
        private volatile boolean open = true;

        Handler(String channel, Consumer<String> handler, Runnable onClose) {
            this.channel = channel;
            this.handler = handler;
            this.onClose = onClose;
        }

        @Override
        public String channel() {
            return channel;
        }

        @Override
        public void close() {
            if (open) {
                open = false;
                byChannel.computeIfPresent(channel, (c, list) -> {
                    list.remove(this);
                    return list.isEmpty() ? null : list;
                });
                onClose.run();
            }
        }
    }
}

package io.ordo.queue;

import java.time.Duration;

/**
 * What a consumer does between reads: after an empty read it waits for a NOTIFY wake-up, or for a
 * polling interval that doubles up to {@code max} while the queue stays empty; any non-empty read resets
 * the interval. Polling is the fallback, the wake-up is the main path.
 * <p>
 * Right after work the interval starts at {@link #RECHECK} instead of {@code min} and doubles from there.
 * Senders notify only a queue with no visible message ({@code ordo.notify_if_idle}), and a message sent
 * while this consumer's own read was in flight saw that read's messages still visible: it woke nobody,
 * and the read did not see it. Re-checking within a few milliseconds picks it up; waiting {@code min}
 * (50 ms by default) put that wait on every such message, which at a steady trickle of work was one in
 * ten (load-tests/RESULTS.md). An idle consumer pays a handful of extra empty reads per burst for it.
 */
public final class IdleWaiter {
    /** The first wait after a read that returned work. */
    static final Duration RECHECK = Duration.ofMillis(1);

    private final WakeSignal signal;
    private final Duration min;
    private final Duration max;
    private Duration current;

    public IdleWaiter(WakeSignal signal, Duration min, Duration max) {
        if (min.isNegative() || min.isZero() || max.compareTo(min) < 0) {
            throw new IllegalArgumentException("need 0 < min <= max, got min " + min + " and max " + max);
        }
        this.signal = signal;
        this.min = min;
        this.max = max;
        this.current = min;
    }

    /** Call after a read that returned work. */
    public void busy() {
        current = RECHECK.compareTo(min) < 0 ? RECHECK : min;
    }

    /**
     * Call after every read of up to {@code asked} messages that returned {@code read}: a full read goes straight on
     * ({@link #busy()}); a short one drained the queue, so it waits {@link #RECHECK} (or for a wake-up) rather than
     * reading an empty queue at once; an empty one waits the current backoff ({@link #idle()}).
     */
    public void afterRead(int read, int asked) throws InterruptedException {
        if (read == 0) {
            idle();
        } else {
            busy();
            if (read < asked) {
                idle();
            }
        }
    }

    /** Call after an empty read: waits for a wake-up or the current backoff. Returns whether it was woken. */
    public boolean idle() throws InterruptedException {
        boolean woken = signal.await(current);
        current = woken ? min : min(current.multipliedBy(2), max);
        return woken;
    }

    /** How long the next {@link #idle()} waits at most. */
    public Duration currentBackoff() {
        return current;
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }
}

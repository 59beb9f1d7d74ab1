package io.ordo.queue;

import java.time.Duration;

/**
 * What a consumer does between reads: after an empty read it waits for a NOTIFY wake-up, or for a
 * polling interval that doubles from {@code min} to {@code max} while the queue stays empty; any
 * non-empty read resets the interval. Polling is the fallback, the wake-up is the main path.
 */
public final class IdleWaiter {
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
        current = min;
    }

    /** Call after an empty read: waits for a wake-up or the current backoff. Returns whether it was woken. */
    public boolean idle() throws InterruptedException {
        boolean woken = signal.await(current);
        current = woken ? min : min(current.multipliedBy(2), max);
        return woken;
    }

    public Duration currentBackoff() {
        return current;
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }
}

package io.ordo.queue;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * What a consumer does between reads: after an empty read it waits for a NOTIFY wake-up, or for a
 * polling interval that doubles up to {@code max} while the queue stays empty; any non-empty read resets
 * the interval. Polling is the fallback, the wake-up is the main path.
 * <p>
 * Senders notify only a queue with no visible message ({@code ordo.notify_if_idle}), and a message sent
 * while this consumer's own read was in flight saw that read's messages still visible: it woke nobody,
 * and the read did not see it. Nor does any message sent after it wake anybody, for the first one is still
 * visible, so the wait until this consumer reads again is the wait of all of them. Two rules bound it:
 * <ul>
 *   <li>right after work the interval starts at {@link #RECHECK} instead of {@code min}: waiting {@code min}
 *       (50 ms by default) put that wait on every such message, which at a steady trickle of work was one in
 *       ten (load-tests/RESULTS.md);</li>
 *   <li>for {@link #LINGER} after its last work the consumer keeps re-checking at least every {@link #BUSY_CAP}.
 *       The sender's commit can follow its check by several milliseconds when the machine is busy, and
 *       re-checks that kept doubling had reached 32 ms by then: at 600 tasks/s on two cores, one task in a
 *       hundred waited about 50 ms for its first step (load-tests/RESULTS.md, 2026-12-07, later).</li>
 * </ul>
 * An idle consumer pays a few dozen extra empty reads after each burst for it.
 */
public final class IdleWaiter {
    /** The first wait after a read that returned work. */
    static final Duration RECHECK = Duration.ofMillis(1);
    /** The longest wait while the consumer is {@linkplain #LINGER lingering}. */
    static final Duration BUSY_CAP = Duration.ofMillis(4);
    /** How long after its last work a consumer waits no longer than {@link #BUSY_CAP}. */
    static final Duration LINGER = Duration.ofMillis(100);

    private final WakeSignal signal;
    private final Duration min;
    private final Duration max;
    private final LongSupplier nanoTime;
    private Duration current;
    private long lastWork;
    private boolean worked;

    public IdleWaiter(WakeSignal signal, Duration min, Duration max) {
        this(signal, min, max, System::nanoTime);
    }

    IdleWaiter(WakeSignal signal, Duration min, Duration max, LongSupplier nanoTime) {
        if (min.isNegative() || min.isZero() || max.compareTo(min) < 0) {
            throw new IllegalArgumentException("need 0 < min <= max, got min " + min + " and max " + max);
        }
        this.signal = signal;
        this.min = min;
        this.max = max;
        this.nanoTime = nanoTime;
        this.current = min;
    }

    /** Call after a read that returned work. */
    public void busy() {
        current = shorter(RECHECK, min);
        lastWork = nanoTime.getAsLong();
        worked = true;
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
        Duration next = woken ? min : shorter(current.multipliedBy(2), max);
        current = lingering() ? shorter(next, shorter(BUSY_CAP, max)) : next;
        return woken;
    }

    /** How long the next {@link #idle()} waits at most. */
    public Duration currentBackoff() {
        return current;
    }

    private boolean lingering() {
        return worked && nanoTime.getAsLong() - lastWork < LINGER.toNanos();
    }

    private static Duration shorter(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }
}

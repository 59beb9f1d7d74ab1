package io.ordo.engine;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * Exponential backoff: the delay before attempt n+1 is {@code min(max, initial × multiplier^(n-1))},
 * and with full jitter a uniform random value between zero and that.
 */
public record Backoff(Duration initial, double multiplier, Duration max, boolean jitter) {

    /** The upper bound of the delay after the given (1-based) failed attempt. */
    public Duration ceiling(int failedAttempt) {
        double ms = initial.toMillis() * Math.pow(multiplier, Math.max(0, failedAttempt - 1));
        return Duration.ofMillis((long) Math.min(ms, max.toMillis()));
    }

    public Duration delay(int failedAttempt, RandomGenerator random) {
        Duration ceiling = ceiling(failedAttempt);
        if (!jitter) {
            return ceiling;
        }
        return Duration.ofMillis(random.nextLong(ceiling.toMillis() + 1));
    }
}

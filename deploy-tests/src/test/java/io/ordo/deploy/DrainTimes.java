package io.ordo.deploy;

import java.time.Duration;

/**
 * How long each Ordo process may take to stop after SIGTERM, from the code, so that the platforms' grace periods
 * (Kubernetes terminationGracePeriodSeconds, compose stop_grace_period) can be checked against them.
 */
final class DrainTimes {
    /**
     * An orchestrator: the pass in hand and the lease release ({@code Orchestrator.close()}: 10 s), then the HTTP
     * server's grace for requests in progress ({@code HttpServers}: 5 s).
     */
    static final Duration ORCHESTRATOR = Duration.ofSeconds(15);
    /** A dlq-processor: the batch in hand ({@code DlqProcessor.close()} waits at most 30 s), then HTTP (5 s). */
    static final Duration DLQ_PROCESSOR = Duration.ofSeconds(35);
    /**
     * A worker: its shutdown grace for running handlers ({@code ORDO_WORKER_SHUTDOWN_GRACE}), plus this for the
     * last hand-off (3 s), leaving the registry (5 s) and closing the pool.
     */
    static final Duration WORKER_AFTER_GRACE = Duration.ofSeconds(10);

    private DrainTimes() {
    }

    /** {@code 500ms}, {@code 20s}, {@code 5m}: the duration syntax of Ordo's settings and compose's. */
    static Duration parse(String text) {
        var m = java.util.regex.Pattern.compile("^([0-9]+)(ms|s|m|h)$").matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("not a duration: " + text);
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
        };
    }
}

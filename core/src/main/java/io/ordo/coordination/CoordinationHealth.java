package io.ordo.coordination;

import java.time.Duration;

/**
 * Whether the coordination backend answers.
 *
 * @param up       the backend answered and notifications can be received
 * @param latency  how long the probe took
 * @param detail   what is wrong, or "ok"
 */
public record CoordinationHealth(boolean up, Duration latency, String detail) {
}

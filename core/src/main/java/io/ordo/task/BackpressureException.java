package io.ordo.task;

import io.ordo.OrdoException;

import java.time.Duration;

/** The namespace is saturated: submission was refused and may be retried after {@link #retryAfter()}. */
public class BackpressureException extends OrdoException {
    private final Duration retryAfter;

    public BackpressureException(String message, Duration retryAfter, Throwable cause) {
        super(message, cause);
        this.retryAfter = retryAfter;
    }

    public Duration retryAfter() {
        return retryAfter;
    }
}

package io.ordo.dlq;

import io.ordo.OrdoException;

/**
 * The dead letter, or its task, is not in a state that allows the change: it was resolved already, it holds a
 * message rather than a step, or its task is no longer failed. Nothing was changed.
 */
public class DeadLetterStateException extends OrdoException {
    private final long deadLetterId;

    public DeadLetterStateException(long deadLetterId, String message, Throwable cause) {
        super(message, cause);
        this.deadLetterId = deadLetterId;
    }

    public long deadLetterId() {
        return deadLetterId;
    }
}

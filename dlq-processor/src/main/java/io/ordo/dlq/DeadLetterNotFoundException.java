package io.ordo.dlq;

import io.ordo.NotFoundException;

/** No dead letter has this id (it may have been deleted by retention after it was resolved). */
public class DeadLetterNotFoundException extends NotFoundException {
    private final long deadLetterId;

    public DeadLetterNotFoundException(long deadLetterId, String message, Throwable cause) {
        super(message, cause);
        this.deadLetterId = deadLetterId;
    }

    public long deadLetterId() {
        return deadLetterId;
    }
}

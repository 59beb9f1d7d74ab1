package io.ordo.queue;

import io.ordo.OrdoException;

/** The named queue does not exist. */
public class QueueNotFoundException extends OrdoException {
    private final String queue;

    public QueueNotFoundException(String queue, String message, Throwable cause) {
        super(message, cause);
        this.queue = queue;
    }

    public String queue() {
        return queue;
    }
}

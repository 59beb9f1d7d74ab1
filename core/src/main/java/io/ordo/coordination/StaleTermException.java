package io.ordo.coordination;

import io.ordo.OrdoException;

/**
 * A leader duty ran under a term that is no longer the current leader's (the leader lost its session or a
 * newer term was elected). Nothing was changed; the node must stop acting as leader.
 */
public class StaleTermException extends OrdoException {
    private final long term;

    public StaleTermException(long term, String message, Throwable cause) {
        super(message, cause);
        this.term = term;
    }

    public long term() {
        return term;
    }
}

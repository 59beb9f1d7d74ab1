package io.ordo.coordination;

import io.ordo.OrdoException;

/**
 * A write or renewal came with a fencing token that no longer holds its lock (it expired or was released,
 * and the lock may have a newer holder). Nothing was changed.
 */
public class StaleFencingTokenException extends OrdoException {
    private final String lockName;
    private final long fencingToken;

    public StaleFencingTokenException(String lockName, long fencingToken, Throwable cause) {
        super("fencing token " + fencingToken + " no longer holds lock " + lockName, cause);
        this.lockName = lockName;
        this.fencingToken = fencingToken;
    }

    public String lockName() {
        return lockName;
    }

    public long fencingToken() {
        return fencingToken;
    }
}

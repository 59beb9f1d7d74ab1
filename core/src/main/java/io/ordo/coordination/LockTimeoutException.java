package io.ordo.coordination;

import io.ordo.OrdoException;

import java.time.Duration;

/** A blocking lock request was not granted within its timeout. */
public class LockTimeoutException extends OrdoException {
    private final String lockName;
    private final String owner;
    private final Duration timeout;

    public LockTimeoutException(String lockName, String owner, Duration timeout) {
        super("owner " + owner + " did not get lock " + lockName + " within " + timeout);
        this.lockName = lockName;
        this.owner = owner;
        this.timeout = timeout;
    }

    public String lockName() {
        return lockName;
    }

    public String owner() {
        return owner;
    }

    public Duration timeout() {
        return timeout;
    }
}

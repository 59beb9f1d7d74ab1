package io.ordo.coordination;

import io.ordo.OrdoException;

import java.util.List;

/**
 * Waiting for the lock would close a cycle of waiters (A holds X and waits for Y while B holds Y and waits
 * for X). The caller is the victim: it did not get the lock and should release what it holds, then retry.
 */
public class DeadlockException extends OrdoException {
    private final String lockName;
    private final String owner;
    private final List<String> cycle;

    public DeadlockException(String lockName, String owner, List<String> cycle, String message, Throwable cause) {
        super(message, cause);
        this.lockName = lockName;
        this.owner = owner;
        this.cycle = List.copyOf(cycle);
    }

    public String lockName() {
        return lockName;
    }

    public String owner() {
        return owner;
    }

    /** The owners in the cycle, starting and ending with {@link #owner()}. */
    public List<String> cycle() {
        return cycle;
    }
}

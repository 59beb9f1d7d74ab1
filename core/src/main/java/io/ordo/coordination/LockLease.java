package io.ordo.coordination;

import java.time.Instant;

/**
 * A granted lock.
 *
 * @param name          the lock
 * @param owner         who holds it (the owner token given when acquiring)
 * @param mode          shared or exclusive
 * @param fencingToken  grows with every grant of any lock: a later holder always has a larger token, so a
 *                      resource that remembers the largest token it has seen can refuse a stale holder's write
 * @param expiresAt     when the lock lapses unless renewed, by the coordination's clock
 */
public record LockLease(String name, String owner, LockMode mode, long fencingToken, Instant expiresAt) {
}

package io.ordo.coordination;

/**
 * Counters of one coordination instance.
 *
 * @param liveKeys            unexpired keys
 * @param heldLocks           unexpired lock grants (a shared lock held by three owners counts three)
 * @param waitingLockRequests callers blocked waiting for a lock
 * @param nodes               registered nodes that are not down
 * @param subscriptions       open subscriptions of this instance
 * @param published           messages this instance published
 * @param delivered           messages this instance delivered to its handlers
 */
public record CoordinationStats(long liveKeys, long heldLocks, long waitingLockRequests, long nodes,
                                long subscriptions, long published, long delivered) {
}

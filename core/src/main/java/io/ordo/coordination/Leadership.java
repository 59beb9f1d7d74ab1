package io.ordo.coordination;

import java.time.Instant;

/**
 * One node's leadership.
 *
 * @param nodeId  the leader
 * @param term    grows by one on every election; leader duties pass it to term-checked SQL as a fencing token
 * @param since   when this term began
 */
public record Leadership(String nodeId, long term, Instant since) {
}

package io.ordo.queue;

import java.time.Instant;

/**
 * A message read from a queue.
 *
 * @param id          the message id, unique across all queues
 * @param readCount   how many times the message has been read, this read included
 * @param enqueuedAt  when it was sent
 * @param visibleAt   when it becomes visible to other readers again unless deleted or extended
 * @param body        the JSON body
 * @param headers     the JSON headers, or null
 */
public record Message(long id, int readCount, Instant enqueuedAt, Instant visibleAt, String body, String headers) {
}

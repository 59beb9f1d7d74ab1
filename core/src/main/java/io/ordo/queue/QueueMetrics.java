package io.ordo.queue;

import java.time.Duration;
import java.time.Instant;

/**
 * Metrics of one queue. Depths come from a snapshot at most {@code statsAge} old.
 *
 * @param queue         queue name
 * @param depth         messages in the queue
 * @param visibleDepth  messages that a read would return now
 * @param oldestAge     age of the oldest message, or null when the queue is empty
 * @param totalSent     messages sent to the queue since the statistics were last reset (approximate: rolled-back
 *                      sends count, and other sessions' sends show up a moment late)
 * @param statsAge      age of the depth snapshot
 * @param scrapedAt     when these figures were taken
 */
public record QueueMetrics(String queue, long depth, long visibleDepth, Duration oldestAge, long totalSent,
                           Duration statsAge, Instant scrapedAt) {
}

package io.ordo.dlq;

import java.time.Instant;

/**
 * A step or message that Ordo gave up on, as recorded in {@code ordo.dead_letter}. JSON fields are JSON text.
 *
 * @param namespace       the step's namespace, or {@code orchestration} for an unprocessable orchestration message
 * @param taskId          null for a message that named no known task
 * @param reason          {@code attempts_exhausted}, {@code permanent_failure}, or why a message could not be processed
 * @param message         the message that was being processed (the step message, or the raw orchestration message)
 * @param lastError       the last error: {@code class}, {@code message} and whatever detail the worker sent
 * @param attempts        every failed attempt: {@code [{"attempt", "at", "error"}]}
 * @param classification  null until a dlq-processor has classified it
 */
public record DeadLetter(long id, String namespace, Long taskId, Long stepId, String template, String templateVersion,
                         String step, String handler, String reason, String errorClass, String message, String lastError,
                         String attempts, Instant firstFailedAt, Instant deadLetteredAt, DeadLetterStatus status,
                         String resolvedBy, String resolvedReason, Instant resolvedAt, Classification classification,
                         Instant classifiedAt, String classifiedBy) {
}

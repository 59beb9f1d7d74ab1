package io.ordo.worker;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Instant;

/** One row of {@code ordo.read_steps}: a step this worker now holds, on one attempt. */
record ReadStep(long msgId, long taskId, long stepId, String stepName, String handler, int attempt, int maxAttempts,
                JsonNode context, JsonNode parentResults, Instant deadline, JsonNode headers, String templateName,
                String templateVersion) {
}

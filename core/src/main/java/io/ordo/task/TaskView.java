package io.ordo.task;

import java.time.Instant;
import java.util.List;

/** A task as stored, with its steps. JSON fields are JSON text. */
public record TaskView(long id, String namespace, String template, String version, TaskStatus status, int priority,
                       String idempotencyKey, String correlationId, String context, String error,
                       Instant createdAt, Instant updatedAt, Instant completedAt, List<StepView> steps) {

    /** One step of a task. */
    public record StepView(long id, String name, String handler, List<String> dependsOn, StepStatus status, int attempt,
                           int maxAttempts, String result, String lastError, Instant enqueuedAt, Instant startedAt,
                           Instant completedAt) {
    }

    public StepView step(String name) {
        return steps.stream().filter(s -> s.name().equals(name)).findFirst().orElse(null);
    }
}

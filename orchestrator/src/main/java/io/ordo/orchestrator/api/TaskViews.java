package io.ordo.orchestrator.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.ordo.Json;
import io.ordo.task.TaskView;

import java.time.Instant;
import java.util.List;

/** What the task routes return. */
final class TaskViews {
    private TaskViews() {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Task(long id, String namespace, String template, String version, String status, int priority,
                String idempotencyKey, String correlationId, JsonNode context, JsonNode error, int stepsTotal,
                int stepsComplete, Instant createdAt, Instant updatedAt, Instant completedAt, List<Step> steps) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Step(long id, String name, String handler, List<String> dependsOn, String status, int attempt, int maxAttempts,
                JsonNode result, JsonNode lastError, Instant enqueuedAt, Instant startedAt, Instant completedAt) {
    }

    /** A task in a list: no context and no steps. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Summary(long id, String namespace, String template, String version, String status, int priority,
                   String idempotencyKey, String correlationId, Instant createdAt, Instant updatedAt, Instant completedAt) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Page<T>(List<T> items, String nextCursor) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Transition(long seq, Long stepId, String stepName, String fromState, String toState, Integer attempt, String actor,
                      Instant at, JsonNode detail) {
    }

    static Task of(TaskView t) {
        List<Step> steps = t.steps().stream().map(s -> new Step(s.id(), s.name(), s.handler(), s.dependsOn(), s.status().db(),
                s.attempt(), s.maxAttempts(), Json.parse(s.result()), Json.parse(s.lastError()), s.enqueuedAt(), s.startedAt(),
                s.completedAt())).toList();
        int complete = (int) t.steps().stream().filter(s -> s.status() == io.ordo.task.StepStatus.COMPLETE).count();
        return new Task(t.id(), t.namespace(), t.template(), t.version(), t.status().db(), t.priority(), t.idempotencyKey(),
                t.correlationId(), Json.parse(t.context()), Json.parse(t.error()), steps.size(), complete, t.createdAt(),
                t.updatedAt(), t.completedAt(), steps);
    }

    static Summary summary(TaskView t) {
        return new Summary(t.id(), t.namespace(), t.template(), t.version(), t.status().db(), t.priority(), t.idempotencyKey(),
                t.correlationId(), t.createdAt(), t.updatedAt(), t.completedAt());
    }
}

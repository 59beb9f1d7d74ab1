package io.ordo.worker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.ordo.Json;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Everything a handler knows about the step attempt it runs: the task context, the results of the steps it
 * depends on, the attempt number, idempotency keys and the deadline. It also lets a long handler extend its
 * hold on the step now ({@link #heartbeat()}) and report progress ({@link #progress(double, String)}).
 */
public final class StepContext {
    private static final System.Logger LOG = System.getLogger(StepContext.class.getName());

    /** Extends the visibility of one step message; returns whether the message is still there. */
    @FunctionalInterface
    interface Extender {
        boolean extend(long msgId);
    }

    private final String namespace;
    private final ReadStep step;
    private final Clock clock;
    private final Extender extender;
    private final Map<String, JsonNode> parentResults;

    StepContext(String namespace, ReadStep step, Clock clock, Extender extender) {
        this.namespace = namespace;
        this.step = step;
        this.clock = clock;
        this.extender = extender;
        Map<String, JsonNode> parents = new LinkedHashMap<>();
        if (step.parentResults() != null) {
            step.parentResults().properties().forEach(e -> parents.put(e.getKey(), e.getValue()));
        }
        this.parentResults = Collections.unmodifiableMap(parents);
    }

    /** The id of the step's message in the namespace queue. */
    long msgId() {
        return step.msgId();
    }

    public String namespace() {
        return namespace;
    }

    public long taskId() {
        return step.taskId();
    }

    public long stepId() {
        return step.stepId();
    }

    /** The step's name in its template. */
    public String stepName() {
        return step.stepName();
    }

    /** The handler name the template gave the step. */
    public String handler() {
        return step.handler();
    }

    /** This attempt's number, from 1. A step redelivered after its worker was lost runs on a new attempt. */
    public int attempt() {
        return step.attempt();
    }

    public int maxAttempts() {
        return step.maxAttempts();
    }

    public String templateName() {
        return step.templateName();
    }

    public String templateVersion() {
        return step.templateVersion();
    }

    /** The task context, the JSON object the task was submitted with. */
    public JsonNode context() {
        return step.context();
    }

    /**
     * The task context mapped to {@code type} (typically a record) with {@link Json#MAPPER}. Fields of the context
     * that the type does not declare are ignored, so a handler can take just the part it needs.
     *
     * @throws StepInputException when the context does not map
     */
    public <T> T input(Class<T> type) {
        return map(step.context(), type, "the task context");
    }

    /** Results of the steps this one depends on, by step name. */
    public Map<String, JsonNode> parentResults() {
        return parentResults;
    }

    /**
     * The result of the parent step {@code stepName}, mapped to {@code type}.
     *
     * @throws StepInputException when the step is not a parent of this one or its result does not map
     */
    public <T> T parentResult(String stepName, Class<T> type) {
        JsonNode result = parentResults.get(stepName);
        if (result == null) {
            throw new StepInputException(taskId(), stepName(), "step " + stepName() + " has no parent step " + stepName
                    + "; its parents are " + parentResults.keySet(), null);
        }
        return map(result, type, "the result of step " + stepName);
    }

    /**
     * A key that is the same on every attempt of this step of this task, {@code <task_id>:<step_name>}: pass it to
     * the services you call (payment, e-mail, ...) so that a repeated attempt does not repeat the effect.
     */
    public String idempotencyKey() {
        return taskId() + ":" + stepName();
    }

    /** A key unique to this attempt, {@code <task_id>:<step_name>:<attempt>}, for effects that each attempt may make. */
    public String attemptIdempotencyKey() {
        return idempotencyKey() + ":" + attempt();
    }

    /**
     * When this attempt times out (its start plus the step's timeout). A result handed back later is discarded by
     * the orchestrator if the attempt has timed out and moved on, so a handler may check {@link #remaining()}
     * and give up early.
     */
    public Instant deadline() {
        return step.deadline();
    }

    /** Time left until the {@link #deadline()}, or zero once it has passed. */
    public Duration remaining() {
        Duration left = Duration.between(clock.instant(), step.deadline());
        return left.isNegative() ? Duration.ZERO : left;
    }

    /** Headers of the step message, such as {@code {"trace_context": {...}}}, or null. */
    public JsonNode headers() {
        return step.headers();
    }

    /**
     * Extends this step's visibility timeout now, on top of the worker's periodic heartbeat (which already covers
     * every running step). Returns false when the step's message is gone: the step timed out or was cancelled,
     * and the result of this attempt will be ignored, so the handler may stop.
     */
    public boolean heartbeat() {
        return extender.extend(step.msgId());
    }

    /** Reports progress, see {@link #progress(double, String)}. */
    public void progress(String message) {
        log(message, null);
    }

    /**
     * Reports progress: {@code fraction} done (0 to 1) and a note. Progress is written to the log (logger
     * {@code io.ordo.worker.StepContext}, level INFO) with the task, step and attempt; it is not stored in the
     * database and does not extend the visibility timeout (see {@link #heartbeat()}).
     */
    public void progress(double fraction, String message) {
        if (!(fraction >= 0 && fraction <= 1)) {
            throw new IllegalArgumentException("progress fraction must be between 0 and 1, got " + fraction);
        }
        log(message, fraction);
    }

    private void log(String message, Double fraction) {
        LOG.log(System.Logger.Level.INFO, () -> String.format(Locale.ROOT, "%s/%s task %d step %s attempt %d: %s%s",
                namespace, templateName(), taskId(), stepName(), attempt(),
                fraction == null ? "" : String.format(Locale.ROOT, "%.0f%% ", fraction * 100), message));
    }

    private <T> T map(JsonNode node, Class<T> type, String what) {
        try {
            return Json.MAPPER.readerFor(type).without(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).readValue(node);
        } catch (IOException | IllegalArgumentException e) {
            String reason = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            if (e instanceof JsonMappingException m && !m.getPath().isEmpty()) {
                reason = "field " + m.getPath().stream()
                        .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                        .collect(java.util.stream.Collectors.joining(".")) + ": " + reason;
            }
            throw new StepInputException(taskId(), stepName(), "step " + stepName() + " of task " + taskId() + ": "
                    + what + " does not map to " + type.getSimpleName() + ": " + reason, e);
        }
    }

    @Override
    public String toString() {
        return "StepContext[" + namespace + " task " + taskId() + " step " + stepName() + " attempt " + attempt() + "]";
    }
}

package io.ordo.task;

import io.ordo.InvalidInputException;
import io.ordo.Json;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Options of one submission.
 *
 * @param idempotencyKey  a repeat with the same key in the namespace returns the first task and creates nothing
 * @param priority        -100..100; higher runs first, and waiting work ages past newer high-priority work
 * @param correlationId   free text to find related tasks
 * @param traceParent     W3C traceparent to continue the caller's trace, or null
 */
public record SubmitOptions(String idempotencyKey, int priority, String correlationId, String traceParent) {
    public static final SubmitOptions DEFAULT = new SubmitOptions(null, 0, null, null);

    public SubmitOptions {
        if (priority < -100 || priority > 100) {
            throw new InvalidInputException("priority must be between -100 and 100, got " + priority);
        }
    }

    public SubmitOptions withIdempotencyKey(String key) {
        return new SubmitOptions(key, priority, correlationId, traceParent);
    }

    public SubmitOptions withPriority(int p) {
        return new SubmitOptions(idempotencyKey, p, correlationId, traceParent);
    }

    public SubmitOptions withCorrelationId(String id) {
        return new SubmitOptions(idempotencyKey, priority, id, traceParent);
    }

    public SubmitOptions withTraceParent(String tp) {
        return new SubmitOptions(idempotencyKey, priority, correlationId, tp);
    }

    String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        if (idempotencyKey != null) {
            m.put("idempotency_key", idempotencyKey);
        }
        if (priority != 0) {
            m.put("priority", priority);
        }
        if (correlationId != null) {
            m.put("correlation_id", correlationId);
        }
        if (traceParent != null) {
            m.put("trace_context", Map.of("traceparent", traceParent));
        }
        return Json.write(m);
    }
}

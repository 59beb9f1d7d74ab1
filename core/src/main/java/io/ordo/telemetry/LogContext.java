package io.ordo.telemetry;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Ids that the log lines of the current thread carry (task id, step id), set for the length of a block:
 * {@code try (var ignored = LogContext.task(id)) { ... }}. The trace and span ids come from the current span.
 */
public final class LogContext implements AutoCloseable {
    private static final ThreadLocal<Map<String, Object>> FIELDS = ThreadLocal.withInitial(LinkedHashMap::new);

    private final Map<String, Object> previous;

    private LogContext(Map<String, Object> previous) {
        this.previous = previous;
    }

    public static LogContext task(long taskId) {
        return with("task_id", taskId);
    }

    public static LogContext step(long taskId, long stepId) {
        LogContext outer = with("task_id", taskId);
        FIELDS.get().put("step_id", stepId);
        return outer;
    }

    private static LogContext with(String key, Object value) {
        Map<String, Object> current = FIELDS.get();
        LogContext scope = new LogContext(new LinkedHashMap<>(current));
        current.put(key, value);
        return scope;
    }

    /** The fields of the current thread, in the order they were set. */
    static Map<String, Object> current() {
        return FIELDS.get();
    }

    @Override
    public void close() {
        FIELDS.set(previous);
    }
}

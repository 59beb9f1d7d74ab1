package io.ordo.task;

import io.ordo.db.SqlErrors;
import io.ordo.telemetry.Tracing;
import org.jooq.DSLContext;
import org.jooq.Record;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Submits, reads, lists and cancels tasks. Submission goes through {@code ordo.submit_task}, so it
 * joins the transaction of the {@link DSLContext} it runs in: bind a client to your transaction with
 * {@link #using(DSLContext)} and the task commits, or rolls back, with your business data.
 */
public final class TaskClient {
    private final DSLContext dsl;

    public TaskClient(DSLContext dsl) {
        this.dsl = dsl;
    }

    public TaskClient using(DSLContext other) {
        return new TaskClient(other);
    }

    /** Submits a run of the latest version of a template. Returns the task id. */
    public long submit(String namespace, String template, String contextJson) {
        return submit(namespace, template, null, contextJson, SubmitOptions.DEFAULT);
    }

    /**
     * Submits a task; {@code version} null means the latest. Returns the task id (the first one's on an idempotent repeat).
     * Without a trace parent in the options, the task continues the caller's current span, if there is one.
     */
    public long submit(String namespace, String template, String version, String contextJson, SubmitOptions options) {
        SubmitOptions effective = options.traceParent() == null ? options.withTraceParent(Tracing.currentTraceParent()) : options;
        return SqlErrors.call(() -> dsl.fetchOne("select ordo.submit_task(?, ?, ?, ?::jsonb, ?::jsonb)",
                namespace, template, version, contextJson, effective.toJson()).get(0, Long.class));
    }

    /** Cancels a task; returns false if it had already finished. */
    public boolean cancel(long taskId, String reason) {
        return SqlErrors.call(() -> dsl.fetchOne("select ordo.cancel_task(?, ?)", taskId, reason).get(0, Boolean.class));
    }

    /** Cancels a task on behalf of {@code actor} (recorded in the transition log); returns false if it had already finished. */
    public boolean cancel(long taskId, String reason, String actor) {
        return SqlErrors.call(() -> dsl.fetchOne("select ordo.cancel_task(?, ?, ?)", taskId, reason, actor).get(0, Boolean.class));
    }

    public Optional<TaskView> get(long taskId) {
        Record t = dsl.fetchOne("select id, namespace, template_name, template_version, status, priority, idempotency_key,"
                + " correlation_id, context::text, error::text, created_at, updated_at, completed_at from ordo.task where id = ?", taskId);
        if (t == null) {
            return Optional.empty();
        }
        List<TaskView.StepView> steps = new ArrayList<>();
        for (Record s : dsl.fetch("select id, name, handler, depends_on, status, attempt, max_attempts, result::text,"
                + " last_error::text, enqueued_at, started_at, completed_at from ordo.step where task_id = ? order by position", taskId)) {
            steps.add(new TaskView.StepView(s.get(0, Long.class), s.get(1, String.class), s.get(2, String.class),
                    Arrays.asList(s.get(3, String[].class)), StepStatus.of(s.get(4, String.class)), s.get(5, Integer.class),
                    s.get(6, Integer.class), s.get(7, String.class), s.get(8, String.class), instant(s, 9), instant(s, 10),
                    instant(s, 11)));
        }
        return Optional.of(toTask(t, steps));
    }

    /** Lists tasks newest first, optionally of one namespace and status, after a cursor (a task id) for paging. */
    public List<TaskView> list(String namespace, TaskStatus status, Long beforeId, int limit) {
        if (limit < 1 || limit > 1000) {
            throw new io.ordo.InvalidInputException("limit must be between 1 and 1000, got " + limit);
        }
        return dsl.fetch("select id, namespace, template_name, template_version, status, priority, idempotency_key,"
                        + " correlation_id, context::text, error::text, created_at, updated_at, completed_at from ordo.task"
                        + " where (?::text is null or namespace = ?) and (?::text is null or status = ?) and (?::bigint is null or id < ?)"
                        + " order by id desc limit ?",
                namespace, namespace, status == null ? null : status.db(), status == null ? null : status.db(), beforeId, beforeId, limit)
                .map(r -> toTask(r, List.of()));
    }

    private static TaskView toTask(Record t, List<TaskView.StepView> steps) {
        return new TaskView(t.get(0, Long.class), t.get(1, String.class), t.get(2, String.class), t.get(3, String.class),
                TaskStatus.of(t.get(4, String.class)), t.get(5, Integer.class), t.get(6, String.class), t.get(7, String.class),
                t.get(8, String.class), t.get(9, String.class), instant(t, 10), instant(t, 11), instant(t, 12), steps);
    }

    private static Instant instant(Record r, int index) {
        OffsetDateTime t = r.get(index, OffsetDateTime.class);
        return t == null ? null : t.toInstant();
    }
}

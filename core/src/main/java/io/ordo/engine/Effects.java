package io.ordo.engine;

import io.ordo.Json;
import io.ordo.db.Jdbc;
import io.ordo.engine.OrchestrationPass.DeadLetter;
import io.ordo.engine.OrchestrationPass.Retry;
import io.ordo.engine.OrchestrationPass.StepState;
import io.ordo.engine.OrchestrationPass.TaskState;
import io.ordo.engine.OrchestrationPass.Transition;
import io.ordo.engine.OrchestrationPass.Unprocessable;
import org.jooq.DSLContext;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one pass decided, written back in a handful of set-based statements.
 * <p>
 * jsonb values are bound as text arrays and cast row by row, never as a whole array: PostgreSQL 15 casts a text array
 * to jsonb[] at about 1.5 µs an element up to a thousand elements, and at 12–15 µs an element from two thousand, the
 * size of a fan-out pass's step messages (load-tests/RESULTS.md); cast row by row, an element costs about 2 µs at
 * any size.
 */
final class Effects {
    final List<Transition> transitions = new ArrayList<>();
    final List<DeadLetter> deadLetters = new ArrayList<>();
    final List<Unprocessable> unprocessable = new ArrayList<>();
    final List<Retry> retries = new ArrayList<>();
    final Map<String, List<Long>> cancelledMessages = new LinkedHashMap<>();
    final java.util.Set<TaskState> resumeLater = new java.util.LinkedHashSet<>();
    static final Duration RESUME_DELAY = Duration.ofSeconds(1);
    final List<EngineTelemetry.StepDone> stepsDone = new ArrayList<>();
    Collection<TaskState> tasks = List.of();
    private final Map<String, List<Object[]>> enqueues = new LinkedHashMap<>();

    void enqueue(TaskState task, StepState step) {
        enqueues.computeIfAbsent(task.namespace, k -> new ArrayList<>()).add(new Object[]{task, step});
    }

    /**
     * Writes what the pass decided and commits, all in one round trip: the statements are sent together, with one
     * sync, and end with {@code commit}. pgjdbc then finds the transaction over and sends no COMMIT of its own when
     * jOOQ commits; if a statement fails, the server skips the rest, commit included, and jOOQ rolls back.
     * Nothing may be done in the transaction after this.
     */
    void flushAndCommit(DSLContext tx, Collection<TaskState> tasks, List<Long> processedMessages, String actor) {
        Writes writes = new Writes();
        for (var e : cancelledMessages.entrySet()) {
            writes.add("select count(*) from ordo.delete(?, ?::bigint[])", "ns_" + e.getKey(), e.getValue().toArray(Long[]::new));
        }
        notifyIdleQueues(writes);
        updateSteps(writes, tasks, stepMessages());
        updateTasks(writes, tasks);
        insertTransitions(writes, actor);
        if (!processedMessages.isEmpty()) {
            // through ordo.delete, planned for these ids at each call (V13): a plan kept from a pass on a small queue
            // walked the whole (vt, msg_id) index for them
            writes.add("select count(*) from ordo.delete('" + OrchestrationPass.QUEUE + "', ?::bigint[])",
                    (Object) processedMessages.toArray(Long[]::new));
        }
        for (DeadLetter d : deadLetters) {
            writes.add("""
                    insert into ordo.dead_letter (namespace, task_id, step_id, template_name, template_version, step_name, handler,
                                                  reason, error_class, message, last_error, attempts, first_failed_at)
                    values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?::jsonb, ?::jsonb, ?::timestamptz)""",
                    d.task().namespace, d.task().id, d.step().id, d.task().template, d.task().version, d.step().name,
                    d.step().handler, d.reason(), d.error().path("class").asText(null),
                    Json.write(Map.of("task_id", d.task().id, "step_id", d.step().id, "attempt", d.step().attempt,
                            "handler", d.step().handler, "step", d.step().name)),
                    d.error().toString(), d.step().errors().toString(),
                    d.step().errors().isEmpty() ? null : d.step().errors().get(0).path("at").asText());
        }
        for (Unprocessable u : unprocessable) {
            writes.add("""
                    insert into ordo.dead_letter (namespace, task_id, template_name, template_version, reason, error_class, message,
                                                  last_error, first_failed_at)
                    values (?, ?, ?, ?, ?, 'UnprocessableMessage', ?::jsonb, jsonb_build_object('class', 'UnprocessableMessage',
                            'message', ?::text), now())""",
                    u.task().namespace, u.task().id, u.task().template, u.task().version, u.reason(), u.message().toString(), u.reason());
        }
        for (Retry r : retries) {
            sendOrchestration(writes, Json.write(Map.of("type", "retry_due", "task_id", r.taskId(),
                    "step_id", r.stepId(), "attempt", r.attempt())), Duration.ofMillis(r.delayMs()), r.priority());
        }
        for (TaskState t : resumeLater) {
            sendOrchestration(writes, Json.write(Map.of("type", "resume", "task_id", t.id)), RESUME_DELAY, t.priority);
        }
        writes.add("commit");
        writes.execute(tx);
    }

    /** What {@link io.ordo.queue.QueueClient#send(String, String, String, Duration, int)} does, among the writes. */
    private static void sendOrchestration(Writes writes, String body, Duration delay, int priority) {
        writes.add("select ordo.send('" + OrchestrationPass.QUEUE + "', ?::jsonb, null, ?, ?)", body, delay.toNanos() / 1e9, priority);
    }

    /** The namespace queues that get steps, notified first if idle: their consumers may be waiting (what ordo.send_batch does). */
    private void notifyIdleQueues(Writes writes) {
        if (!enqueues.isEmpty()) {
            writes.add("select ordo.notify_if_idle(q.queue_name) from ordo.queue q where q.queue_name = any (?::text[]) and q.notify",
                    (Object) enqueues.keySet().stream().map(ns -> "ns_" + ns).toArray(String[]::new));
        }
    }

    /** The step messages to send, in the order the steps became ready; null when there are none. */
    private Object[] stepMessages() {
        int n = enqueues.values().stream().mapToInt(List::size).sum();
        if (n == 0) {
            return null;
        }
        String[] queues = new String[n];
        String[] bodies = new String[n];
        String[] headers = new String[n];
        Integer[] priorities = new Integer[n];
        int i = 0;
        for (var e : enqueues.entrySet()) {
            for (Object[] pair : e.getValue()) {
                TaskState t = (TaskState) pair[0];
                StepState s = (StepState) pair[1];
                queues[i] = "ns_" + e.getKey();
                bodies[i] = Json.write(Map.of("task_id", t.id, "step_id", s.id, "attempt", s.attempt, "handler", s.handler,
                        "step", s.name));
                headers[i] = t.stepTraceContext == null ? null : "{\"trace_context\":" + t.stepTraceContext + "}";
                priorities[i] = t.priority;
                i++;
            }
        }
        return new Object[]{queues, bodies, headers, priorities};
    }

    /** Statements sent to the server together, as one multi-statement query: one round trip for all of them. */
    private static final class Writes {
        private final StringBuilder sql = new StringBuilder();
        private final List<Object> binds = new ArrayList<>();

        void add(String statement, Object... values) {
            if (!sql.isEmpty()) {
                sql.append(";\n");
            }
            sql.append(statement);
            binds.addAll(Arrays.asList(values));
        }

        void execute(DSLContext tx) {
            Jdbc.execute(tx, sql.toString(), binds.toArray());
        }
    }

    /**
     * Writes the changed steps; {@code messages} (queues, bodies, headers, priorities, or null) are the step messages,
     * inserted by the same statement, which gives each enqueued step its message id. A queue that does not exist
     * fails the statement (ordo.queue_settings raises), so no step is ever enqueued without its message.
     */
    private static void updateSteps(Writes writes, Collection<TaskState> tasks, Object[] messages) {
        List<StepState> dirty = tasks.stream().flatMap(t -> t.steps.stream()).filter(s -> s.dirty).toList();
        if (dirty.isEmpty()) {
            return;
        }
        int n = dirty.size();
        Long[] id = new Long[n];
        String[] status = new String[n];
        Integer[] attempt = new Integer[n];
        Integer[] pendingDeps = new Integer[n];
        String[] result = new String[n];
        String[] lastError = new String[n];
        String[] errors = new String[n];
        Long[] msgId = new Long[n];
        Long[] retryDelay = new Long[n];
        Boolean[] enqueued = new Boolean[n];
        Boolean[] completed = new Boolean[n];
        for (int i = 0; i < n; i++) {
            StepState s = dirty.get(i);
            id[i] = s.id;
            status[i] = s.status;
            attempt[i] = s.attempt;
            pendingDeps[i] = s.pendingDeps;
            result[i] = s.result;
            lastError[i] = s.lastError;
            errors[i] = s.errorsWritten();
            msgId[i] = s.msgId;
            retryDelay[i] = s.retryDelayMs;
            enqueued[i] = s.enqueuedNow;
            completed[i] = s.completedNow;
        }
        String update = """
                update ordo.step s
                set status = u.status, attempt = u.attempt, pending_deps = u.pending_deps,
                    result = coalesce(u.result::jsonb, s.result), last_error = coalesce(u.last_error::jsonb, s.last_error),
                    errors = coalesce(u.errors::jsonb, s.errors),
                    msg_id = %s,
                    next_attempt_at = case when u.retry_delay_ms is null then s.next_attempt_at
                                           else now() + u.retry_delay_ms * interval '1 millisecond' end,
                    enqueued_at = case when u.enqueued then now() else s.enqueued_at end,
                    completed_at = case when u.completed then now() else s.completed_at end,
                    updated_at = now()
                from unnest(?::bigint[], ?::text[], ?::int[], ?::int[], ?::text[], ?::text[], ?::text[], ?::bigint[],
                            ?::bigint[], ?::boolean[], ?::boolean[])
                     as u(id, status, attempt, pending_deps, result, last_error, errors, msg_id, retry_delay_ms, enqueued, completed)
                %s
                where s.id = u.id""";
        Object[] columns = {id, status, attempt, pendingDeps, result, lastError, errors, msgId, retryDelay, enqueued, completed};
        if (messages == null) {
            writes.add(update.formatted("u.msg_id", ""), columns);
            return;
        }
        // what ordo.send_batch does for each queue: one visibility time for the batch, less the priority's head start
        String send = """
                with sent as (
                    insert into ordo.message (queue_name, vt, message, headers)
                    select e.queue, (select clock_timestamp())
                                    - e.priority * coalesce(q.priority_step, (ordo.queue_settings(e.queue)).priority_step),
                           e.body::jsonb, e.headers::jsonb
                    from unnest(?::text[], ?::text[], ?::text[], ?::int[]) with ordinality as e(queue, body, headers, priority, ord)
                    left join ordo.queue q on q.queue_name = e.queue
                    order by e.ord
                    returning msg_id, (message ->> 'step_id')::bigint as step_id
                )
                """;
        Object[] binds = new Object[messages.length + columns.length];
        System.arraycopy(messages, 0, binds, 0, messages.length);
        System.arraycopy(columns, 0, binds, messages.length, columns.length);
        writes.add(send + update.formatted("coalesce(sent.msg_id, u.msg_id)", "left join sent on sent.step_id = u.id"), binds);
    }

    private static void updateTasks(Writes writes, Collection<TaskState> tasks) {
        int n = tasks.size();
        if (n == 0) {
            return;
        }
        Long[] id = new Long[n];
        String[] status = new String[n];
        Integer[] stepsComplete = new Integer[n];
        String[] error = new String[n];
        Boolean[] finished = new Boolean[n];
        Boolean[] dirty = new Boolean[n];
        Long[] token = new Long[n];
        String[] trace = new String[n];
        int i = 0;
        for (TaskState t : tasks) {
            id[i] = t.id;
            status[i] = t.status;
            stepsComplete[i] = t.stepsComplete;
            error[i] = t.error;
            finished[i] = t.finished;
            dirty[i] = t.dirty;
            token[i] = t.token;
            trace[i] = t.traceContext == null ? t.stepTraceContext : null; // a task without a trace gets the first pass's
            i++;
        }
        writes.add("""
                update ordo.task t
                set status = u.status, steps_complete = u.steps_complete, error = coalesce(u.error::jsonb, t.error),
                    completed_at = case when u.finished then now() else t.completed_at end,
                    updated_at = case when u.dirty then now() else t.updated_at end,
                    lease_owner = null, lease_token = null, lease_expires_at = null,
                    trace_context = coalesce(t.trace_context, u.trace_context::jsonb)
                from unnest(?::bigint[], ?::text[], ?::int[], ?::text[], ?::boolean[], ?::boolean[], ?::bigint[], ?::text[])
                     as u(id, status, steps_complete, error, finished, dirty, token, trace_context)
                where t.id = u.id and t.lease_token is not distinct from u.token""",
                id, status, stepsComplete, error, finished, dirty, token, trace);
    }

    private void insertTransitions(Writes writes, String actor) {
        int n = transitions.size();
        if (n == 0) {
            return;
        }
        Long[] taskId = new Long[n];
        Long[] stepId = new Long[n];
        String[] stepName = new String[n];
        String[] from = new String[n];
        String[] to = new String[n];
        Integer[] attempt = new Integer[n];
        String[] detail = new String[n];
        for (int i = 0; i < n; i++) {
            Transition t = transitions.get(i);
            taskId[i] = t.taskId();
            stepId[i] = t.stepId();
            stepName[i] = t.stepName();
            from[i] = t.from();
            to[i] = t.to();
            attempt[i] = t.attempt();
            detail[i] = t.detail();
        }
        writes.add("""
                insert into ordo.transition (task_id, step_id, step_name, from_state, to_state, attempt, actor, detail)
                select u.task_id, u.step_id, u.step_name, u.from_state, u.to_state, u.attempt, ?, u.detail::jsonb
                from unnest(?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::int[], ?::text[])
                     with ordinality as u(task_id, step_id, step_name, from_state, to_state, attempt, detail, ord)
                order by u.ord""",
                actor, taskId, stepId, stepName, from, to, attempt, detail);
    }
}

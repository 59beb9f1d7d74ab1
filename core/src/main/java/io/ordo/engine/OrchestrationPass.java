package io.ordo.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.opentelemetry.api.trace.Span;
import io.ordo.Json;
import io.ordo.db.Columns;
import io.ordo.db.Jdbc;
import io.ordo.queue.Message;
import io.ordo.queue.QueueClient;
import org.jooq.DSLContext;
import org.jooq.Record;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.random.RandomGenerator;

import static io.ordo.db.Columns.value;

/**
 * One orchestration pass: where step_result(s), retry_due, step_timeout and resume messages are applied to tasks
 * and ready steps are enqueued on their namespace's queue. A submission enqueues its task's first steps itself
 * (V18); task_requested, which submissions sent before, is still applied.
 * <p>
 * A pass is one transaction: it locks a batch of visible orchestration messages ({@code ordo.lock_batch}) and
 * the tasks involved ({@code FOR UPDATE SKIP LOCKED}; a task another node is working on, or holds a live lease
 * on, is skipped and its messages are looked at again shortly), applies every message, enqueues steps, writes
 * the transition log and deletes the messages. The row locks are the claim: a node that dies mid-pass leaves
 * nothing behind, its messages are visible again as soon as its session ends, and nothing is written to hide
 * messages or lease tasks, which made up half of the pass's writes (load-tests/RESULTS.md).
 * <p>
 * After a pass failed, and for batches holding a message read before, the pass runs in two phases instead,
 * with leases: transaction 1 reads the batch (hiding it and counting the read, so that a message that keeps
 * failing reaches the read cap) and claims the tasks involved with a lease (owner, fencing token, expiry).
 * Transaction 2 locks the claimed tasks, checks that the lease token is still this node's, applies every
 * message and releases the leases. A node that dies between the two leaves leases that expire and messages
 * that become visible again, so another node takes the work over; a node that wakes up after its lease was
 * taken finds a different token and writes nothing.
 */
final class OrchestrationPass {
    static final String QUEUE = "orchestration";
    private static final System.Logger LOG = System.getLogger(OrchestrationPass.class.getName());

    private final DSLContext dsl;
    private final OrchestratorSettings settings;
    private final Clock clock;
    private final RandomGenerator random;
    private final String actor;
    /** Orchestration messages held by the pass in progress; the heartbeat keeps them hidden. */
    final Set<Long> inFlight = ConcurrentHashMap.newKeySet();
    final EngineMetrics metrics;
    private final EngineTelemetry telemetry;

    OrchestrationPass(DSLContext dsl, OrchestratorSettings settings, Clock clock, RandomGenerator random, EngineMetrics metrics) {
        this(dsl, settings, clock, random, metrics, EngineTelemetry.NOOP);
    }

    OrchestrationPass(DSLContext dsl, OrchestratorSettings settings, Clock clock, RandomGenerator random, EngineMetrics metrics,
                      EngineTelemetry telemetry) {
        this.telemetry = telemetry;
        this.dsl = dsl;
        this.settings = settings;
        this.clock = clock;
        this.random = random;
        this.actor = "orchestrator:" + settings.nodeId();
        this.metrics = metrics;
    }

    /** Set when a single-transaction pass failed: the next pass runs in two phases, which counts reads. */
    private boolean twoPhasesNext;

    /** Runs one pass; returns how many messages it applied (0 when there was nothing it could take). */
    int runOnce() {
        if (twoPhasesNext) {
            twoPhasesNext = false;
            return runInTwoPhases();
        }
        List<Span> spans = new ArrayList<>();
        try {
            LockedPass pass = dsl.transactionResult(cfg -> runLocked(cfg.dsl(), spans));
            if (pass.readBefore()) {
                return runInTwoPhases();
            }
            if (pass.effects() != null) {
                telemetry.committed(spans, pass.effects().tasks, pass.effects().stepsDone);
            }
            return pass.applied();
        } catch (RuntimeException e) {
            telemetry.failed(spans, e);
            twoPhasesNext = true;
            throw e;
        }
    }

    private int runInTwoPhases() {
        Claim claim = claimBatch();
        if (claim.messages.isEmpty()) {
            return 0;
        }
        applyBatch(claim);
        return claim.messages.size();
    }

    /** What a single-transaction pass did; {@code readBefore}: it found messages read before and left them alone. */
    private record LockedPass(int applied, boolean readBefore, Effects effects) {
    }

    private LockedPass runLocked(DSLContext tx, List<Span> spans) {
        QueueClient queue = new QueueClient(tx);
        List<List<Object[]>> read = Jdbc.fetchMany(tx, INDEX_PLANS + ";\n" + LOCK_BATCH_NOTING_TASKS + ";\n" + TASK_SELECT
                + CLAIMABLE.formatted(NOTED_TASKS) + ";\n" + STEP_SELECT.formatted(NOTED_TASKS), QUEUE, settings.batchSize(), settings.nodeId());
        Map<Long, Long> notedTaskIds = new HashMap<>();
        List<Message> locked = new ArrayList<>(read.get(0).size());
        for (Object[] r : read.get(0)) {
            locked.add(new Message(value(r, 0), value(r, 1), Columns.<OffsetDateTime>value(r, 2).toInstant(),
                    Columns.<OffsetDateTime>value(r, 3).toInstant(), value(r, 4), value(r, 5)));
            notedTaskIds.put(value(r, 0), value(r, 6));
        }
        if (locked.isEmpty()) {
            return new LockedPass(0, false, null);
        }
        if (locked.stream().anyMatch(m -> m.readCount() > 0)) {
            // a pass failed on them or its node died: the two-phase pass counts their reads and isolates their tasks
            return new LockedPass(0, true, null);
        }
        List<Long> malformed = new ArrayList<>();
        List<Parsed> parsed = parse(tx, locked, malformed);
        Map<Long, Long> tokens = new HashMap<>();
        Long[] ids = parsed.stream().map(Parsed::taskId).distinct().toArray(Long[]::new);
        Loaded loaded = parsed.stream().allMatch(p -> Long.valueOf(p.taskId).equals(notedTaskIds.get(p.message.id())))
                ? Loaded.of(read.get(1), read.get(2), ids)
                : load(tx, CLAIMABLE.formatted("?::bigint[]"), ids, ids, settings.nodeId());
        for (Object[] r : loaded.tasks()) {
            tokens.put(value(r, 0), value(r, 6));
            String previous = value(r, 10);
            if (previous != null && !previous.equals(settings.nodeId())) {
                metrics.leaseTakeovers.increment();
            }
        }
        Claim claim = sort(tx, queue, parsed, tokens, malformed, true);
        if (claim.messages.isEmpty()) {
            return new LockedPass(0, false, null);
        }
        return new LockedPass(claim.messages.size(), false, apply(tx, claim, loaded, spans));
    }

    /**
     * Sent first in each of a pass's transactions: its statements find tasks, steps and messages by their indexes,
     * however the tables' statistics read. Where ordo.task and ordo.step were analysed while empty (a new install after
     * VACUUM ANALYZE, a restored schema), the planner takes them for empty and scans them whole, at every pass, until
     * autovacuum analyses them again (PassPlansTest). JIT goes with it: a statement left with no way but a sequential
     * scan would cost over 10^10 and be compiled at every pass (V27). The worker's, queue's and leader duties'
     * functions carry the same settings.
     */
    private static final String INDEX_PLANS = "set local enable_seqscan = off;\nset local jit = off";

    /** Tasks locked by {@link #TASK_SELECT} and a where and locking clause, and the steps of the tasks {@code ids}. */
    private record Loaded(List<Object[]> tasks, List<Object[]> steps) {
        /** The tasks and steps of the tasks {@code ids}, out of rows read for these and maybe more. */
        static Loaded of(List<Object[]> tasks, List<Object[]> steps, Long[] ids) {
            Set<Long> wanted = Set.of(ids);
            return new Loaded(tasks.stream().filter(r -> wanted.contains(value(r, 0))).toList(),
                    steps.stream().filter(r -> wanted.contains(value(r, 1))).toList());
        }
    }

    /**
     * The batch, locked by {@code ordo.lock_batch}, with the task id each message names as the pass's parse reads it (a
     * JSON number, truncated), noted in the transaction's {@code ordo.pass_tasks} setting. The task and step reads sent
     * in the same round trip take their ids from there ({@link #NOTED_TASKS}), so that a pass reads its messages, tasks
     * and steps in one round trip instead of two. The parse stays the judge: when it reads a message's task otherwise,
     * the pass loads the tasks again by the ids it parsed.
     */
    private static final String LOCK_BATCH_NOTING_TASKS = """
            with m as materialized (
                select b.*,
                       case when jsonb_typeof(b.message -> 'task_id') = 'number' then
                           case when abs((b.message ->> 'task_id')::numeric) < 9223372036854775807
                                then trunc((b.message ->> 'task_id')::numeric)::bigint end end as task_id
                from ordo.lock_batch(?, ?) b),
            noted as materialized (
                select set_config('ordo.pass_tasks',
                                  coalesce(array_agg(distinct m.task_id) filter (where m.task_id is not null), '{}')::text, true)
                from m)
            select m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message::text, m.headers::text, m.task_id
            from m cross join noted
            order by m.vt, m.msg_id""";

    /** The task ids {@link #LOCK_BATCH_NOTING_TASKS} noted in this transaction (none when it locked nothing). */
    private static final String NOTED_TASKS = "nullif(current_setting('ordo.pass_tasks', true), '')::bigint[]";

    /** The tasks of the ids {@code %s} that no other node holds a live lease on, locked unless another pass holds them. */
    private static final String CLAIMABLE = """
            where t.id = any (%s) and (t.lease_owner is null or t.lease_owner = ? or t.lease_expires_at < now())
            order by t.id
            for update of t skip locked""";

    /**
     * Locks and reads the tasks, then reads the steps of the tasks {@code ids} (those the lock skips are left out
     * later), in one round trip: the two statements are sent together and run one after the other, the steps' read
     * seeing what committed before the tasks were locked.
     */
    private static Loaded load(DSLContext tx, String taskWhereAndLock, Long[] ids, Object... taskBinds) {
        Object[] binds = Arrays.copyOf(taskBinds, taskBinds.length + 1);
        binds[taskBinds.length] = ids;
        List<List<Object[]>> results = Jdbc.fetchMany(tx, INDEX_PLANS + ";\n" + TASK_SELECT + taskWhereAndLock + ";\n"
                + STEP_SELECT.formatted("?::bigint[]"), binds);
        return new Loaded(results.get(0), results.get(1));
    }

    // The steps are read without row locks: the task's lock serializes every writer of its steps but the worker
    // functions, and those touch only steps that have a message (enqueued, in progress). The pass writes such a
    // step only to cancel it when its task fails, and deletes its message first, which waits for a read in progress.
    // Locking every step of every task a pass touches cost a locked tuple and a WAL record per row (four rows per
    // step in a fan-out).
    private static final String STEP_SELECT = """
            select id, task_id, name, handler, depends_on, pending_deps, status, attempt, max_attempts,
                   backoff_initial_ms, backoff_multiplier, backoff_max_ms, backoff_jitter, timeout_ms,
                   msg_id, errors::text, started_at
            from ordo.step where task_id = any (%s) order by id""";

    /**
     * The task columns a pass needs, the lease owner, and whether the task's namespace is saturated (backpressure
     * critical: nothing is enqueued on it). Followed by a where clause and a locking clause.
     */
    private static final String TASK_SELECT = """
            select t.id, t.namespace, t.status, t.priority, t.steps_total, t.steps_complete, t.lease_token, t.trace_context::text,
                   t.template_name, t.template_version, t.lease_owner,
                   exists (select 1 from ordo.namespace n where n.name = t.namespace and n.backpressure = 'critical')
            from ordo.task t
            """;

    /** Transaction 1: read a batch and lease its tasks. */
    Claim claimBatch() {
        return dsl.transactionResult(cfg -> claim(cfg.dsl()));
    }

    /**
     * Transaction 2: apply a claimed batch, for the tasks whose lease is still ours. When the batch holds a
     * message read before (an earlier pass failed or its node died), each task is applied in a transaction of
     * its own, so that one task that cannot be processed holds back no other; its messages come back until
     * they pass {@link OrchestratorSettings#maxMessageReads()} and are dead-lettered.
     */
    void applyBatch(Claim claim) {
        try {
            if (claim.tokens.isEmpty()) {
                return;
            }
            if (claim.messages.stream().allMatch(p -> p.message.readCount() == 1)) {
                applyInOneTransaction(claim);
                return;
            }
            RuntimeException first = null;
            for (var entry : claim.tokens.entrySet()) {
                List<Parsed> own = claim.messages.stream().filter(p -> p.taskId == entry.getKey()).toList();
                try {
                    applyInOneTransaction(new Claim(own, Map.of(entry.getKey(), entry.getValue()), false));
                } catch (RuntimeException e) {
                    metrics.passErrors.increment();
                    LOG.log(System.Logger.Level.WARNING, "task " + entry.getKey() + ": its messages could not be applied ("
                            + e + "); they will be read again, and dead-lettered after " + settings.maxMessageReads() + " reads");
                    releaseLease(entry.getKey(), entry.getValue());
                    first = first == null ? e : first;
                }
            }
            if (first != null && first instanceof org.jooq.exception.DataAccessException) {
                throw first; // the database itself is in trouble: let the loop back off
            }
        } finally {
            inFlight.clear();
        }
    }

    private void applyInOneTransaction(Claim claim) {
        List<Span> spans = new ArrayList<>();
        try {
            Effects fx = dsl.transactionResult(cfg -> apply(cfg.dsl(), claim, null, spans));
            telemetry.committed(spans, fx.tasks, fx.stepsDone);
        } catch (RuntimeException e) {
            telemetry.failed(spans, e);
            throw e;
        }
    }

    private void releaseLease(long taskId, long token) {
        try {
            dsl.execute("update ordo.task set lease_owner = null, lease_token = null, lease_expires_at = null"
                    + " where id = ? and lease_token = ?", taskId, token);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "task " + taskId + ": could not release its lease: " + e.getMessage());
        }
    }

    private record Parsed(Message message, JsonNode body, long taskId) {
    }

    /**
     * The messages a pass applies and the tasks it holds, with their lease token. {@code locked}: the tasks are
     * row-locked by the pass's own transaction (their token is whatever the row had, often none); otherwise they
     * are leased and the token is this node's fencing token.
     */
    record Claim(List<Parsed> messages, Map<Long, Long> tokens, boolean locked) {
    }

    private Claim claim(DSLContext tx) {
        tx.execute(INDEX_PLANS);
        QueueClient queue = new QueueClient(tx);
        List<Message> read = queue.read(QUEUE, settings.leaseTtl(), settings.batchSize());
        if (read.isEmpty()) {
            return new Claim(List.of(), Map.of(), false);
        }
        List<Long> malformed = new ArrayList<>();
        List<Parsed> parsed = parse(tx, read, malformed);
        Long[] ids = parsed.stream().map(Parsed::taskId).distinct().toArray(Long[]::new);
        Map<Long, Long> tokens = new HashMap<>();
        for (Record r : tx.fetch("""
                with cand as (
                    select id, lease_owner from ordo.task
                    where id = any (?::bigint[]) and (lease_owner is null or lease_owner = ? or lease_expires_at < now())
                    order by id
                    for update skip locked
                )
                update ordo.task t
                set lease_owner = ?, lease_token = nextval('ordo.lease_token_seq'),
                    lease_expires_at = now() + ? * interval '1 millisecond'
                from cand where t.id = cand.id
                returning t.id, t.lease_token, cand.lease_owner""",
                ids, settings.nodeId(), settings.nodeId(), settings.leaseTtl().toMillis())) {
            tokens.put(value(r, 0), value(r, 1));
            String previous = value(r, 2);
            if (previous != null && !previous.equals(settings.nodeId())) {
                metrics.leaseTakeovers.increment();
            }
        }
        Claim claim = sort(tx, queue, parsed, tokens, malformed, false);
        claim.messages.forEach(p -> inFlight.add(p.message.id()));
        return claim;
    }

    /** Parses the messages; those past the read cap or malformed are dead-lettered and added to {@code malformed}. */
    private List<Parsed> parse(DSLContext tx, List<Message> read, List<Long> malformed) {
        List<Parsed> parsed = new ArrayList<>(read.size());
        for (Message m : read) {
            if (m.readCount() > settings.maxMessageReads()) {
                String reason = "read " + m.readCount() + " times without being processed (the limit is "
                        + settings.maxMessageReads() + ")";
                malformed.add(m.id());
                deadLetterMessage(tx, m, reason);
                JsonNode taskId = Json.parse(m.body()).get("task_id");
                if (taskId != null && taskId.canConvertToLong()) {
                    // the task cannot move on without this message: fail it, with the dead letter saying why
                    tx.execute("select ordo.stop_task(id, 'failed', ?, ?) from ordo.task where id = ?",
                            "orchestration message " + m.id() + " " + reason, actor, taskId.asLong());
                }
                continue;
            }
            JsonNode body = Json.parse(m.body());
            JsonNode taskId = body.get("task_id");
            if (taskId == null || !taskId.canConvertToLong() || !body.path("type").isTextual()) {
                malformed.add(m.id());
                deadLetterMessage(tx, m, "malformed orchestration message");
                continue;
            }
            parsed.add(new Parsed(m, body, taskId.asLong()));
        }
        return parsed;
    }

    /**
     * Splits the parsed messages: those of a task the pass holds are its to apply; those of a task another node holds
     * come back shortly; those of an unknown task are dead-lettered. Archives what was dead-lettered.
     */
    private Claim sort(DSLContext tx, QueueClient queue, List<Parsed> parsed, Map<Long, Long> tokens, List<Long> malformed,
                       boolean locked) {
        List<Long> unclaimedTasks = parsed.stream().map(Parsed::taskId).filter(id -> !tokens.containsKey(id)).distinct().toList();
        Set<Long> existing = unclaimedTasks.isEmpty() ? Set.of() : Set.copyOf(tx.fetch(
                "select id from ordo.task where id = any (?::bigint[])", (Object) unclaimedTasks.toArray(Long[]::new)).getValues(0, Long.class));
        List<Long> deferred = new ArrayList<>();
        List<Parsed> mine = new ArrayList<>();
        for (Parsed p : parsed) {
            if (tokens.containsKey(p.taskId)) {
                mine.add(p);
            } else if (existing.contains(p.taskId)) {
                deferred.add(p.message.id());
            } else {
                malformed.add(p.message.id());
                deadLetterMessage(tx, p.message, "message for unknown task " + p.taskId);
            }
        }
        if (!deferred.isEmpty()) {
            // another node holds the task: try again shortly, after it has released its lease
            metrics.claimConflicts.add(deferred.size());
            queue.setVisibility(QUEUE, deferred, Duration.ofMillis(100));
        }
        if (!malformed.isEmpty()) {
            queue.archive(QUEUE, malformed);
        }
        return new Claim(mine, tokens, locked);
    }

    private void deadLetterMessage(DSLContext tx, Message m, String reason) {
        LOG.log(System.Logger.Level.WARNING, "dead-lettering orchestration message " + m.id() + ": " + reason);
        tx.execute("""
                insert into ordo.dead_letter (namespace, reason, error_class, message, last_error, first_failed_at)
                values ('orchestration', ?, 'UnprocessableMessage', ?::jsonb, jsonb_build_object('message', ?::text), now())""",
                reason, m.body(), reason);
    }

    // ---------------------------------------------------------------------------------------------

    /**
     * Applies the claim's messages to its tasks, writes the effects and commits. {@code locked}: the tasks the pass's
     * transaction has locked already, and their steps; when null (two-phase passes), the leased tasks are locked and
     * read here.
     */
    private Effects apply(DSLContext tx, Claim claim, Loaded locked, List<Span> spans) {
        Loaded loaded = locked;
        if (loaded == null) {
            Long[] ids = claim.tokens.keySet().toArray(Long[]::new);
            loaded = load(tx, "where t.id = any (?::bigint[]) order by t.id for update of t", ids, (Object) ids);
        }
        Map<Long, TaskState> tasks = new LinkedHashMap<>();
        Set<String> saturated = new HashSet<>();
        for (Object[] r : loaded.tasks()) {
            long id = value(r, 0);
            if (!claim.tokens.containsKey(id)) {
                continue;
            }
            Long token = value(r, 6);
            if (!claim.locked && (token == null || !token.equals(claim.tokens.get(id)))) {
                metrics.staleLeases.increment();
                continue; // our lease expired and another node took the task: write nothing for it
            }
            tasks.put(id, new TaskState(id, value(r, 1), value(r, 2), value(r, 3),
                    value(r, 4), value(r, 5), token, value(r, 7),
                    value(r, 8), value(r, 9)));
            if (Boolean.TRUE.equals(value(r, 11))) {
                saturated.add(value(r, 1));
            }
        }
        for (Object[] r : loaded.steps()) {
            TaskState task = tasks.get(value(r, 1));
            if (task == null) {
                continue; // a task the lock skipped, or whose lease another node took
            }
            StepState s = new StepState(value(r, 0), value(r, 2), value(r, 3),
                    value(r, 4), value(r, 5), value(r, 6), value(r, 7),
                    value(r, 8),
                    new Backoff(Duration.ofMillis(value(r, 9)), value(r, 10),
                            Duration.ofMillis(value(r, 11)), value(r, 12)),
                    value(r, 13), value(r, 14), value(r, 15));
            OffsetDateTime started = value(r, 16);
            s.startedAt = started == null ? null : started.toInstant();
            task.add(s);
        }

        Effects fx = new Effects();
        fx.tasks = tasks.values();
        for (TaskState task : tasks.values()) {
            spans.add(telemetry.startTask(task));
        }
        List<Long> processed = new ArrayList<>();
        for (Parsed p : claim.messages) {
            TaskState task = tasks.get(p.taskId);
            if (task == null) {
                continue; // stale lease: the message stays and the new owner handles it
            }
            processed.add(p.message.id());
            handle(task, p.body, fx);
        }
        for (TaskState task : tasks.values()) {
            advance(task, saturated.contains(task.namespace), fx);
        }
        fx.flushAndCommit(tx, tasks.values(), processed, actor);
        metrics.messagesProcessed.add(processed.size());
        return fx;
    }

    private void handle(TaskState task, JsonNode body, Effects fx) {
        String type = body.path("type").asText();
        switch (type) {
            case "task_requested" -> {
                // sent by submissions before V18, which now set the task in progress and enqueue its first steps
                if (task.status.equals("pending")) {
                    task.setStatus("in_progress", null, fx);
                }
            }
            case "resume" -> {
                // a namespace that was saturated may have drained: advance() below enqueues what is ready
            }
            case "step_result" -> onResult(task, body, fx);
            case "step_results" -> {
                // the results of one task handed back in one call (V17), applied in the order given
                JsonNode results = body.path("results");
                if (!results.isArray() || results.isEmpty()) {
                    fx.unprocessable.add(new Unprocessable(task, body, "step_results message without results"));
                    return;
                }
                for (JsonNode result : results) {
                    onResult(task, result, fx);
                }
            }
            case "step_timeout" -> {
                ObjectNode failure = Json.object();
                failure.put("type", "step_result");
                failure.put("step_id", body.path("step_id").asLong());
                failure.put("attempt", body.path("attempt").asInt());
                failure.put("status", "failed");
                failure.set("error", Json.object().put("class", "StepTimeout")
                        .put("message", "the step ran past its timeout of " + body.path("timeout_ms").asLong() + " ms"));
                onResult(task, failure, fx);
            }
            case "retry_due" -> {
                StepState step = task.stepsById.get(body.path("step_id").asLong());
                if (step != null && step.status.equals("waiting_retry") && step.attempt == body.path("attempt").asInt()
                        && task.status.equals("in_progress")) {
                    step.retryDue = true;
                }
            }
            default -> {
                LOG.log(System.Logger.Level.WARNING, "task " + task.id + ": dead-lettering orchestration message of unknown type " + type);
                fx.unprocessable.add(new Unprocessable(task, body, "orchestration message of unknown type '" + type + "'"));
            }
        }
    }

    private void onResult(TaskState task, JsonNode body, Effects fx) {
        StepState step = task.stepsById.get(body.path("step_id").asLong());
        int attempt = body.path("attempt").asInt(-1);
        if (step == null) {
            // steps are never deleted without their task: a result for no step of the task is malformed
            metrics.resultsIgnored.increment();
            fx.unprocessable.add(new Unprocessable(task, body, "step result for unknown step " + body.path("step_id")));
            return;
        }
        String ignoredBecause = null;
        if (!task.status.equals("in_progress")) {
            ignoredBecause = "task is " + task.status;
        } else if (!step.status.equals("in_progress")) {
            ignoredBecause = "step is " + step.status;
        } else if (step.attempt != attempt) {
            ignoredBecause = "result for attempt " + attempt + " but the current attempt is " + step.attempt;
        }
        if (ignoredBecause != null) {
            metrics.resultsIgnored.increment();
            ObjectNode detail = Json.object().put("ignored", true).put("reason", ignoredBecause).put("result_attempt", attempt);
            fx.transitions.add(new Transition(task.id, step.id, step.name, step.status, step.status, attempt, detail.toString()));
            return;
        }
        if (body.path("status").asText().equals("succeeded")) {
            JsonNode result = body.get("result");
            step.result = result == null || result.isNull() ? "null" : result.toString();
            step.setStatus("complete", task, null, fx);
            step.completedNow = true;
            fx.stepsDone.add(new EngineTelemetry.StepDone(task, step, step.ranFor(clock)));
            task.stepsComplete++;
            task.dirty = true;
            for (StepState child : task.steps) {
                if (child.dependsOn.contains(step.name)) {
                    child.pendingDeps--;
                    child.dirty = true;
                }
            }
            metrics.stepsCompleted.increment();
            return;
        }
        JsonNode error = body.has("error") && body.get("error").isObject() ? body.get("error") : Json.object().put("message", "failed");
        ObjectNode entry = Json.object();
        entry.put("attempt", attempt);
        entry.put("at", clock.instant().toString());
        entry.set("error", error);
        step.addError(entry, error);
        boolean permanent = body.path("permanent").asBoolean(false);
        if (permanent || step.attempt >= step.maxAttempts) {
            step.setStatus("failed", task, Json.object().set("error", error).toString(), fx);
            step.completedNow = true;
            fx.deadLetters.add(new DeadLetter(task, step, permanent ? "permanent_failure" : "attempts_exhausted", error));
            fx.stepsDone.add(new EngineTelemetry.StepDone(task, step, step.ranFor(clock)));
            failTask(task, step, error, fx);
            metrics.stepsFailed.increment();
        } else {
            long delayMs = body.has("retry_after_ms") && body.get("retry_after_ms").canConvertToLong()
                    ? Math.min(Math.max(0, body.get("retry_after_ms").asLong()), step.backoff.max().toMillis())
                    : step.backoff.delay(step.attempt, random).toMillis();
            step.retryDelayMs = delayMs;
            step.setStatus("waiting_retry", task, Json.object().put("retry_in_ms", delayMs).toString(), fx);
            fx.retries.add(new Retry(task.id, step.id, step.attempt, delayMs, task.priority));
            metrics.stepsRetried.increment();
        }
    }

    private void failTask(TaskState task, StepState failed, JsonNode error, Effects fx) {
        for (StepState s : task.steps) {
            if (s != failed && Set.of("pending", "enqueued", "in_progress", "waiting_retry").contains(s.status)) {
                if (s.msgId != null) {
                    fx.cancelledMessages.computeIfAbsent(task.namespace, k -> new ArrayList<>()).add(s.msgId);
                    s.msgId = null;
                }
                s.setStatus("cancelled", task, Json.object().put("reason", "step " + failed.name + " failed").toString(), fx);
                s.completedNow = true;
            }
        }
        ObjectNode taskError = Json.object().put("step", failed.name);
        taskError.set("error", error);
        task.error = taskError.toString();
        task.setStatus("failed", taskError.toString(), fx);
    }

    /**
     * Enqueues every ready step and finishes the task when all steps are complete. While the namespace is
     * saturated (backpressure critical) nothing is enqueued: the task is looked at again a little later.
     */
    private void advance(TaskState task, boolean saturated, Effects fx) {
        if (!task.status.equals("in_progress")) {
            return;
        }
        for (StepState s : task.steps) {
            boolean ready = (s.status.equals("pending") && s.pendingDeps == 0) || (s.status.equals("waiting_retry") && s.retryDue);
            if (ready && saturated) {
                fx.resumeLater.add(task);
                metrics.backpressureDeferrals.increment();
                break;
            }
            if (ready) {
                s.attempt++;
                s.setStatus("enqueued", task, null, fx);
                s.enqueuedNow = true;
                fx.enqueue(task, s);
            }
        }
        if (task.stepsComplete == task.stepsTotal) {
            task.setStatus("complete", null, fx);
            metrics.tasksCompleted.increment();
        }
    }

    // ---------------------------------------------------------------------------------------------

    record Transition(long taskId, Long stepId, String stepName, String from, String to, Integer attempt, String detail) {
    }

    record DeadLetter(TaskState task, StepState step, String reason, JsonNode error) {
    }

    /** An orchestration message about a known task that cannot be applied; it is dead-lettered, not dropped. */
    record Unprocessable(TaskState task, JsonNode message, String reason) {
    }

    record Retry(long taskId, long stepId, int attempt, long delayMs, int priority) {
    }

    static final class TaskState {
        final long id;
        final String namespace;
        String status;
        final int priority;
        final int stepsTotal;
        int stepsComplete;
        /** The lease token the task row has while this pass holds it (none when a single-transaction pass locked it). */
        final Long token;
        final String traceContext;
        /** Trace context the steps enqueued now carry: the span of this pass's work on the task. */
        String stepTraceContext;
        final String template;
        final String version;
        String error;
        boolean dirty;
        boolean finished;
        final List<StepState> steps = new ArrayList<>();
        final Map<Long, StepState> stepsById = new HashMap<>();

        TaskState(long id, String namespace, String status, int priority, int stepsTotal, int stepsComplete, Long token,
                  String traceContext, String template, String version) {
            this.id = id;
            this.namespace = namespace;
            this.status = status;
            this.priority = priority;
            this.stepsTotal = stepsTotal;
            this.stepsComplete = stepsComplete;
            this.token = token;
            this.traceContext = traceContext;
            this.stepTraceContext = traceContext;
            this.template = template;
            this.version = version;
        }

        void add(StepState s) {
            steps.add(s);
            stepsById.put(s.id, s);
        }

        void setStatus(String to, String detail, Effects fx) {
            fx.transitions.add(new Transition(id, null, null, status, to, null, detail));
            finished = to.equals("complete") || to.equals("failed") || to.equals("cancelled");
            status = to;
            dirty = true;
        }
    }

    static final class StepState {
        final long id;
        final String name;
        final String handler;
        final List<String> dependsOn;
        int pendingDeps;
        String status;
        int attempt;
        final int maxAttempts;
        final Backoff backoff;
        final long timeoutMs;
        Long msgId;
        /** The step's errors as read; parsed only when the pass adds one, and written back only then. */
        private final String errorsRead;
        private ArrayNode errors;
        /** The error this pass recorded (the step's new {@code last_error}), or null: the row keeps its own. */
        String lastError;
        String result;
        Long retryDelayMs;
        Instant startedAt;
        boolean retryDue;
        boolean enqueuedNow;
        boolean completedNow;
        boolean dirty;

        StepState(long id, String name, String handler, String[] dependsOn, int pendingDeps, String status, int attempt,
                  int maxAttempts, Backoff backoff, long timeoutMs, Long msgId, String errors) {
            this.id = id;
            this.name = name;
            this.handler = handler;
            this.dependsOn = List.of(dependsOn);
            this.pendingDeps = pendingDeps;
            this.status = status;
            this.attempt = attempt;
            this.maxAttempts = maxAttempts;
            this.backoff = backoff;
            this.timeoutMs = timeoutMs;
            this.msgId = msgId;
            this.errorsRead = errors;
        }

        /** The errors of every attempt so far, oldest first. */
        ArrayNode errors() {
            if (errors == null) {
                errors = (ArrayNode) Json.parse(errorsRead);
            }
            return errors;
        }

        /** Records an attempt's error ({@code entry}: attempt, time, error) and makes {@code error} the last one. */
        void addError(ObjectNode entry, JsonNode error) {
            errors().add(entry);
            lastError = error.toString();
            dirty = true;
        }

        /** The errors as JSON when this pass added one; null when they are as read. */
        String errorsWritten() {
            return errors == null || lastError == null ? null : errors.toString();
        }

        Duration ranFor(Clock clock) {
            return startedAt == null ? null : Duration.between(startedAt, clock.instant());
        }

        void setStatus(String to, TaskState task, String detail, Effects fx) {
            fx.transitions.add(new Transition(task.id, id, name, status, to, attempt, detail));
            status = to;
            dirty = true;
        }
    }
}

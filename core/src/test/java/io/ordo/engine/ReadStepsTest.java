package io.ordo.engine;

import com.fasterxml.jackson.databind.JsonNode;
import io.ordo.Json;
import io.ordo.task.TaskClient;
import io.ordo.template.TemplateRegistry;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.jooq.Result;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What ordo.read_steps does with each message it reads: starts the step (attempt, context, parents' results,
 * deadline, transition), counts a redelivery as a new attempt, gives up through the orchestrator on a step whose
 * attempts are used up, and drops messages of steps that are finished, superseded or unknown.
 */
@ExtendWith(OrdoDatabaseExtension.class)
class ReadStepsTest {
    private static final String READ = """
            select msg_id, task_id, step_id, step_name, handler, attempt, max_attempts, context::text, parent_results::text,
                   deadline, headers::text, template_name, template_version
            from ordo.read_steps(?, ?, ?)""";

    @Test
    void a_read_starts_the_step_with_its_context_and_its_parents_results_and_logs_the_transition(TestDatabase db) {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.template("reads", "pair", "3", List.of(
                EngineFixture.step("first", "h1", List.of(), "\"timeout\":\"90s\",\"retry\":{\"max_attempts\":2}"),
                EngineFixture.step("second", "h2", List.of("first"), null))));
        long taskId = new TaskClient(dsl).submit("reads", "pair", "{\"order\": 7}");
        orchestrate(db);

        Result<Record> first = dsl.fetch(READ, "reads", 30.0, 10);
        assertThat(first).hasSize(1);
        Record r = first.get(0);
        assertThat(r.get("task_id", Long.class)).isEqualTo(taskId);
        assertThat(r.get("step_name", String.class)).isEqualTo("first");
        assertThat(r.get("handler", String.class)).isEqualTo("h1");
        assertThat(r.get("attempt", Integer.class)).isEqualTo(1);
        assertThat(r.get("max_attempts", Integer.class)).isEqualTo(2);
        assertThat(Json.parse(r.get("context", String.class)).path("order").asInt()).isEqualTo(7);
        assertThat(r.get("parent_results", String.class)).isEqualTo("{}");
        assertThat(r.get("template_name", String.class)).isEqualTo("pair");
        assertThat(r.get("template_version", String.class)).isEqualTo("3");
        Record step = dsl.fetchOne("select status, attempt, started_at, msg_id from ordo.step where id = ?", r.get("step_id", Long.class));
        assertThat(step.get(0, String.class)).isEqualTo("in_progress");
        assertThat(step.get(1, Integer.class)).isEqualTo(1);
        assertThat(step.get(3, Long.class)).isEqualTo(r.get("msg_id", Long.class));
        OffsetDateTime started = step.get(2, OffsetDateTime.class);
        assertThat(r.get("deadline", OffsetDateTime.class).toInstant()).isEqualTo(started.toInstant().plusSeconds(90));
        assertThat(transitions(dsl, r.get("step_id", Long.class))).containsExactly("null>pending", "pending>enqueued", "enqueued>in_progress");
        assertThat(dsl.fetchOne("select actor from ordo.transition where step_id = ? and to_state = 'in_progress'",
                r.get("step_id", Long.class)).get(0, String.class)).startsWith("worker:");

        complete(dsl, r, "{\"total\": 42}");
        orchestrate(db);
        Result<Record> second = dsl.fetch(READ, "reads", 30.0, 10);
        assertThat(second).hasSize(1);
        assertThat(second.get(0).get("step_name", String.class)).isEqualTo("second");
        JsonNode parents = Json.parse(second.get(0).get("parent_results", String.class));
        assertThat(parents.path("first").path("total").asInt()).as("the result of the step it depends on").isEqualTo(42);
        assertThat(parents.size()).isEqualTo(1);
    }

    @Test
    void a_message_read_again_after_its_visibility_timeout_is_a_new_attempt_that_says_it_was_redelivered(TestDatabase db) {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.template("rereads", "one", "1", List.of(
                EngineFixture.step("only", "h", List.of(), "\"retry\":{\"max_attempts\":3}"))));
        new TaskClient(dsl).submit("rereads", "one", "{}");
        orchestrate(db);

        Record first = dsl.fetchOne(READ, "rereads", 0.0, 10);
        Record again = dsl.fetchOne(READ, "rereads", 30.0, 10);
        assertThat(again).as("visible again at once: it was read with a visibility timeout of 0").isNotNull();
        assertThat(again.get("msg_id", Long.class)).isEqualTo(first.get("msg_id", Long.class));
        assertThat(first.get("attempt", Integer.class)).isEqualTo(1);
        assertThat(again.get("attempt", Integer.class)).isEqualTo(2);
        long stepId = first.get("step_id", Long.class);
        assertThat(dsl.fetchOne("select attempt from ordo.step where id = ?", stepId).get(0, Integer.class)).isEqualTo(2);
        assertThat(transitions(dsl, stepId)).containsExactly("null>pending", "pending>enqueued", "enqueued>in_progress",
                "in_progress>in_progress");
        assertThat(dsl.fetchOne("select detail ->> 'redelivered' from ordo.transition where step_id = ? and from_state = 'in_progress'",
                stepId).get(0, String.class)).isEqualTo("true");
        assertThat(dsl.fetchOne("select read_ct from ordo.q_ns_rereads where msg_id = ?", first.get("msg_id", Long.class))
                .get(0, Integer.class)).isEqualTo(2);
    }

    @Test
    void a_redelivered_message_whose_step_has_no_attempts_left_is_dropped_and_fails_the_step_through_the_orchestrator(TestDatabase db) {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.template("lost", "one", "1", List.of(
                EngineFixture.step("only", "h", List.of(), "\"retry\":{\"max_attempts\":1}"))));
        long taskId = new TaskClient(dsl).submit("lost", "one", "{}");
        orchestrate(db);
        Record first = dsl.fetchOne(READ, "lost", 0.0, 10);
        long stepId = first.get("step_id", Long.class);
        long before = dsl.fetchOne("select count(*) from ordo.q_orchestration").get(0, Long.class);

        assertThat(dsl.fetch(READ, "lost", 30.0, 10)).as("no attempt is left to run").isEmpty();
        assertThat(dsl.fetchOne("select count(*) from ordo.q_ns_lost").get(0, Long.class)).as("its message is gone").isZero();
        Record sent = dsl.fetchOne("select message::text from ordo.q_orchestration order by msg_id desc limit 1");
        assertThat(dsl.fetchOne("select count(*) from ordo.q_orchestration").get(0, Long.class)).isEqualTo(before + 1);
        JsonNode result = Json.parse(sent.get(0, String.class));
        assertThat(result.path("type").asText()).isEqualTo("step_result");
        assertThat(result.path("task_id").asLong()).isEqualTo(taskId);
        assertThat(result.path("step_id").asLong()).isEqualTo(stepId);
        assertThat(result.path("attempt").asInt()).isEqualTo(1);
        assertThat(result.path("status").asText()).isEqualTo("failed");
        assertThat(result.path("permanent").asBoolean()).isTrue();
        assertThat(result.path("error").path("class").asText()).isEqualTo("WorkerLost");
        assertThat(dsl.fetchOne("select status, attempt from ordo.step where id = ?", stepId).intoArray())
                .as("the orchestrator decides: the step is left as it was").containsExactly("in_progress", 1);

        orchestrate(db);
        assertThat(dsl.fetchOne("select status from ordo.task where id = ?", taskId).get(0, String.class)).isEqualTo("failed");
    }

    @Test
    void messages_of_finished_superseded_or_unknown_steps_are_dropped_unread_beside_a_good_one(TestDatabase db) {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.template("stale", "pair", "1", List.of(
                EngineFixture.step("first", "h", List.of(), null),
                EngineFixture.step("second", "h", List.of("first"), null))));
        new TaskClient(dsl).submit("stale", "pair", "{}");
        orchestrate(db);
        Record first = dsl.fetchOne(READ, "stale", 30.0, 10);
        long firstStep = first.get("step_id", Long.class);
        complete(dsl, first, "{}");
        orchestrate(db); // first is complete, second is enqueued
        long secondStep = dsl.fetchOne("select id from ordo.step where task_id = ? and name = 'second'", first.get("task_id", Long.class))
                .get(0, Long.class);

        long finished = send(dsl, "stale", firstStep, 1);
        long superseded = send(dsl, "stale", secondStep, 1); // the step's message is another one
        long unknown = send(dsl, "stale", 9_000_000_000L, 1);
        Result<Record> read = dsl.fetch(READ, "stale", 30.0, 10);

        assertThat(read).hasSize(1);
        assertThat(read.get(0).get("step_id", Long.class)).isEqualTo(secondStep);
        assertThat(dsl.fetchOne("select count(*) from ordo.q_ns_stale where msg_id in (?, ?, ?)", finished, superseded, unknown)
                .get(0, Long.class)).as("the stale messages are dropped").isZero();
        assertThat(dsl.fetchOne("select status from ordo.step where id = ?", firstStep).get(0, String.class)).isEqualTo("complete");
        assertThat(transitions(dsl, secondStep)).containsExactly("null>pending", "pending>enqueued", "enqueued>in_progress");
    }

    /**
     * A stale message naming a step that is enqueued with another message, read on its own: V24 starts a step in one
     * update only if the step is still enqueued with the very message read, so the stale one starts nothing and is
     * dropped, and the step's own message starts it after.
     */
    @Test
    void a_stale_message_read_alone_does_not_start_a_step_enqueued_with_another(TestDatabase db) {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.chain("early", "two", 2, "h"));
        new TaskClient(dsl).submit("early", "two", "{}"); // enqueues the first step (V18)
        long taskId = dsl.fetchOne("select max(id) from ordo.task where namespace = 'early'").get(0, Long.class);
        long secondStep = dsl.fetchOne("select max(id) from ordo.step where task_id = ?", taskId).get(0, Long.class);
        long stale = send(dsl, "early", secondStep, 1); // before the step's own message: read first

        Record first = dsl.fetchOne(READ, "early", 30.0, 1);
        assertThat(first.get("step_id", Long.class)).isNotEqualTo(secondStep);
        complete(dsl, first, "{}");
        orchestrate(db);
        long own = dsl.fetchOne("select msg_id from ordo.step where id = ? and status = 'enqueued'", secondStep).get(0, Long.class);

        assertThat(dsl.fetch(READ, "early", 30.0, 1)).as("the stale message, read alone, starts nothing").isEmpty();
        assertThat(dsl.fetchOne("select count(*) from ordo.q_ns_early where msg_id = ?", stale).get(0, Long.class)).isZero();
        assertThat(transitions(dsl, secondStep)).containsExactly("null>pending", "pending>enqueued");

        Record second = dsl.fetchOne(READ, "early", 30.0, 1);
        assertThat(second.get("msg_id", Long.class)).isEqualTo(own);
        assertThat(second.get("step_id", Long.class)).isEqualTo(secondStep);
        assertThat(transitions(dsl, secondStep)).containsExactly("null>pending", "pending>enqueued", "enqueued>in_progress");
    }

    @Test
    void the_worker_functions_find_steps_and_tasks_by_key_with_plans_made_while_the_tables_were_small(TestDatabase db) throws Exception {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.template("grows", "one", "1", List.of(EngineFixture.step("only", "h", List.of(), null))));
        TaskClient tasks = new TaskClient(dsl);
        tasks.submit("grows", "one", "{}");
        orchestrate(db);
        try (var session = db.connect()) {
            // the session plans the functions' statements now, on a step table of one row (V15 keeps those plans)
            assertThat(cycle(session, 5)).isEqualTo(1);
            dsl.execute("select count(ordo.submit_task('grows', 'one', null, '{}'::jsonb)) from generate_series(1, 3000)");
            orchestrate(db);

            session.setAutoCommit(false);
            long[] before = scans(session);
            assertThat(cycle(session, 20)).isEqualTo(20);
            long[] after = scans(session);
            session.commit();
            assertThat(after[0] - before[0]).as("sequential scans of ordo.step and ordo.task").isZero();
            assertThat(after[1] - before[1]).as("index scans of ordo.step and ordo.task: the counters move").isPositive();
        } finally {
            // the other tests of this database orchestrate one batch at a time: leave no backlog ahead of them
            dsl.execute("delete from ordo.q_orchestration where (message ->> 'task_id')::bigint in (select id from ordo.task where namespace = 'grows')");
        }
    }

    /** Reads up to {@code qty} steps of namespace grows and hands back their results, on one session; returns how many. */
    /**
     * A read racing the passes that enqueue: its statement may start before a pass commits and still read the
     * messages that pass sent. V14 then saw their steps as the pass found them, pending, and dropped the messages:
     * those steps stayed enqueued without a message for ever (3 or 4 of some 9,000 in each of three runs of this test). Three sessions
     * submit chains of two steps, whose first step the submission enqueues (V18), and enqueue the second as a pass does (the
     * step enqueued and its message sent in one transaction); three read, for 15 s.
     */
    @Test
    void reads_racing_the_passes_that_enqueue_strand_no_step(TestDatabase db) throws Exception {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.chain("racing", "one", 2, "h"));
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        AtomicBoolean enqueueing = new AtomicBoolean(true);
        AtomicLong enqueued = new AtomicLong();
        AtomicLong read = new AtomicLong();
        List<Future<?>> sessions = new ArrayList<>();
        try (var pool = Executors.newFixedThreadPool(6)) {
            for (int i = 0; i < 3; i++) {
                sessions.add(pool.submit(() -> {
                    try (Connection c = db.connect();
                         var submit = c.prepareStatement("select ordo.submit_task('racing', 'one', '1', '{}'::jsonb)");
                         var enqueue = c.prepareStatement("""
                                 with sent as (
                                     insert into ordo.message (queue_name, vt, message)
                                     select 'ns_racing', clock_timestamp(), jsonb_build_object('task_id', s.task_id, 'step_id', s.id, 'attempt', 1)
                                     from ordo.step s where s.task_id = ? and s.name = 's1'
                                     returning msg_id, (message ->> 'step_id')::bigint as step_id)
                                 update ordo.step s set status = 'enqueued', attempt = 1, msg_id = sent.msg_id, enqueued_at = now()
                                 from sent where s.id = sent.step_id""")) {
                        while (System.nanoTime() < deadline) {
                            long task;
                            try (var rs = submit.executeQuery()) {
                                rs.next();
                                task = rs.getLong(1);
                            }
                            c.setAutoCommit(false);
                            enqueue.setLong(1, task);
                            enqueue.executeUpdate();
                            c.commit();
                            c.setAutoCommit(true);
                            enqueued.addAndGet(2);
                        }
                    }
                    return null;
                }));
            }
            for (int i = 0; i < 3; i++) {
                sessions.add(pool.submit(() -> {
                    try (Connection c = db.connect(); var reads = c.prepareStatement("select count(*) from ordo.read_steps('racing', 300, 10)")) {
                        int emptyAfterEnqueueing = 0;
                        while (emptyAfterEnqueueing < 3) {
                            long n;
                            try (var rs = reads.executeQuery()) {
                                rs.next();
                                n = rs.getLong(1);
                            }
                            read.addAndGet(n);
                            emptyAfterEnqueueing = n == 0 && !enqueueing.get() ? emptyAfterEnqueueing + 1 : 0;
                        }
                    }
                    return null;
                }));
            }
            for (int i = 0; i < 3; i++) {
                sessions.get(i).get();
            }
            enqueueing.set(false);
            for (var session : sessions) {
                session.get();
            }
        }
        assertThat(enqueued.get()).as("steps enqueued while the reads ran").isGreaterThan(3_000);
        Record steps = dsl.fetchOne("""
                select count(*) filter (where s.status = 'enqueued' and m.msg_id is null),
                       count(*) filter (where s.status = 'in_progress'),
                       count(*)
                from ordo.step s join ordo.task t on t.id = s.task_id
                left join ordo.message m on m.msg_id = s.msg_id
                where t.namespace = 'racing'""");
        assertThat(steps.get(0, Integer.class)).as("steps enqueued whose message is gone").isZero();
        assertThat(steps.get(1, Long.class)).as("every step read and started").isEqualTo(enqueued.get()).isEqualTo(read.get())
                .isEqualTo(steps.get(2, Long.class));
    }

    private static int cycle(Connection session, int qty) throws SQLException {
        List<String> results = new ArrayList<>();
        try (var read = session.prepareStatement("select msg_id, step_id, attempt from ordo.read_steps('grows', 30, ?)")) {
            read.setInt(1, qty);
            try (var rs = read.executeQuery()) {
                while (rs.next()) {
                    results.add("{\"msg_id\": %d, \"step_id\": %d, \"attempt\": %d, \"status\": \"succeeded\"}"
                            .formatted(rs.getLong(1), rs.getLong(2), rs.getInt(3)));
                }
            }
        }
        try (var complete = session.prepareStatement("select ordo.complete_steps('grows', ?::jsonb[])")) {
            complete.setArray(1, session.createArrayOf("text", results.toArray()));
            try (var rs = complete.executeQuery()) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(results.size());
            }
        }
        return results.size();
    }

    /** This transaction's sequential and index scans of ordo.step and ordo.task so far. */
    private static long[] scans(Connection session) throws SQLException {
        try (var st = session.createStatement(); var rs = st.executeQuery("""
                select sum(seq_scan), sum(coalesce(idx_scan, 0)) from pg_stat_xact_user_tables
                where relid in ('ordo.step'::regclass, 'ordo.task'::regclass)""")) {
            rs.next();
            return new long[]{rs.getLong(1), rs.getLong(2)};
        }
    }

    private static void orchestrate(TestDatabase db) {
        try (EngineFixture fixture = new EngineFixture(db)) {
            Orchestrator orchestrator = fixture.orchestrator("reads-" + System.nanoTime(), Duration.ofSeconds(30));
            orchestrator.stop(Duration.ofSeconds(5)); // its loop may have run already; run what is left by hand
            orchestrator.runOnce();
        }
    }

    private static void complete(DSLContext dsl, Record step, String result) {
        String namespace = dsl.fetchOne("select namespace from ordo.task where id = ?", step.get("task_id", Long.class)).get(0, String.class);
        String body = "{\"msg_id\": %d, \"step_id\": %d, \"attempt\": %d, \"status\": \"succeeded\", \"result\": %s}".formatted(
                step.get("msg_id", Long.class), step.get("step_id", Long.class), step.get("attempt", Integer.class), result);
        assertThat(dsl.fetchOne("select ordo.complete_steps(?, array[?::jsonb])", namespace, body).get(0, Integer.class)).isEqualTo(1);
    }

    private static long send(DSLContext dsl, String namespace, long stepId, int attempt) {
        return dsl.fetchOne("select ordo.send(?, jsonb_build_object('step_id', ?::bigint, 'attempt', ?::int))", "ns_" + namespace,
                stepId, attempt).get(0, Long.class);
    }

    private static List<String> transitions(DSLContext dsl, long stepId) {
        return dsl.fetch("select coalesce(from_state, 'null') || '>' || to_state from ordo.transition where step_id = ? order by seq", stepId)
                .getValues(0, String.class);
    }
}

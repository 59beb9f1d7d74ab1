package io.ordo.engine;

import com.fasterxml.jackson.databind.JsonNode;
import io.ordo.Json;
import io.ordo.task.StepStatus;
import io.ordo.task.SubmitOptions;
import io.ordo.task.TaskClient;
import io.ordo.task.TaskStatus;
import io.ordo.task.TaskView;
import io.ordo.template.TemplateRegistry;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

/**
 * A submission enqueues the steps without dependencies itself, in its own transaction (V18): the task is in progress
 * when it commits, its first steps are on the namespace's queue, and the transition log holds every change a pass
 * would have written. Orchestrators take the task over from its first result.
 */
@ExtendWith(OrdoDatabaseExtension.class)
class SubmissionTest {

    private static final String TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    @Test
    void a_submission_enqueues_the_first_steps_and_logs_each_change_then_orchestrators_take_over(TestDatabase db) throws Exception {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.template("first", "join", "1", List.of(
                EngineFixture.step("a", "h", List.of(), null), EngineFixture.step("b", "h", List.of(), null),
                EngineFixture.step("c", "h", List.of("a", "b"), null))));
        TaskClient tasks = new TaskClient(dsl);
        long id;
        try (Connection listener = db.connect()) {
            try (Statement st = listener.createStatement()) {
                st.execute("LISTEN ordo_ns_first");
            }
            id = tasks.submit("first", "join", null, "{\"order\": 1}",
                    SubmitOptions.DEFAULT.withPriority(5).withTraceParent(TRACEPARENT));
            PGNotification[] woken = listener.unwrap(PGConnection.class).getNotifications(5000);
            assertThat(woken).as("the idle namespace queue's consumers are woken").isNotNull();
            assertThat(Arrays.stream(woken).map(PGNotification::getName)).containsExactly("ordo_ns_first");
        }

        TaskView task = tasks.get(id).orElseThrow();
        assertThat(task.status()).isEqualTo(TaskStatus.IN_PROGRESS);
        assertThat(List.of("a", "b")).allSatisfy(name -> {
            assertThat(task.step(name).status()).isEqualTo(StepStatus.ENQUEUED);
            assertThat(task.step(name).attempt()).isEqualTo(1);
        });
        assertThat(task.step("c").status()).isEqualTo(StepStatus.PENDING);
        assertThat(task.step("c").attempt()).isZero();

        List<Record> messages = dsl.fetch("""
                select s.name, m.message::text, m.headers::text, extract(epoch from s.enqueued_at - m.vt)
                from ordo.step s join ordo.q_ns_first m on m.msg_id = s.msg_id
                where s.task_id = ? order by s.id""", id);
        assertThat(messages).extracting(r -> r.get(0, String.class)).containsExactly("a", "b");
        for (Record m : messages) {
            JsonNode body = Json.parse(m.get(1, String.class));
            assertThat(body.path("task_id").asLong()).isEqualTo(id);
            assertThat(body.path("step_id").asLong()).isEqualTo(task.step(m.get(0, String.class)).id());
            assertThat(body.path("attempt").asInt()).isEqualTo(1);
            assertThat(body.path("handler").asText()).isEqualTo("h");
            assertThat(body.path("step").asText()).isEqualTo(m.get(0, String.class));
            assertThat(Json.parse(m.get(2, String.class)).path("trace_context").path("traceparent").asText()).isEqualTo(TRACEPARENT);
            assertThat(m.get(3, Double.class)).as("priority 5 gets 5 s of head start (priority_step 1 s)").isBetween(4.5, 5.5);
        }
        assertThat(dsl.fetchOne("select count(*) from ordo.q_ns_first").get(0, Integer.class)).isEqualTo(2);
        assertThat(dsl.fetchOne("select count(*) from ordo.q_orchestration where (message ->> 'task_id')::bigint = ?", id)
                .get(0, Integer.class)).as("no orchestration message: nothing is left for a pass to decide").isZero();

        assertThat(dsl.fetch("""
                select step_name, from_state, to_state, attempt, actor like 'submit:%'
                from ordo.transition where task_id = ? order by seq""", id))
                .extracting(r -> tuple(r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
                .containsExactly(
                        tuple(null, null, "pending", null, true),
                        tuple("a", null, "pending", 0, true),
                        tuple("b", null, "pending", 0, true),
                        tuple("c", null, "pending", 0, true),
                        tuple(null, "pending", "in_progress", null, true),
                        tuple("a", "pending", "enqueued", 1, true),
                        tuple("b", "pending", "enqueued", 1, true));

        // from the first results on, orchestrators apply results and enqueue what becomes ready, as before
        OrchestrationPass pass = new OrchestrationPass(dsl, OrchestratorSettings.defaults("first-node"), Clock.systemUTC(),
                new Random(11), new EngineMetrics());
        try (SqlWorker worker = new SqlWorker(dsl, "first", Map.of("h", s -> Map.of("ran", s.name())), 0)) {
            assertThat(worker.runOnce(10)).isEqualTo(2);
            assertThat(pass.runOnce()).isEqualTo(1);
            assertThat(tasks.get(id).orElseThrow().step("c").status()).isEqualTo(StepStatus.ENQUEUED);
            assertThat(worker.runOnce(10)).isEqualTo(1);
            assertThat(pass.runOnce()).isEqualTo(1);
        }
        assertThat(tasks.get(id).orElseThrow().status()).isEqualTo(TaskStatus.COMPLETE);
        assertThat(dsl.fetch("select coalesce(step_name, ''), status, attempt from ordo.replay_task(?) order by 1", id))
                .as("the log alone rebuilds the task").extracting(r -> tuple(r.get(0), r.get(1), r.get(2)))
                .containsExactly(tuple("", "complete", null), tuple("a", "complete", 1), tuple("b", "complete", 1),
                        tuple("c", "complete", 1));
    }

    @Test
    void a_task_cancelled_right_after_its_submission_leaves_no_step_message(TestDatabase db) {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.fanOut("quick", "fan", 2, "h"));
        TaskClient tasks = new TaskClient(dsl);
        long id = tasks.submit("quick", "fan", "{}");
        assertThat(dsl.fetchOne("select count(*) from ordo.q_ns_quick").get(0, Integer.class)).isEqualTo(1);

        assertThat(tasks.cancel(id, "submitted by mistake")).isTrue();

        TaskView cancelled = tasks.get(id).orElseThrow();
        assertThat(cancelled.status()).isEqualTo(TaskStatus.CANCELLED);
        assertThat(cancelled.steps()).allSatisfy(step -> assertThat(step.status()).isEqualTo(StepStatus.CANCELLED));
        assertThat(dsl.fetchOne("select count(*) from ordo.q_ns_quick").get(0, Integer.class)).as("the first step's message").isZero();
        try (SqlWorker worker = new SqlWorker(dsl, "quick", Map.of("h", step -> Map.of()), 0)) {
            assertThat(worker.runOnce(10)).as("nothing left for a worker").isZero();
        }
    }

    @Test
    void a_submission_rolled_back_with_the_callers_transaction_leaves_no_step_message(TestDatabase db) throws Exception {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.chain("undone", "job", 2, "h"));
        try (Connection caller = db.connect()) {
            caller.setAutoCommit(false);
            try (Statement st = caller.createStatement()) {
                st.execute("select ordo.submit_task('undone', 'job', '1', '{}')");
                try (var rs = st.executeQuery("select count(*) from ordo.q_ns_undone")) {
                    rs.next();
                    assertThat(rs.getInt(1)).as("inside the caller's transaction").isEqualTo(1);
                }
            }
            caller.rollback();
        }
        assertThat(dsl.fetchOne("select count(*) from ordo.q_ns_undone").get(0, Integer.class)).isZero();
        assertThat(dsl.fetchOne("select count(*) from ordo.task where namespace = 'undone'").get(0, Integer.class)).isZero();
    }
}

package io.ordo.engine;

import io.ordo.task.TaskClient;
import io.ordo.template.TemplateRegistry;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.SQLException;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** ordo.complete_steps refuses malformed results with 22023, naming the result, and changes nothing. */
@ExtendWith(OrdoDatabaseExtension.class)
class CompleteStepsInputTest {

    @Test
    void malformed_results_are_refused_naming_the_result_and_leave_the_step_message_and_orchestration_queue_alone(TestDatabase db)
            throws Exception {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.template("inputs", "one", "1", List.of(EngineFixture.step("only", "echo", List.of(), null))));
        long taskId = new TaskClient(dsl).submit("inputs", "one", "{}");
        try (EngineFixture fixture = new EngineFixture(db)) {
            Orchestrator orchestrator = fixture.orchestrator("input-test", Duration.ofSeconds(30));
            orchestrator.stop(Duration.ofSeconds(5)); // its loop may have run already; run what is left by hand
            orchestrator.runOnce();
        }
        Record step = dsl.fetchOne("select msg_id, step_id, attempt from ordo.read_steps('inputs', 30, 10)");
        assertThat(step).as("the step was enqueued and read").isNotNull();
        long msgId = step.get(0, Long.class);
        long stepId = step.get(1, Long.class);
        int attempt = step.get(2, Integer.class);
        long orchestrationBefore = orchestrationMessages(dsl);

        List<String> malformed = List.of(
                "{\"msg_id\": %d, \"step_id\": %d, \"status\": \"succeeded\"}".formatted(msgId, stepId),
                "{\"msg_id\": %d, \"step_id\": %d, \"attempt\": %d, \"status\": \"maybe\"}".formatted(msgId, stepId, attempt),
                "{\"msg_id\": \"%d\", \"step_id\": %d, \"attempt\": %d, \"status\": \"succeeded\"}".formatted(msgId, stepId, attempt),
                "[1, 2]");
        for (String bad : malformed) {
            String good = "{\"msg_id\": %d, \"step_id\": %d, \"attempt\": %d, \"status\": \"succeeded\"}".formatted(msgId, stepId, attempt);
            assertThatThrownBy(() -> complete(db, good, bad))
                    .as(bad)
                    .isInstanceOfSatisfying(SQLException.class, e -> {
                        assertThat(e.getSQLState()).isEqualTo("22023");
                        assertThat(e.getMessage()).contains("each result needs msg_id, step_id, attempt and status");
                    });
        }
        assertThatThrownBy(() -> complete(db, (String) null))
                .as("a null result").isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("22023"));
        assertThatThrownBy(() -> complete(db, (String[]) null))
                .as("no array at all").isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("22004"));

        assertThat(dsl.fetchOne("select count(*) from ordo.q_ns_inputs where msg_id = ?", msgId).get(0, Integer.class))
                .as("the step message is still there").isEqualTo(1);
        assertThat(orchestrationMessages(dsl)).as("no step_result was sent").isEqualTo(orchestrationBefore);

        String good = "{\"msg_id\": %d, \"step_id\": %d, \"attempt\": %d, \"status\": \"succeeded\", \"result\": {\"ok\": true}}"
                .formatted(msgId, stepId, attempt);
        assertThat(complete(db, good)).isEqualTo(1);
        assertThat(dsl.fetchOne("select count(*) from ordo.q_ns_inputs where msg_id = ?", msgId).get(0, Integer.class)).isZero();
        Record sent = dsl.fetchOne("""
                select message ->> 'type', (message ->> 'task_id')::bigint, (message ->> 'step_id')::bigint, jsonb_exists(message, 'msg_id')
                from ordo.q_orchestration order by msg_id desc limit 1""");
        assertThat(sent.get(0, String.class)).isEqualTo("step_result");
        assertThat(sent.get(1, Long.class)).isEqualTo(taskId);
        assertThat(sent.get(2, Long.class)).isEqualTo(stepId);
        assertThat(sent.get(3, Boolean.class)).as("the message id stays with the worker").isFalse();
    }

    private static long orchestrationMessages(DSLContext dsl) {
        return dsl.fetchOne("select count(*) from ordo.q_orchestration").get(0, Long.class);
    }

    /** Calls ordo.complete_steps through plain JDBC, as a worker in any language would; null passes no array at all. */
    private static int complete(TestDatabase db, String... results) throws SQLException {
        try (var c = db.connect(); var ps = c.prepareStatement("select ordo.complete_steps('inputs', ?::jsonb[])")) {
            ps.setArray(1, results == null ? null : c.createArrayOf("text", results));
            try (var rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }
}

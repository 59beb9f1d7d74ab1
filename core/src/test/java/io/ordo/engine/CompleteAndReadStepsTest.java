package io.ordo.engine;

import io.ordo.task.TaskClient;
import io.ordo.template.TemplateRegistry;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.jooq.Result;
import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.SQLException;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * ordo.complete_and_read_steps hands results back as complete_steps does and reads as read_steps does, in one
 * transaction: when it fails, neither happened.
 */
@ExtendWith(OrdoDatabaseExtension.class)
class CompleteAndReadStepsTest {
    private static final String CALL = "select msg_id, step_id, attempt from ordo.complete_and_read_steps(?, ?::jsonb[], 30, ?)";

    @Test
    void hands_back_the_results_and_reads_the_steps_their_slots_free_in_one_call(TestDatabase db) {
        DSLContext dsl = db.dsl();
        register(dsl, "merged");
        TaskClient tasks = new TaskClient(dsl);
        for (int i = 0; i < 3; i++) {
            tasks.submit("merged", "one", "{}");
        }
        Record first = dsl.fetchOne("select msg_id, step_id, attempt from ordo.read_steps('merged', 30, 1)");

        Result<Record> next = dsl.fetch(CALL, "merged", new String[] {succeeded(first)}, 2);

        assertThat(next).hasSize(2);
        Set<Long> read = next.stream().map(r -> r.get(1, Long.class)).collect(Collectors.toSet());
        assertThat(read).doesNotContain(first.get(1, Long.class));
        assertThat(dsl.fetchOne("select count(*) from ordo.q_ns_merged where msg_id = ?", first.get(0, Long.class)).get(0, Integer.class))
                .as("the handed-back step's message is deleted").isZero();
        assertThat(stepResults(dsl, first.get(1, Long.class))).as("its result went to the orchestrator").isEqualTo(1);
        assertThat(dsl.fetchOne("select count(*) from ordo.step where id = any (?) and status = 'in_progress' and attempt = 1",
                (Object) read.toArray(Long[]::new)).get(0, Integer.class)).as("the steps read are started").isEqualTo(2);
        assertThat(dsl.fetchOne("select count(*) from ordo.q_ns_merged where msg_id = any (?) and vt > now() + interval '20 seconds'",
                (Object) next.stream().map(r -> r.get(0, Long.class)).toArray(Long[]::new)).get(0, Integer.class))
                .as("and their messages hidden for the visibility timeout").isEqualTo(2);
    }

    @Test
    void a_call_that_fails_hands_back_nothing_and_reads_nothing(TestDatabase db) {
        DSLContext dsl = db.dsl();
        register(dsl, "mergefail");
        TaskClient tasks = new TaskClient(dsl);
        tasks.submit("mergefail", "one", "{}");
        tasks.submit("mergefail", "one", "{}");
        Record first = dsl.fetchOne("select msg_id, step_id, attempt from ordo.read_steps('mergefail', 30, 1)");
        long firstMsg = first.get(0, Long.class);
        String good = succeeded(first);
        String bad = "{\"msg_id\": %d, \"step_id\": %d, \"status\": \"succeeded\"}".formatted(firstMsg, first.get(1, Long.class));

        assertThatThrownBy(() -> dsl.fetch(CALL, "mergefail", new String[] {good, bad}, 5))
                .isInstanceOfSatisfying(DataAccessException.class, e -> {
                    assertThat(e.getCause(SQLException.class).getSQLState()).isEqualTo("22023");
                    assertThat(e.getMessage()).contains("each result needs msg_id, step_id, attempt and status").contains("\"status\": \"succeeded\"");
                });
        assertThatThrownBy(() -> dsl.fetch(CALL, "mergefail", null, 5))
                .isInstanceOfSatisfying(DataAccessException.class,
                        e -> assertThat(e.getCause(SQLException.class).getSQLState()).isEqualTo("22004"));

        assertThat(dsl.fetchOne("select count(*) from ordo.q_ns_mergefail where msg_id = ?", firstMsg).get(0, Integer.class))
                .as("the step message is still there").isEqualTo(1);
        assertThat(stepResults(dsl, first.get(1, Long.class))).as("no result was sent").isZero();
        assertThat(dsl.fetchOne("select count(*) from ordo.q_ns_mergefail where msg_id <> ? and read_ct = 0", firstMsg).get(0, Integer.class))
                .as("the other step's message was not read").isEqualTo(1);
        assertThat(dsl.fetchOne("select count(*) from ordo.step s join ordo.task t on t.id = s.task_id "
                + "where t.namespace = 'mergefail' and s.status = 'enqueued'").get(0, Integer.class)).isEqualTo(1);

        // asking for none hands back without reading
        assertThat(dsl.fetch(CALL, "mergefail", new String[] {good}, 0)).isEmpty();
        assertThat(dsl.fetchOne("select count(*) from ordo.q_ns_mergefail where msg_id = ?", firstMsg).get(0, Integer.class)).isZero();
        assertThat(stepResults(dsl, first.get(1, Long.class))).isEqualTo(1);
        assertThat(dsl.fetchOne("select count(*) from ordo.q_ns_mergefail where read_ct = 0").get(0, Integer.class)).isEqualTo(1);
    }

    private static void register(DSLContext dsl, String namespace) {
        new TemplateRegistry(dsl).register(EngineFixture.template(namespace, "one", "1",
                List.of(EngineFixture.step("only", "h", List.of(), null))));
    }

    private static String succeeded(Record read) {
        return "{\"msg_id\": %d, \"step_id\": %d, \"attempt\": %d, \"status\": \"succeeded\", \"result\": {}}"
                .formatted(read.get(0, Long.class), read.get(1, Long.class), read.get(2, Integer.class));
    }

    private static int stepResults(DSLContext dsl, long stepId) {
        return dsl.fetchOne("select count(*) from ordo.q_orchestration where message ->> 'type' = 'step_result' "
                + "and (message ->> 'step_id')::bigint = ?", stepId).get(0, Integer.class);
    }
}

package io.ordo.engine;

import com.fasterxml.jackson.databind.JsonNode;
import io.ordo.Json;
import io.ordo.task.StepStatus;
import io.ordo.task.TaskClient;
import io.ordo.task.TaskView;
import io.ordo.template.TemplateRegistry;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The results of one task handed back in one call travel as one orchestration message (V17), and the pass applies
 * each of them, fenced by its attempt, as if they had come one by one.
 */
@ExtendWith(OrdoDatabaseExtension.class)
class StepResultsTest {

    @Test
    void the_results_of_a_task_handed_back_together_are_one_message_and_each_is_applied(TestDatabase db) throws Exception {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.fanOut("results", "fan", 3, "h"));
        TaskClient tasks = new TaskClient(dsl);
        long first = tasks.submit("results", "fan", "{}");
        long second = tasks.submit("results", "fan", "{}");
        OrchestrationPass pass = new OrchestrationPass(dsl, OrchestratorSettings.defaults("results-node"), Clock.systemUTC(),
                new Random(7), new EngineMetrics());
        drain(pass);
        complete(db, read(db).stream().map(r -> succeeded(r, "{\"start\": true}")).toList()); // both tasks' start steps
        drain(pass);

        List<Record> middles = read(db);
        assertThat(middles).hasSize(6);
        List<String> results = new ArrayList<>();
        for (Record r : middles) {
            long task = r.get("task_id", Long.class);
            String stepName = r.get("step_name", String.class);
            if (task == second && stepName.equals("m1")) {
                // a late result of an attempt that is not the step's current one: fenced, the others still applied
                results.add(result(r, r.get("attempt", Integer.class) - 1, "succeeded", "{\"late\": true}"));
            } else {
                results.add(succeeded(r, "{\"step\": \"" + stepName + "\"}"));
            }
        }
        long before = count(dsl, "select count(*) from ordo.q_orchestration");
        assertThat(complete(db, results)).as("results sent").isEqualTo(6);
        List<Record> sent = dsl.fetch("""
                select message ->> 'type', (message ->> 'task_id')::bigint, message -> 'results'
                from ordo.q_orchestration order by msg_id""");
        assertThat(sent).hasSize((int) before + 2);
        for (Record m : sent.subList((int) before, sent.size())) {
            assertThat(m.get(0, String.class)).isEqualTo("step_results");
            JsonNode carried = Json.parse(m.get(2, String.class));
            assertThat(carried).hasSize(3);
            for (JsonNode r : carried) {
                assertThat(r.has("type") || r.has("task_id") || r.has("msg_id")).as("each result as the worker gave it, less its message id").isFalse();
                assertThat(r.path("attempt").isInt()).isTrue();
            }
        }
        assertThat(sent.subList((int) before, sent.size())).extracting(m -> m.get(1, Long.class)).containsExactlyInAnyOrder(first, second);

        drain(pass);
        TaskView one = tasks.get(first).orElseThrow();
        assertThat(List.of("m0", "m1", "m2")).allSatisfy(name -> assertThat(one.step(name).status()).isEqualTo(StepStatus.COMPLETE));
        assertThat(one.step("end").status()).as("enqueued once all three middle steps completed").isEqualTo(StepStatus.ENQUEUED);
        assertThat(dsl.fetchOne("select result ->> 'step' from ordo.step where task_id = ? and name = 'm2'", first).get(0, String.class))
                .isEqualTo("m2");
        TaskView two = tasks.get(second).orElseThrow();
        assertThat(two.step("m0").status()).isEqualTo(StepStatus.COMPLETE);
        assertThat(two.step("m2").status()).isEqualTo(StepStatus.COMPLETE);
        assertThat(two.step("m1").status()).as("its late result was ignored").isEqualTo(StepStatus.IN_PROGRESS);
        assertThat(two.step("end").status()).isEqualTo(StepStatus.PENDING);
        assertThat(count(dsl, """
                select count(*) from ordo.transition t join ordo.step s on s.id = t.step_id
                where s.task_id = %d and s.name = 'm1' and t.detail ->> 'ignored' = 'true'""".formatted(second))).isEqualTo(1);
    }

    @Test
    void a_result_names_neither_its_message_type_nor_its_task(TestDatabase db) throws Exception {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.chain("results", "one", 1, "h"));
        TaskClient tasks = new TaskClient(dsl);
        long task = tasks.submit("results", "one", "{}");
        long other = tasks.submit("results", "one", "{}");
        Record step = read(db).stream().filter(r -> r.get("task_id", Long.class) == task).findFirst().orElseThrow();
        String forged = "{\"msg_id\": %d, \"step_id\": %d, \"attempt\": %d, \"status\": \"succeeded\", \"result\": {\"n\": 1}, \"type\": \"cancel\", \"task_id\": %d}"
                .formatted(step.get("msg_id", Long.class), step.get("step_id", Long.class), step.get("attempt", Integer.class), other);

        assertThat(complete(db, List.of(forged))).isEqualTo(1);

        Record sent = dsl.fetchOne("select message ->> 'type', (message ->> 'task_id')::bigint, message -> 'result' ->> 'n', message -> 'msg_id' is not null"
                + " from ordo.q_orchestration order by msg_id desc limit 1");
        assertThat(sent.get(0, String.class)).isEqualTo("step_result");
        assertThat(sent.get(1, Long.class)).as("the step's own task").isEqualTo(task);
        assertThat(sent.get(2, String.class)).isEqualTo("1");
        assertThat(sent.get(3, Boolean.class)).isFalse();
    }

    @Test
    void a_step_results_message_without_results_is_dead_lettered_and_leaves_the_task_as_it_was(TestDatabase db) {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.chain("empty", "one", 1, "h"));
        TaskClient tasks = new TaskClient(dsl);
        long task = tasks.submit("empty", "one", "{}");
        OrchestrationPass pass = new OrchestrationPass(dsl, OrchestratorSettings.defaults("empty-node"), Clock.systemUTC(),
                new Random(9), new EngineMetrics());
        drain(pass);
        for (String body : List.of("{\"type\": \"step_results\", \"task_id\": %d}", "{\"type\": \"step_results\", \"task_id\": %d, \"results\": []}")) {
            dsl.fetch("select ordo.send('orchestration', ?::jsonb)", body.formatted(task));
        }
        drain(pass);

        assertThat(dsl.fetch("select reason from ordo.dead_letter where task_id = ? order by id", task).getValues(0, String.class))
                .containsExactly("step_results message without results", "step_results message without results");
        assertThat(count(dsl, "select count(*) from ordo.q_orchestration")).as("both messages left the queue").isZero();
        assertThat(tasks.get(task).orElseThrow().step("s0").status()).isEqualTo(StepStatus.ENQUEUED);
    }

    private static void drain(OrchestrationPass pass) {
        while (pass.runOnce() > 0) {
            Thread.onSpinWait();
        }
    }

    private static List<Record> read(TestDatabase db) {
        return db.dsl().fetch("select msg_id, task_id, step_id, step_name, attempt from ordo.read_steps('results', 30, 50)");
    }

    private static String succeeded(Record r, String result) {
        return result(r, r.get("attempt", Integer.class), "succeeded", result);
    }

    private static String result(Record r, int attempt, String status, String result) {
        return "{\"msg_id\": %d, \"step_id\": %d, \"attempt\": %d, \"status\": \"%s\", \"result\": %s}"
                .formatted(r.get("msg_id", Long.class), r.get("step_id", Long.class), attempt, status, result);
    }

    /** Calls ordo.complete_steps through plain JDBC, as a worker in any language would. */
    private static int complete(TestDatabase db, List<String> results) throws SQLException {
        try (Connection c = db.connect(); var ps = c.prepareStatement("select ordo.complete_steps('results', ?::jsonb[])")) {
            ps.setArray(1, c.createArrayOf("text", results.toArray()));
            try (var rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    private static long count(DSLContext dsl, String sql) {
        return dsl.fetchOne(sql).get(0, Long.class);
    }
}

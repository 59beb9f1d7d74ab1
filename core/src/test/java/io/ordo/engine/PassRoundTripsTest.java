package io.ordo.engine;

import io.ordo.db.Database;
import io.ordo.task.StepStatus;
import io.ordo.task.TaskClient;
import io.ordo.task.TaskStatus;
import io.ordo.template.TemplateRegistry;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.StatementTap;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import javax.sql.DataSource;
import java.time.Clock;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A pass reads its messages, their tasks and their steps in one round trip, and writes and commits in a second. The
 * task ids the server reads off the messages only stand in for the pass's own parse: where the two differ, the pass
 * loads the tasks the parse names.
 */
@ExtendWith(OrdoDatabaseExtension.class)
class PassRoundTripsTest {

    @Test
    void a_pass_over_several_tasks_executes_two_statements_one_to_read_and_one_to_write(TestDatabase db) {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.chain("trips", "job", 2, "h"));
        dsl.execute("delete from ordo.q_orchestration"); // the database's other tests leave nothing for this pass
        TaskClient tasks = new TaskClient(dsl);
        long[] ids = {tasks.submit("trips", "job", "{}"), tasks.submit("trips", "job", "{}"), tasks.submit("trips", "job", "{}")};
        try (SqlWorker worker = new SqlWorker(dsl, "trips", Map.of("h", s -> Map.of()), 0)) {
            assertThat(worker.runOnce(10)).as("the first steps, enqueued at submission, run").isEqualTo(3);
        }
        AtomicInteger executions = new AtomicInteger();
        OrchestrationPass pass = new OrchestrationPass(counting(db.dataSource(), executions),
                OrchestratorSettings.defaults("trips-node"), Clock.systemUTC(), new Random(5), new EngineMetrics());

        assertThat(pass.runOnce()).isEqualTo(3);

        assertThat(executions.get()).as("statements executed by the pass").isEqualTo(2);
        for (long id : ids) {
            assertThat(tasks.get(id).orElseThrow().status()).isEqualTo(TaskStatus.IN_PROGRESS);
            assertThat(tasks.get(id).orElseThrow().step("s0").status()).isEqualTo(StepStatus.COMPLETE);
            assertThat(tasks.get(id).orElseThrow().step("s1").status()).isEqualTo(StepStatus.ENQUEUED);
        }
        assertThat(dsl.fetchOne("select count(*) from ordo.q_ns_trips").get(0, Integer.class)).isEqualTo(3);
        assertThat(dsl.fetchOne("select count(*) from ordo.q_orchestration").get(0, Integer.class)).isZero();
    }

    @Test
    void a_task_id_the_server_reads_otherwise_than_the_parse_is_loaded_by_the_parse_reading(TestDatabase db) {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.chain("edge", "job", 2, "h"));
        TaskClient tasks = new TaskClient(dsl);
        long submitted = tasks.submit("edge", "job", "{}");
        // the task moves to the largest id, pending as a task submitted before V18 is, with a task_requested message
        // that names it as 9223372036854775806.5, which the parse reads as a double that rounds to 2^63 and converts to
        // Long.MAX_VALUE, and the server truncates to Long.MAX_VALUE - 1
        long moved = Long.MAX_VALUE;
        dsl.execute("""
                insert into ordo.task (id, namespace, template_name, template_version, status, context, priority, steps_total)
                overriding system value
                select ?, namespace, template_name, template_version, 'pending', context, priority, steps_total
                from ordo.task where id = ?""", moved, submitted);
        dsl.execute("update ordo.step set task_id = ?, status = 'pending', attempt = 0, msg_id = null where task_id = ?", moved, submitted);
        dsl.execute("delete from ordo.q_ns_edge");
        dsl.execute("delete from ordo.task where id = ?", submitted);
        dsl.execute("delete from ordo.q_orchestration");
        dsl.fetch("select ordo.send('orchestration', '{\"type\": \"task_requested\", \"task_id\": 9223372036854775806.5}'::jsonb)");
        OrchestrationPass pass = new OrchestrationPass(dsl, OrchestratorSettings.defaults("edge-node"), Clock.systemUTC(),
                new Random(6), new EngineMetrics());

        assertThat(pass.runOnce()).isEqualTo(1);

        assertThat(tasks.get(moved).orElseThrow().status()).isEqualTo(TaskStatus.IN_PROGRESS);
        assertThat(tasks.get(moved).orElseThrow().step("s0").status()).isEqualTo(StepStatus.ENQUEUED);
        assertThat(dsl.fetchOne("select count(*) from ordo.q_orchestration").get(0, Integer.class)).isZero();
    }

    /** A jOOQ context over {@code pooled} that counts the statements its connections execute. */
    private static DSLContext counting(DataSource pooled, AtomicInteger executions) {
        return DSL.using(StatementTap.wrap(pooled, sql -> executions.incrementAndGet()), SQLDialect.POSTGRES, Database.jooqSettings());
    }
}

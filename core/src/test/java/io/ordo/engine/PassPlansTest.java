package io.ordo.engine;

import io.ordo.db.Database;
import io.ordo.task.StepStatus;
import io.ordo.task.TaskClient;
import io.ordo.template.TemplateRegistry;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Clock;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An orchestration pass finds its tasks and their steps by their indexes even where ordo.task and ordo.step were
 * analysed while empty (a new install after VACUUM ANALYZE, a restored schema): the planner then takes both for
 * empty, and a pass that scanned them would read every task and step at each pass until autovacuum analysed them
 * again. This class has a database of its own, so the tables are empty when the test analyses them.
 */
@ExtendWith(OrdoDatabaseExtension.class)
class PassPlansTest {

    private static final int TASKS = 500;

    @Test
    void passes_over_tables_analysed_empty_read_no_task_or_step_sequentially(TestDatabase db) throws Exception {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.chain("plans", "job", 2, "h"));
        dsl.execute("vacuum analyze ordo.task, ordo.step");
        dsl.execute("select count(ordo.submit_task('plans', 'job', '1', '{}')) from generate_series(1, ?)", TASKS);
        try (SqlWorker worker = new SqlWorker(dsl, "plans", Map.of("h", s -> Map.of()), 0)) {
            assertThat(worker.runOnce(TASKS)).as("the first steps, enqueued at submission, run").isEqualTo(TASKS);
        }

        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            SequentialReads before = SequentialReads.of(st);
            OrchestrationPass pass = new OrchestrationPass(DSL.using(c, SQLDialect.POSTGRES, Database.jooqSettings()),
                    OrchestratorSettings.defaults("plans-node"), Clock.systemUTC(), new Random(3), new EngineMetrics());
            int applied = 0;
            for (int n; (n = pass.runOnce()) > 0; ) {
                applied += n;
            }
            assertThat(applied).as("step results applied").isEqualTo(TASKS);
            SequentialReads after = SequentialReads.of(st);
            assertThat(after.tasks() - before.tasks()).as("task rows read by sequential scans in the passes").isLessThan(TASKS);
            assertThat(after.steps() - before.steps()).as("step rows read by sequential scans in the passes").isLessThan(TASKS);
        }
        long id = dsl.fetchOne("select min(id) from ordo.task where namespace = 'plans'").get(0, Long.class);
        assertThat(new TaskClient(dsl).get(id).orElseThrow().step("s1").status()).isEqualTo(StepStatus.ENQUEUED);
    }
}

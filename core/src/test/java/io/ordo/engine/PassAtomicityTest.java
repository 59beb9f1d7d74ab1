package io.ordo.engine;

import io.ordo.task.StepStatus;
import io.ordo.task.TaskClient;
import io.ordo.task.TaskStatus;
import io.ordo.template.TemplateRegistry;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Clock;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A pass writes its effects and commits in one round trip: a write that fails takes every other with it. */
@ExtendWith(OrdoDatabaseExtension.class)
class PassAtomicityTest {

    @Test
    void a_pass_whose_writes_fail_leaves_nothing_behind_and_the_next_pass_applies_the_message(TestDatabase db) {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.chain("atomic", "job", 2, "h"));
        TaskClient tasks = new TaskClient(dsl);
        long task = tasks.submit("atomic", "job", "{}");
        try (SqlWorker worker = new SqlWorker(dsl, "atomic", java.util.Map.of("h", s -> java.util.Map.of()), 0)) {
            assertThat(worker.runOnce(10)).as("the first step, enqueued at submission, runs").isEqualTo(1);
        }
        OrchestrationPass pass = new OrchestrationPass(dsl, OrchestratorSettings.defaults("atomic-node"), Clock.systemUTC(),
                new Random(3), new EngineMetrics());
        int before = count(dsl, "select count(*) from ordo.transition where task_id = " + task);

        // the transition log refuses rows: the pass's writes fail at their fourth statement, after the steps,
        // the step message and the task were written
        dsl.execute("""
                create function public.refuse_transition() returns trigger language plpgsql as
                $$ begin raise exception 'transition refused'; end $$""");
        dsl.execute("create trigger refuse before insert on ordo.transition for each row execute function public.refuse_transition()");
        assertThatThrownBy(pass::runOnce).hasMessageContaining("transition refused");

        assertThat(tasks.get(task).orElseThrow().status()).isEqualTo(TaskStatus.IN_PROGRESS);
        assertThat(tasks.get(task).orElseThrow().step("s0").status()).isEqualTo(StepStatus.IN_PROGRESS);
        assertThat(tasks.get(task).orElseThrow().step("s1").status()).isEqualTo(StepStatus.PENDING);
        assertThat(count(dsl, "select count(*) from ordo.message where queue_name = 'ns_atomic'")).isZero();
        assertThat(count(dsl, "select count(*) from ordo.message where queue_name = 'orchestration'")).isEqualTo(1);
        assertThat(count(dsl, "select count(*) from ordo.transition where task_id = " + task)).isEqualTo(before);

        dsl.execute("drop trigger refuse on ordo.transition");
        // the pooled session that failed is usable again, and the message is applied once
        while (pass.runOnce() == 0) {
            Thread.onSpinWait();
        }
        assertThat(tasks.get(task).orElseThrow().status()).isEqualTo(TaskStatus.IN_PROGRESS);
        assertThat(tasks.get(task).orElseThrow().step("s0").status()).isEqualTo(StepStatus.COMPLETE);
        assertThat(tasks.get(task).orElseThrow().step("s1").status()).isEqualTo(StepStatus.ENQUEUED);
        assertThat(count(dsl, "select count(*) from ordo.message where queue_name = 'ns_atomic'")).isEqualTo(1);
        assertThat(count(dsl, "select count(*) from ordo.message where queue_name = 'orchestration'")).isZero();
        assertThat(count(dsl, "select count(*) from pg_stat_activity where state like 'idle in transaction%'"
                + " and datname = current_database()")).as("no session left in a transaction").isZero();
    }

    private static int count(DSLContext dsl, String sql) {
        return dsl.fetchOne(sql).get(0, Integer.class);
    }
}

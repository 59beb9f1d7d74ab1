package io.ordo.engine;

import io.ordo.task.StepStatus;
import io.ordo.task.TaskClient;
import io.ordo.task.TaskStatus;
import io.ordo.template.TemplateRegistry;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

@ExtendWith(OrdoDatabaseExtension.class)
class PoisonMessageTest {

    @Test
    void a_message_that_keeps_failing_its_pass_is_dead_lettered_after_the_read_cap_and_holds_back_no_other_task(TestDatabase db) {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.chain("poison", "job", 2, "h"));
        TaskClient tasks = new TaskClient(dsl);
        long poisoned = tasks.submit("poison", "job", "{}");
        List<Long> healthy = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            healthy.add(tasks.submit("poison", "job", "{}"));
        }
        try (SqlWorker worker = new SqlWorker(dsl, "poison", java.util.Map.of("h", s -> java.util.Map.of()), 0)) {
            assertThat(worker.runOnce(10)).as("the first steps, enqueued at submission, run").isEqualTo(6);
        }
        // poison a task: its steps refuse to complete, so that any pass applying its step's result fails (stopping
        // the task, which cancels its steps, still works)
        dsl.execute("""
                create function public.refuse_write() returns trigger language plpgsql as
                $$ begin raise exception 'step % of a poisoned task', old.id; end $$""");
        dsl.execute("create trigger poisoned before update on ordo.step for each row when (old.task_id = " + poisoned
                + " and new.status = 'complete') execute function public.refuse_write()");
        OrchestrationPass pass = new OrchestrationPass(dsl, OrchestratorSettings.defaults("poison-node")
                .withLeaseTtl(Duration.ofMillis(150)).withMaxMessageReads(3), Clock.systemUTC(), new Random(5), new EngineMetrics());

        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> {
            try {
                pass.runOnce();
            } catch (RuntimeException expected) {
                // the first pass fails as a whole: the batch is applied task by task from the next read on
            }
            return tasks.get(poisoned).orElseThrow().status().terminal()
                    && healthy.stream().allMatch(id -> tasks.get(id).orElseThrow().step("s1").status() == StepStatus.ENQUEUED);
        });

        assertThat(tasks.get(poisoned).orElseThrow().status()).isEqualTo(TaskStatus.FAILED);
        Record letter = dsl.fetchOne("select reason, (message->>'task_id')::bigint from ordo.dead_letter where namespace = 'orchestration'");
        assertThat(letter.get(0, String.class)).startsWith("read 4 times without being processed (the limit is 3)");
        assertThat(letter.get(1, Long.class)).isEqualTo(poisoned);
        assertThat(dsl.fetchOne("select count(*) from ordo.message where queue_name = 'orchestration'"
                + " and (message->>'task_id')::bigint = ?", poisoned).get(0, Integer.class)).as("the message left the queue").isZero();
        assertThat(dsl.fetchOne("select count(*) from ordo.archive where queue_name = 'orchestration'").get(0, Integer.class)).isEqualTo(1);
    }
}

package io.ordo.worker;

import io.ordo.task.TaskStatus;
import io.ordo.task.TaskView;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.StatementTap;
import io.ordo.testing.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A worker that starts before its database is migrated to V22 (a rolling upgrade) hands back and reads in two calls,
 * losing nothing.
 */
@ExtendWith(OrdoDatabaseExtension.class)
class UnmigratedDatabaseTest {

    @Test
    void without_complete_and_read_steps_a_worker_hands_back_and_reads_in_two_calls(TestDatabase db) {
        db.dsl().execute("drop function ordo.complete_and_read_steps(text, jsonb[], double precision, integer)");
        try (Cluster cluster = new Cluster(db).withOrchestrator()) {
            cluster.register("premigration", "pair", "first work -", "second work first");
            AtomicInteger combined = new AtomicInteger();
            AtomicInteger separate = new AtomicInteger();
            var tapped = StatementTap.wrap(cluster.pool("premigration", 6).dataSource(), sql -> {
                if (sql.contains("ordo.complete_and_read_steps")) {
                    combined.incrementAndGet();
                } else if (sql.contains("ordo.complete_steps")) {
                    separate.incrementAndGet();
                }
            });
            cluster.start(OrdoWorker.builder(tapped).namespace("premigration").nodeId("premigration").concurrency(4)
                    .polling(Duration.ofMillis(20), Duration.ofMillis(200)).visibilityTimeout(Duration.ofSeconds(30))
                    .handler("work", step -> StepOutcome.success(Map.of("ok", true))));
            List<Long> ids = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                ids.add(cluster.tasks.submit("premigration", "pair", "{}"));
            }
            cluster.awaitFinished(ids, Duration.ofSeconds(20));

            for (long id : ids) {
                TaskView task = cluster.task(id);
                assertThat(task.status()).isEqualTo(TaskStatus.COMPLETE);
                assertThat(task.step("first").attempt()).isEqualTo(1);
                assertThat(task.step("second").attempt()).isEqualTo(1);
            }
            assertThat(combined.get()).as("the combined call, tried once").isEqualTo(1);
            assertThat(separate.get()).as("hand-offs on their own").isPositive();
        }
    }
}

package io.ordo.engine;

import io.ordo.task.SubmitOptions;
import io.ordo.task.TaskClient;
import io.ordo.template.TemplateRegistry;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

@ExtendWith(OrdoDatabaseExtension.class)
class PriorityTest {

    @Test
    void high_priority_goes_first_but_cannot_starve_an_older_low_priority_task(TestDatabase db) {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.chain("prio", "job", 1, "h"));
        // one priority point is worth 10 ms of waiting: priority 100 jumps a 1 s queue, no further. A submission
        // enqueues the task's first step on its namespace's queue with its priority's head start (V18)
        dsl.execute("update ordo.queue set priority_step = interval '10 milliseconds' where queue_name = 'ns_prio'");
        TaskClient tasks = new TaskClient(dsl);
        SubmitOptions high = SubmitOptions.DEFAULT.withPriority(100);

        List<Long> before = submit(tasks, 30, high);       // high priority, submitted before the low one
        long low = tasks.submit("prio", "job", null, "{}", SubmitOptions.DEFAULT);
        List<Long> jumpers = submit(tasks, 30, high);      // newer, but within the 1 s priority advantage
        await().pollDelay(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3)).until(() -> true);
        List<Long> later = submit(tasks, 30, high);        // newer than the low one by more than their advantage

        // the backlog is read in small batches, as under contention
        List<Long> order = new ArrayList<>();
        try (SqlWorker worker = new SqlWorker(dsl, "prio", java.util.Map.of(), 0)) {
            List<SqlWorker.Step> read;
            while (!(read = worker.read(Duration.ofSeconds(30), 5)).isEmpty()) {
                read.forEach(step -> order.add(step.taskId()));
            }
        }
        int lowAt = order.indexOf(low);
        assertThat(order).hasSize(91);
        assertThat(order.subList(0, lowAt)).as("high priority, older or only slightly newer, goes first")
                .containsExactlyInAnyOrderElementsOf(concat(before, jumpers));
        assertThat(order.subList(lowAt + 1, order.size())).as("the aged low-priority task beats newer high-priority work")
                .containsExactlyInAnyOrderElementsOf(later);
    }

    private static List<Long> submit(TaskClient tasks, int n, SubmitOptions options) {
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ids.add(tasks.submit("prio", "job", null, "{}", options));
        }
        return ids;
    }

    private static List<Long> concat(List<Long> a, List<Long> b) {
        List<Long> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }
}

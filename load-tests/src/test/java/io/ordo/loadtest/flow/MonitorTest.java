package io.ordo.loadtest.flow;

import io.ordo.loadtest.Progress;
import io.ordo.task.TaskClient;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.OutputStream;
import java.io.PrintStream;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The monitor counts a run's finished tasks from a low-water mark, reading only the tasks above it; a task committed
 * after the mark passed its id is found by the recount that a count standing still short of its target starts.
 */
@ExtendWith(OrdoDatabaseExtension.class)
class MonitorTest {
    private static final String NS = "monitored";

    @Test
    void tasks_finishing_out_of_order_are_each_counted_once_as_the_mark_moves_up(TestDatabase db) throws Exception {
        DSLContext dsl = db.dsl();
        FlowRun.prepare(dsl, NS);
        long after = lastTaskId(dsl);
        TaskClient tasks = new TaskClient(dsl);
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            ids.add(tasks.submit(NS, Shape.ONE.template(), "{}"));
        }
        try (Monitor monitor = monitor(db, after)) {
            finish(dsl, ids.get(0), ids.get(1), ids.get(3), ids.get(4));
            List<Long> counts = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                counts.add(monitor.sample()); // the mark settles on the second task, below the third, unfinished
            }
            finish(dsl, ids.get(2));
            counts.add(monitor.sample());
            finish(dsl, ids.get(5));
            for (int i = 0; i < 4; i++) {
                counts.add(monitor.sample()); // the mark passes every task
            }
            assertThat(counts).containsExactly(4L, 4L, 4L, 4L, 5L, 6L, 6L, 6L, 6L);
        }
    }

    @Test
    void a_task_committed_below_the_mark_is_counted_by_the_recount(TestDatabase db) throws Exception {
        DSLContext dsl = db.dsl();
        FlowRun.prepare(dsl, NS);
        long after = lastTaskId(dsl);
        TaskClient tasks = new TaskClient(dsl);
        try (Connection late = db.connect(); Monitor monitor = monitor(db, after)) {
            late.setAutoCommit(false);
            long lateId = new TaskClient(DSL.using(late, SQLDialect.POSTGRES)).submit(NS, Shape.ONE.template(), "{}");
            List<Long> newer = List.of(tasks.submit(NS, Shape.ONE.template(), "{}"), tasks.submit(NS, Shape.ONE.template(), "{}"));
            finish(dsl, newer.toArray(Long[]::new));
            for (int i = 0; i < 4; i++) {
                assertThat(monitor.sample()).isEqualTo(2); // the mark passes the newer tasks, and the late one's id
            }
            late.commit();
            finish(dsl, lateId);
            assertThat(monitor.sample()).as("the late task is below the mark").isEqualTo(2);

            long started = System.nanoTime();
            assertThat(monitor.awaitFinished(() -> 3, Duration.ofSeconds(60))).isEqualTo(3);
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(30));
        }
    }

    private static Monitor monitor(TestDatabase db, long after) throws Exception {
        return new Monitor(db.connect(), NS, after, new Progress(new PrintStream(OutputStream.nullOutputStream()), "test"), () -> 0);
    }

    private static long lastTaskId(DSLContext dsl) {
        return dsl.fetchOne("select coalesce(max(id), 0) from ordo.task").get(0, Long.class);
    }

    private static void finish(DSLContext dsl, Long... ids) {
        dsl.execute("update ordo.task set status = 'complete', completed_at = now() where id = any (?::bigint[])", (Object) ids);
    }
}

package io.ordo.worker;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ordo.Json;
import io.ordo.task.TaskStatus;
import io.ordo.task.TaskView;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** A worker that dies mid-step: its database sessions are terminated and the worker is never heard of again. */
@Tag("chaos")
@ExtendWith(OrdoDatabaseExtension.class)
class WorkerCrashTest {
    private static final Duration TIMEOUT = Duration.ofMinutes(1);
    private static Cluster cluster;

    @BeforeAll
    static void start(TestDatabase db) {
        cluster = new Cluster(db).withOrchestrator().withDuties(Duration.ofMillis(200));
        cluster.register("crash", "fragile", "fragile fragile - \"timeout\":\"1m\",\"retry\":{\"max_attempts\":3}");
    }

    @AfterAll
    static void stop() {
        cluster.close();
    }

    @Test
    void a_step_whose_worker_is_killed_runs_again_on_the_next_attempt_elsewhere_and_the_late_result_is_ignored() throws Exception {
        Duration vt = Duration.ofSeconds(1);
        AtomicReference<StepContext> firstRun = new AtomicReference<>();
        CountDownLatch firstStarted = new CountDownLatch(1);
        CountDownLatch never = new CountDownLatch(1);
        OrdoWorker a = cluster.start(cluster.worker("worker-a", "crash").visibilityTimeout(vt).handler("fragile", step -> {
            firstRun.set(step);
            firstStarted.countDown();
            never.await(); // killed mid-step
            return StepOutcome.success(Map.of("from", "a"));
        }));
        long id = cluster.tasks.submit("crash", "fragile", "{}");
        assertThat(firstStarted.await(10, TimeUnit.SECONDS)).isTrue();

        assertThat(cluster.db.terminateSessions("worker-a")).isPositive();
        a.abandon();
        Instant killedAt = Instant.now();

        AtomicReference<StepContext> secondRun = new AtomicReference<>();
        cluster.start(cluster.worker("worker-b", "crash").visibilityTimeout(vt).handler("fragile", step -> {
            secondRun.set(step);
            return StepOutcome.success(Map.of("from", "b", "attempt", step.attempt()));
        }));
        cluster.awaitFinished(List.of(id), Duration.ofSeconds(15));

        TaskView task = cluster.task(id);
        assertThat(task.status()).isEqualTo(TaskStatus.COMPLETE);
        assertThat(firstRun.get().attempt()).isEqualTo(1);
        assertThat(secondRun.get().attempt()).isEqualTo(2);
        assertThat(task.step("fragile").attempt()).isEqualTo(2);
        assertThat(Json.parse(task.step("fragile").result()).path("from").asText()).isEqualTo("b");
        // the message came back once its visibility timeout ran out (database clock on both sides), and soon after
        Instant firstStartedAt = firstRun.get().deadline().minus(TIMEOUT);
        Instant redelivered = cluster.dsl.fetchOne("select at from ordo.transition where task_id = ? and jsonb_exists(detail, 'redelivered')",
                id).get(0, OffsetDateTime.class).toInstant();
        assertThat(redelivered).isAfterOrEqualTo(firstStartedAt.plus(vt));
        assertThat(Duration.between(killedAt, redelivered)).isLessThan(Duration.ofSeconds(5));

        // the first attempt's result arriving now (say, from a worker that was only cut off) changes nothing
        ObjectNode late = Json.object().put("msg_id", firstRun.get().msgId()).put("task_id", id)
                .put("step_id", firstRun.get().stepId()).put("attempt", 1).put("status", "succeeded");
        late.set("result", Json.object().put("from", "a"));
        cluster.dsl.fetch("select ordo.complete_steps('crash', array[?::jsonb])", late.toString());
        await().atMost(Duration.ofSeconds(10)).until(() -> cluster.dsl.fetchOne("select count(*) from ordo.transition"
                + " where task_id = ? and (detail->>'ignored')::boolean and (detail->>'result_attempt')::int = 1", id).get(0, Integer.class) == 1);
        TaskView after = cluster.task(id);
        assertThat(after.status()).isEqualTo(TaskStatus.COMPLETE);
        assertThat(Json.parse(after.step("fragile").result()).path("from").asText()).isEqualTo("b");
    }

}

package io.ordo.worker;

import com.fasterxml.jackson.databind.JsonNode;
import io.ordo.Json;
import io.ordo.task.StepStatus;
import io.ordo.task.TaskStatus;
import io.ordo.task.TaskView;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.StatementTap;
import io.ordo.testing.TestDatabase;
import org.jooq.Record;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The worker runtime against a real orchestrator: heartbeats, the concurrency bound, failures, shutdown. */
@ExtendWith(OrdoDatabaseExtension.class)
class WorkerRuntimeTest {
    private static Cluster cluster;

    @BeforeAll
    static void start(TestDatabase db) {
        cluster = new Cluster(db).withOrchestrator().withDuties(Duration.ofMillis(200));
    }

    @AfterAll
    static void stop() {
        cluster.close();
    }

    @Test
    void a_long_step_is_not_redelivered_while_its_worker_heartbeats() throws Exception {
        cluster.register("longrun", "long", "slow slow - \"timeout\":\"1m\"");
        AtomicInteger runs = new AtomicInteger();
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch finish = new CountDownLatch(1);
        // a 1 s visibility timeout, so a step running 4 s would come back 3 times over without the heartbeat
        cluster.start(cluster.worker("heartbeat", "longrun").visibilityTimeout(Duration.ofSeconds(1)).concurrency(4)
                .handler("slow", step -> {
                    runs.incrementAndGet();
                    started.countDown();
                    return finish.await(30, TimeUnit.SECONDS) ? StepOutcome.success() : StepOutcome.retry("never released");
                }));
        long id = cluster.tasks.submit("longrun", "long", "{}");
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();

        await().during(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(6)).until(() -> runs.get() == 1 && readCount("longrun") == 1);
        finish.countDown();

        cluster.awaitFinished(List.of(id), Duration.ofSeconds(10));
        TaskView task = cluster.task(id);
        assertThat(task.status()).isEqualTo(TaskStatus.COMPLETE);
        assertThat(task.step("slow").attempt()).isEqualTo(1);
        assertThat(runs.get()).isEqualTo(1);
        assertThat(cluster.dsl.fetchOne("select count(*) from ordo.transition where task_id = ? and jsonb_exists(detail, 'redelivered')", id)
                .get(0, Integer.class)).isZero();
    }

    @Test
    void never_runs_more_handlers_at_once_than_its_concurrency() {
        cluster.register("bounded", "job", "work work -");
        AtomicInteger now = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        AtomicInteger mostHeld = new AtomicInteger();
        AtomicReference<OrdoWorker> self = new AtomicReference<>();
        self.set(cluster.start(cluster.worker("bounded", "bounded").concurrency(3).batchSize(10)
                .handler("work", step -> {
                    most.accumulateAndGet(now.incrementAndGet(), Math::max);
                    mostHeld.accumulateAndGet(self.get().inFlight(), Math::max);
                    try {
                        Thread.sleep(40); // the handler's work
                    } finally {
                        now.decrementAndGet();
                    }
                    return StepOutcome.success(Map.of("ok", true));
                })));
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            ids.add(cluster.tasks.submit("bounded", "job", "{\"n\":" + i + "}"));
        }
        cluster.awaitFinished(ids, Duration.ofSeconds(30));

        assertThat(ids).allSatisfy(id -> assertThat(cluster.task(id).status()).isEqualTo(TaskStatus.COMPLETE));
        assertThat(most.get()).as("handlers at once").isEqualTo(3);
        assertThat(mostHeld.get()).as("steps held at once").isLessThanOrEqualTo(3);
        assertThat(self.get().inFlight()).isZero();
    }

    @Test
    void a_step_that_throws_on_every_attempt_is_dead_lettered_after_its_max_attempts() {
        cluster.register("poison", "poisoned", "poison explodes - \"retry\":{\"max_attempts\":3,\"backoff\":{\"initial\":\"10ms\",\"max\":\"50ms\"}}");
        List<Integer> attempts = new CopyOnWriteArrayList<>();
        cluster.start(cluster.worker("poison", "poison").handler("explodes", step -> {
            attempts.add(step.attempt());
            throw new IllegalStateException("boom on attempt " + step.attempt());
        }));
        long id = cluster.tasks.submit("poison", "poisoned", "{}");
        cluster.awaitFinished(List.of(id), Duration.ofSeconds(20));

        TaskView task = cluster.task(id);
        assertThat(task.status()).isEqualTo(TaskStatus.FAILED);
        assertThat(task.step("poison").status()).isEqualTo(StepStatus.FAILED);
        assertThat(attempts).containsExactly(1, 2, 3);
        Record letter = cluster.dsl.fetchOne("select reason, handler, jsonb_array_length(attempts), last_error::text, status"
                + " from ordo.dead_letter where task_id = ?", id);
        assertThat(letter).isNotNull();
        assertThat(letter.get(0, String.class)).isEqualTo("attempts_exhausted");
        assertThat(letter.get(1, String.class)).isEqualTo("explodes");
        assertThat(letter.get(2, Integer.class)).isEqualTo(3);
        JsonNode error = Json.parse(letter.get(3, String.class));
        assertThat(error.path("class").asText()).isEqualTo("java.lang.IllegalStateException");
        assertThat(error.path("message").asText()).isEqualTo("boom on attempt 3");
        assertThat(letter.get(4, String.class)).isEqualTo("open");
    }

    @Test
    void a_handler_the_worker_does_not_know_and_a_context_that_does_not_map_fail_permanently_with_a_clear_error() {
        cluster.register("strict", "unknown", "mystery nobody_home -");
        cluster.register("strict", "typed", "parse typed -");
        cluster.start(cluster.worker("strict", "strict")
                .handler("typed", Order.class, (order, step) -> StepOutcome.success(order)));
        long unknown = cluster.tasks.submit("strict", "unknown", "{}");
        long badInput = cluster.tasks.submit("strict", "typed", "{\"order_id\":\"A-1\",\"items\":\"many\"}");
        cluster.awaitFinished(List.of(unknown, badInput), Duration.ofSeconds(20));

        for (long id : List.of(unknown, badInput)) {
            assertThat(cluster.task(id).status()).isEqualTo(TaskStatus.FAILED);
            assertThat(cluster.task(id).steps().getFirst().attempt()).as("no retries").isEqualTo(1);
            assertThat(cluster.dsl.fetchOne("select reason from ordo.dead_letter where task_id = ?", id).get(0, String.class))
                    .isEqualTo("permanent_failure");
        }
        JsonNode unknownError = Json.parse(cluster.task(unknown).step("mystery").lastError());
        assertThat(unknownError.path("class").asText()).isEqualTo("UnknownHandler");
        assertThat(unknownError.path("message").asText()).contains("no handler named 'nobody_home'").contains("[typed]");
        JsonNode inputError = Json.parse(cluster.task(badInput).step("parse").lastError());
        assertThat(inputError.path("class").asText()).isEqualTo("StepInputException");
        assertThat(inputError.path("message").asText()).contains("does not map to Order").contains("field items");
    }

    record Order(String order_id, int items) {
    }

    record Validation(boolean valid, int items) {
    }

    @Test
    void handlers_get_the_context_typed_their_parents_results_attempt_keys_and_deadline() {
        cluster.register("shop", "order",
                "validate validate - \"timeout\":\"30s\"",
                "reserve reserve validate",
                "charge charge validate \"retry\":{\"max_attempts\":3,\"backoff\":{\"initial\":\"5s\",\"max\":\"10s\",\"jitter\":false}}",
                "ship ship reserve,charge");
        Map<String, List<StepContext>> seen = new ConcurrentHashMap<>();
        Instant before = Instant.now();
        cluster.start(cluster.worker("shop", "shop")
                .handler("validate", Order.class, (order, step) -> {
                    seen.computeIfAbsent("validate", k -> new CopyOnWriteArrayList<>()).add(step);
                    return StepOutcome.success(new Validation(true, order.items()));
                })
                .handler("reserve", step -> {
                    Validation v = step.parentResult("validate", Validation.class);
                    return StepOutcome.success(Map.of("reserved", v.items()));
                })
                .handler("charge", step -> {
                    seen.computeIfAbsent("charge", k -> new CopyOnWriteArrayList<>()).add(step);
                    // the gateway asks to come back shortly: sooner than the step's 5 s backoff
                    return step.attempt() == 1 ? StepOutcome.retryAfter("gateway busy", Duration.ofMillis(50))
                            : StepOutcome.success(Map.of("charged", step.input(Order.class).order_id()));
                })
                .handler("ship", step -> StepOutcome.success(Map.of("parents", step.parentResults()))));
        long id = cluster.tasks.submit("shop", "order", "{\"order_id\":\"A-7\",\"items\":2,\"note\":\"leave at the door\"}");
        cluster.awaitFinished(List.of(id), Duration.ofSeconds(4));

        TaskView task = cluster.task(id);
        assertThat(task.status()).isEqualTo(TaskStatus.COMPLETE);
        assertThat(Json.parse(task.step("reserve").result()).path("reserved").asInt()).isEqualTo(2);
        JsonNode shipped = Json.parse(task.step("ship").result()).path("parents");
        assertThat(shipped.path("reserve").path("reserved").asInt()).isEqualTo(2);
        assertThat(shipped.path("charge").path("charged").asText()).isEqualTo("A-7");

        List<StepContext> charges = seen.get("charge");
        assertThat(charges).extracting(StepContext::attempt).containsExactly(1, 2);
        assertThat(charges).extracting(StepContext::idempotencyKey).containsOnly(id + ":charge");
        assertThat(charges).extracting(StepContext::attemptIdempotencyKey).containsExactly(id + ":charge:1", id + ":charge:2");
        StepContext validate = seen.get("validate").getFirst();
        assertThat(validate.maxAttempts()).isEqualTo(3);
        assertThat(validate.context().path("note").asText()).isEqualTo("leave at the door");
        assertThat(validate.deadline()).isBetween(before.plusSeconds(29), Instant.now().plusSeconds(31));
        assertThat(validate.templateName()).isEqualTo("order");
    }

    @Test
    void a_result_that_comes_after_the_deadline_is_still_handed_back_and_ignored_while_the_next_attempt_completes() {
        cluster.register("late", "slow", "slow late_first - \"timeout\":\"300ms\",\"retry\":{\"max_attempts\":3,"
                + "\"backoff\":{\"initial\":\"10ms\",\"max\":\"20ms\"}}");
        cluster.start(cluster.worker("late", "late").handler("late_first", step -> {
            if (step.attempt() == 1) {
                // runs on until the leader's timeout duty takes the step away; heartbeat() then reports it gone
                await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).until(() -> !step.heartbeat());
                assertThat(step.remaining()).isZero();
            }
            return StepOutcome.success(Map.of("attempt", step.attempt()));
        }));
        long id = cluster.tasks.submit("late", "slow", "{}");
        cluster.awaitFinished(List.of(id), Duration.ofSeconds(15));

        TaskView task = cluster.task(id);
        assertThat(task.status()).isEqualTo(TaskStatus.COMPLETE);
        assertThat(task.step("slow").attempt()).isEqualTo(2);
        assertThat(Json.parse(task.step("slow").result()).path("attempt").asInt()).isEqualTo(2);
        assertThat(Json.parse(task.step("slow").lastError()).path("class").asText()).isEqualTo("StepTimeout");
        await().atMost(Duration.ofSeconds(10)).until(() -> cluster.dsl.fetchOne("select count(*) from ordo.transition"
                + " where task_id = ? and (detail->>'ignored')::boolean and (detail->>'result_attempt')::int = 1", id).get(0, Integer.class) == 1);
    }

    @Test
    void stopping_finishes_running_steps_and_gives_back_unstarted_ones_at_once_without_using_up_an_attempt() throws Exception {
        // one attempt only: a step given back must not lose it, or it could never run again
        cluster.register("drain", "job", "job job - \"retry\":{\"max_attempts\":1}");
        Map<Long, List<String>> ranOn = new ConcurrentHashMap<>();
        CountDownLatch running = new CountDownLatch(2);
        AtomicReference<OrdoWorker> first = new AtomicReference<>();
        StepHandler onA = step -> {
            ranOn.computeIfAbsent(step.taskId(), k -> new CopyOnWriteArrayList<>()).add("a");
            running.countDown();
            // still running when the stop begins; done well within the grace period
            await().atMost(Duration.ofSeconds(10)).until(() -> first.get().state() == OrdoWorker.State.DRAINING);
            return StepOutcome.success(Map.of("worker", "a"));
        };
        CountDownLatch neverOpens = new CountDownLatch(1);
        // vt 30 s: anything of A's that another worker runs within the test came back at once, not by expiry
        first.set(cluster.start(cluster.worker("drain-a", "drain").concurrency(4).visibilityTimeout(Duration.ofSeconds(30))
                .shutdownGrace(Duration.ofSeconds(10))
                .startGate(step -> {
                    if (step.context().path("kind").asText().equals("held")) {
                        neverOpens.await(); // read, never started
                    }
                })
                .handler("job", onA)));
        List<Long> ids = new ArrayList<>();
        for (String kind : List.of("running", "running", "held", "held")) {
            ids.add(cluster.tasks.submit("drain", "job", "{\"kind\":\"" + kind + "\"}"));
        }
        assertThat(running.await(10, TimeUnit.SECONDS)).isTrue();
        await().atMost(Duration.ofSeconds(10)).until(() -> first.get().inFlight() == 4);
        for (int i = 0; i < 2; i++) {
            ids.add(cluster.tasks.submit("drain", "job", "{\"kind\":\"later\"}"));
        }

        Instant stopAt = Instant.now();
        CompletableFuture<Void> stopping = CompletableFuture.runAsync(() -> first.get().stop());
        cluster.start(cluster.worker("drain-b", "drain").concurrency(4).visibilityTimeout(Duration.ofSeconds(30))
                .handler("job", step -> {
                    ranOn.computeIfAbsent(step.taskId(), k -> new CopyOnWriteArrayList<>()).add("b");
                    return StepOutcome.success(Map.of("worker", "b"));
                }));
        cluster.awaitFinished(ids, Duration.ofSeconds(15));
        stopping.get(15, TimeUnit.SECONDS);

        assertThat(Duration.between(stopAt, Instant.now())).isLessThan(Duration.ofSeconds(15));
        assertThat(first.get().state()).isEqualTo(OrdoWorker.State.STOPPED);
        assertThat(first.get().inFlight()).isZero();
        for (long id : ids) {
            TaskView task = cluster.task(id);
            String kind = Json.parse(task.context()).path("kind").asText();
            assertThat(task.status()).as("task %d (%s)", id, kind).isEqualTo(TaskStatus.COMPLETE);
            assertThat(task.step("job").attempt()).isEqualTo(1);
            assertThat(ranOn.get(id)).as("where task %d (%s) ran", id, kind).containsExactly(kind.equals("running") ? "a" : "b");
        }
        assertThat(cluster.dsl.fetchOne("select count(*) from ordo.transition where task_id = any (?::bigint[]) and jsonb_exists(detail, 'released')",
                (Object) ids.toArray(Long[]::new)).get(0, Integer.class)).isEqualTo(2);
        assertThat(cluster.dsl.fetchOne("select count(*) from ordo.message where queue_name = 'ns_drain'").get(0, Integer.class)).isZero();
    }

    @Test
    void results_go_back_with_the_next_read_and_a_call_that_fails_loses_none_and_applies_none_twice() {
        cluster.register("handback", "pair", "first work -", "second work first");
        AtomicInteger failuresLeft = new AtomicInteger(3);
        List<String> handOffs = new CopyOnWriteArrayList<>();
        javax.sql.DataSource tapped = StatementTap.wrap(cluster.pool("handback", 6).dataSource(), sql -> {
            if (sql.contains("ordo.complete_and_read_steps")) {
                handOffs.add("with a read");
                if (failuresLeft.getAndDecrement() > 0) {
                    throw new java.sql.SQLException("connection lost (injected)", "08006");
                }
            } else if (sql.contains("ordo.complete_steps")) {
                handOffs.add("alone");
            }
        });
        // with a 30 s visibility timeout, a result the worker dropped would come back only after the test gave up
        cluster.start(OrdoWorker.builder(tapped).namespace("handback").nodeId("handback").concurrency(4).batchSize(4)
                .polling(Duration.ofMillis(20), Duration.ofMillis(200)).visibilityTimeout(Duration.ofSeconds(30))
                .handler("work", step -> StepOutcome.success(Map.of("attempt", step.attempt()))));
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            ids.add(cluster.tasks.submit("handback", "pair", "{}"));
        }
        cluster.awaitFinished(ids, Duration.ofSeconds(20));

        assertThat(failuresLeft.get()).as("every injected failure happened").isNegative();
        assertThat(handOffs).as("while the worker runs, results go back with its reads").isNotEmpty().containsOnly("with a read");
        for (long id : ids) {
            TaskView task = cluster.task(id);
            assertThat(task.status()).isEqualTo(TaskStatus.COMPLETE);
            assertThat(task.step("first").attempt()).as("no result was lost and its step run again").isEqualTo(1);
            assertThat(task.step("second").attempt()).isEqualTo(1);
        }
        assertThat(cluster.dsl.fetchOne("select count(*) from ordo.transition where task_id = any (?::bigint[]) and step_id is not null "
                + "and to_state = 'complete'", (Object) ids.toArray(Long[]::new)).get(0, Integer.class))
                .as("each step completed once").isEqualTo(40);
    }

    @Test
    void a_result_the_database_refuses_fails_its_step_with_the_reason_and_holds_back_no_other_result() {
        cluster.register("refused", "job", "only work -");
        cluster.start(cluster.worker("refused", "refused").concurrency(8).handler("work", step ->
                step.context().path("bad").asBoolean()
                        ? StepOutcome.success(Map.of("text", "a NUL \u0000 character, which jsonb cannot hold"))
                        : StepOutcome.success(Map.of("ok", true))));
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            ids.add(cluster.tasks.submit("refused", "job", "{\"bad\": " + (i == 3) + "}"));
        }
        cluster.awaitFinished(ids, Duration.ofSeconds(20));

        for (int i = 0; i < ids.size(); i++) {
            TaskView task = cluster.task(ids.get(i));
            if (i == 3) {
                assertThat(task.status()).isEqualTo(TaskStatus.FAILED);
                assertThat(task.step("only").status()).isEqualTo(StepStatus.FAILED);
                assertThat(task.step("only").lastError()).contains("UnstorableResult").contains("handler 'work'")
                        .containsIgnoringCase("unicode");
            } else {
                assertThat(task.status()).isEqualTo(TaskStatus.COMPLETE);
                assertThat(task.step("only").attempt()).isEqualTo(1);
            }
        }
    }

    private static int readCount(String namespace) {
        Integer n = cluster.dsl.fetchOne("select max(read_ct) from ordo.message where queue_name = ?", "ns_" + namespace)
                .get(0, Integer.class);
        return n == null ? 0 : n;
    }
}

package io.ordo.engine;

import com.fasterxml.jackson.databind.JsonNode;
import io.ordo.InvalidInputException;
import io.ordo.Json;
import io.ordo.NotFoundException;
import io.ordo.task.StepStatus;
import io.ordo.task.SubmitOptions;
import io.ordo.task.TaskClient;
import io.ordo.task.TaskStatus;
import io.ordo.task.TaskView;
import io.ordo.template.TemplateConflictException;
import io.ordo.template.TemplateRegistry;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

@ExtendWith(OrdoDatabaseExtension.class)
class WorkflowEngineTest {
    private static TestDatabase db;
    private static DSLContext dsl;
    private static EngineFixture fixture;
    private static TaskClient tasks;
    private static TemplateRegistry templates;
    private static final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();

    @BeforeAll
    static void start(TestDatabase database) {
        db = database;
        dsl = database.dsl();
        fixture = new EngineFixture(database);
        tasks = new TaskClient(dsl);
        templates = new TemplateRegistry(dsl);
        templates.register(EngineFixture.template("shapes", "single", "1", List.of(EngineFixture.step("only", "echo", List.of(), null))));
        templates.register(EngineFixture.chain("shapes", "chain", 10, "echo"));
        templates.register(EngineFixture.template("shapes", "diamond", "1", List.of(
                EngineFixture.step("top", "echo", List.of(), null),
                EngineFixture.step("left", "echo", List.of("top"), null),
                EngineFixture.step("right", "echo", List.of("top"), null),
                EngineFixture.step("bottom", "echo", List.of("left", "right"), null))));
        templates.register(EngineFixture.fanOut("shapes", "fan", 20, "echo"));
        Random random = new Random(42);
        for (int i = 0; i < 10; i++) {
            templates.register(EngineFixture.randomDag("shapes", "random" + i, 2 + random.nextInt(12), random, "echo"));
        }
        templates.register(EngineFixture.template("retries", "flaky", "1", List.of(EngineFixture.step("flaky", "flaky", List.of(), 
                "\"retry\":{\"max_attempts\":4,\"backoff\":{\"initial\":\"100ms\",\"multiplier\":2,\"max\":\"1s\",\"jitter\":true}}"))));
        templates.register(EngineFixture.template("retries", "poison", "1", List.of(
                EngineFixture.step("before", "echo", List.of(), null),
                EngineFixture.step("poison", "always_fails", List.of("before"), "\"retry\":{\"max_attempts\":3,\"backoff\":{\"initial\":\"10ms\",\"max\":\"50ms\"}}"),
                EngineFixture.step("after", "echo", List.of("poison"), null))));
        templates.register(EngineFixture.template("retries", "fatal", "1", List.of(
                EngineFixture.step("fatal", "fails_permanently", List.of(), "\"retry\":{\"max_attempts\":5}"))));
        templates.register(EngineFixture.template("retries", "slow", "1", List.of(
                EngineFixture.step("slow", "slow_first", List.of(), "\"timeout\":\"400ms\",\"retry\":{\"max_attempts\":3,\"backoff\":{\"initial\":\"10ms\",\"max\":\"20ms\"}}"))));
        templates.register(EngineFixture.template("retries", "blocking", "1", List.of(
                EngineFixture.step("wait", "blocks", List.of(), null),
                EngineFixture.step("next", "echo", List.of("wait"), null))));

        Map<String, Function<SqlWorker.Step, Object>> handlers = new HashMap<>();
        handlers.put("echo", s -> Map.of("step", s.name(), "parents", s.parentResults()));
        handlers.put("flaky", s -> calls.computeIfAbsent("flaky:" + s.taskId(), k -> new AtomicInteger()).incrementAndGet() <= 2
                ? new SqlWorker.Fail("not yet", false) : Map.of("ok", true));
        handlers.put("always_fails", s -> new SqlWorker.Fail("poison", false));
        handlers.put("fails_permanently", s -> new SqlWorker.Fail("bad data", true));
        handlers.put("slow_first", s -> {
            if (s.attempt() == 1) {
                // runs on until the duty has signalled its timeout, so that its result is sure to arrive late
                // (a fixed sleep raced the duty on a loaded machine)
                await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20)).until(() -> dsl.fetchOne(
                        "select coalesce(timeout_signalled, 0) = 1 from ordo.step where id = ?", s.stepId()).get(0, Boolean.class));
            }
            return Map.of("attempt", s.attempt());
        });
        handlers.put("blocks", s -> {
            // runs on until its task is cancelled, so that its result is sure to arrive after the cancellation
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20)).until(() -> dsl.fetchOne(
                    "select status = 'cancelled' from ordo.task where id = ?", s.taskId()).get(0, Boolean.class));
            return Map.of();
        });
        fixture.track(new SqlWorker(dsl, "shapes", handlers, 2));
        fixture.track(new SqlWorker(dsl, "retries", handlers, 4));
        fixture.orchestrator("engine-a", Duration.ofSeconds(10));
        fixture.runDuties(dsl, Duration.ofMillis(100));
    }

    @AfterAll
    static void stop() {
        fixture.close();
    }

    @Test
    void every_dag_shape_completes_with_each_step_run_after_its_dependencies() {
        List<String> names = new ArrayList<>(List.of("single", "chain", "diamond", "fan"));
        for (int i = 0; i < 10; i++) {
            names.add("random" + i);
        }
        Map<Long, String> submitted = new HashMap<>();
        for (String name : names) {
            submitted.put(tasks.submit("shapes", name, "{\"shape\":\"" + name + "\"}"), name);
        }
        awaitFinished(submitted.keySet(), Duration.ofSeconds(60));
        for (long id : submitted.keySet()) {
            TaskView task = tasks.get(id).orElseThrow();
            assertThat(task.status()).as("task %s (%s)", id, submitted.get(id)).isEqualTo(TaskStatus.COMPLETE);
            assertThat(task.steps()).allSatisfy(s -> assertThat(s.status()).isEqualTo(StepStatus.COMPLETE));
            Map<String, Long> completedSeq = new HashMap<>();
            Map<String, Long> startedSeq = new HashMap<>();
            for (Record r : dsl.fetch("select step_name, to_state, seq from ordo.transition where task_id = ? and step_id is not null", id)) {
                if (r.get(1, String.class).equals("complete")) {
                    completedSeq.put(r.get(0, String.class), r.get(2, Long.class));
                } else if (r.get(1, String.class).equals("in_progress")) {
                    startedSeq.put(r.get(0, String.class), r.get(2, Long.class));
                }
            }
            for (TaskView.StepView s : task.steps()) {
                for (String dep : s.dependsOn()) {
                    assertThat(completedSeq.get(dep)).as("%s completes before %s starts", dep, s.name()).isLessThan(startedSeq.get(s.name()));
                }
            }
        }
        // parents' results reach their children
        long diamond = submitted.entrySet().stream().filter(e -> e.getValue().equals("diamond")).findFirst().orElseThrow().getKey();
        JsonNode bottom = Json.parse(tasks.get(diamond).orElseThrow().step("bottom").result());
        assertThat(bottom.path("parents").has("left")).isTrue();
        assertThat(bottom.path("parents").has("right")).isTrue();
    }

    @Test
    void a_step_that_fails_twice_completes_on_attempt_three_with_backoff_inside_the_policy() {
        long id = tasks.submit("retries", "flaky", "{}");
        awaitFinished(List.of(id), Duration.ofSeconds(30));
        TaskView task = tasks.get(id).orElseThrow();
        assertThat(task.status()).isEqualTo(TaskStatus.COMPLETE);
        assertThat(task.step("flaky").attempt()).isEqualTo(3);
        Record history = dsl.fetchOne("select jsonb_array_length(errors), (errors -> 1 ->> 'attempt')::int, last_error is not null"
                + " from ordo.step where task_id = ?", id);
        assertThat(history.get(0, Integer.class)).as("the step keeps the errors of both failed attempts").isEqualTo(2);
        assertThat(history.get(1, Integer.class)).isEqualTo(2);
        assertThat(history.get(2, Boolean.class)).as("and the last one, after its success").isTrue();

        Backoff policy = new Backoff(Duration.ofMillis(100), 2, Duration.ofSeconds(1), true);
        List<Record> log = dsl.fetch("select to_state, attempt, at, detail::text from ordo.transition"
                + " where task_id = ? and step_id is not null order by seq", id);
        List<String> states = log.stream().map(r -> r.get(0, String.class) + "#" + r.get(1, Integer.class)).toList();
        assertThat(states).containsExactly("pending#0", "enqueued#1", "in_progress#1", "waiting_retry#1", "enqueued#2",
                "in_progress#2", "waiting_retry#2", "enqueued#3", "in_progress#3", "complete#3");
        for (int i = 0; i < log.size(); i++) {
            if (log.get(i).get(0, String.class).equals("waiting_retry")) {
                int attempt = log.get(i).get(1, Integer.class);
                long planned = Json.parse(log.get(i).get(3, String.class)).path("retry_in_ms").asLong();
                assertThat(planned).isBetween(0L, policy.ceiling(attempt).toMillis());
                long actual = Duration.between(log.get(i).get(2, OffsetDateTime.class), log.get(i + 1).get(2, OffsetDateTime.class)).toMillis();
                assertThat(actual).as("waited at least the planned backoff").isGreaterThanOrEqualTo(planned - 5);
                assertThat(actual).as("and not much longer").isLessThan(planned + 3000);
            }
        }
    }

    @Test
    void a_step_that_exhausts_its_attempts_is_dead_lettered_and_fails_the_task() {
        long id = tasks.submit("retries", "poison", "{}");
        awaitFinished(List.of(id), Duration.ofSeconds(30));
        TaskView task = tasks.get(id).orElseThrow();
        assertThat(task.status()).isEqualTo(TaskStatus.FAILED);
        assertThat(task.step("before").status()).isEqualTo(StepStatus.COMPLETE);
        assertThat(task.step("poison").status()).isEqualTo(StepStatus.FAILED);
        assertThat(task.step("poison").attempt()).isEqualTo(3);
        assertThat(task.step("after").status()).isEqualTo(StepStatus.CANCELLED);
        Record letter = dsl.fetchOne("select reason, step_name, handler, jsonb_array_length(attempts), last_error->>'message', status"
                + " from ordo.dead_letter where task_id = ?", id);
        assertThat(letter).isNotNull();
        assertThat(letter.get(0, String.class)).isEqualTo("attempts_exhausted");
        assertThat(letter.get(1, String.class)).isEqualTo("poison");
        assertThat(letter.get(2, String.class)).isEqualTo("always_fails");
        assertThat(letter.get(3, Integer.class)).isEqualTo(3);
        assertThat(letter.get(4, String.class)).isEqualTo("poison");
        assertThat(letter.get(5, String.class)).isEqualTo("open");
        assertThat(task.error()).contains("poison");
    }

    @Test
    void a_permanent_failure_is_dead_lettered_at_once() {
        long id = tasks.submit("retries", "fatal", "{}");
        awaitFinished(List.of(id), Duration.ofSeconds(30));
        TaskView task = tasks.get(id).orElseThrow();
        assertThat(task.status()).isEqualTo(TaskStatus.FAILED);
        assertThat(task.step("fatal").attempt()).isEqualTo(1);
        assertThat(dsl.fetchOne("select reason from ordo.dead_letter where task_id = ?", id).get(0, String.class))
                .isEqualTo("permanent_failure");
    }

    @Test
    void a_step_past_its_timeout_counts_as_a_failed_attempt_and_its_late_result_is_ignored() {
        long id = tasks.submit("retries", "slow", "{}");
        awaitFinished(List.of(id), Duration.ofSeconds(30));
        TaskView task = tasks.get(id).orElseThrow();
        assertThat(task.status()).isEqualTo(TaskStatus.COMPLETE);
        assertThat(task.step("slow").attempt()).isEqualTo(2);
        assertThat(Json.parse(task.step("slow").result()).path("attempt").asInt()).isEqualTo(2);
        assertThat(Json.parse(task.step("slow").lastError()).path("class").asText()).isEqualTo("StepTimeout");
        // the first attempt's result arrives after the step moved on and is recorded as ignored
        await().atMost(Duration.ofSeconds(10)).until(() -> dsl.fetchOne(
                "select count(*) from ordo.transition where task_id = ? and (detail->>'ignored')::boolean and (detail->>'result_attempt')::int = 1",
                id).get(0, Integer.class) == 1);
        assertThat(dsl.fetchOne("select count(*) from ordo.transition where task_id = ? and to_state = 'complete' and step_id is not null"
                        + " and detail is null", id)
                .get(0, Integer.class)).isEqualTo(1);
    }

    @Test
    void a_cancelled_task_stops_and_ignores_results_that_arrive_later() {
        long id = tasks.submit("retries", "blocking", "{}");
        await().atMost(Duration.ofSeconds(10)).until(() -> tasks.get(id).orElseThrow().step("wait").status() == StepStatus.IN_PROGRESS);
        assertThat(tasks.cancel(id, "changed my mind")).isTrue();
        assertThat(tasks.cancel(id, "again")).isFalse();
        TaskView cancelled = tasks.get(id).orElseThrow();
        assertThat(cancelled.status()).isEqualTo(TaskStatus.CANCELLED);
        assertThat(cancelled.steps()).allSatisfy(s -> assertThat(s.status()).isEqualTo(StepStatus.CANCELLED));
        await().atMost(Duration.ofSeconds(10)).until(() -> dsl.fetchOne(
                "select count(*) from ordo.transition where task_id = ? and (detail->>'ignored')::boolean", id).get(0, Integer.class) == 1);
        TaskView after = tasks.get(id).orElseThrow();
        assertThat(after.status()).isEqualTo(TaskStatus.CANCELLED);
        assertThat(after.step("next").status()).isEqualTo(StepStatus.CANCELLED);
        assertThat(dsl.fetchOne("select count(*) from ordo.message where queue_name = 'ns_retries' and (message->>'task_id')::bigint = ?", id)
                .get(0, Integer.class)).isZero();
    }

    @Test
    void a_submission_rolled_back_by_its_caller_leaves_no_task_and_no_message() {
        long before = createdBySubmissions();
        try {
            dsl.transaction(cfg -> {
                cfg.dsl().execute("create temporary table if not exists business (x int)");
                long id = tasks.using(cfg.dsl()).submit("shapes", "single", "{\"order\":1}");
                assertThat(id).isPositive();
                throw new IllegalStateException("business rule failed");
            });
        } catch (IllegalStateException expected) {
            // the caller's transaction rolled back
        }
        assertThat(createdBySubmissions()).isEqualTo(before);
    }

    @Test
    void an_idempotent_repeat_returns_the_same_task_and_creates_nothing() {
        SubmitOptions options = SubmitOptions.DEFAULT.withIdempotencyKey("order-77").withCorrelationId("c-77");
        long first = tasks.submit("shapes", "single", null, "{\"order\":77}", options);
        // count once the running worker and orchestrator are done with the first task
        awaitFinished(List.of(first), Duration.ofSeconds(30));
        long before = createdBySubmissions();
        long second = tasks.submit("shapes", "single", null, "{\"order\":77}", options);
        assertThat(second).isEqualTo(first);
        assertThat(createdBySubmissions()).isEqualTo(before);
        assertThat(tasks.get(first).orElseThrow().correlationId()).isEqualTo("c-77");
    }

    @Test
    void bad_submissions_get_a_clear_error_and_leave_no_rows() {
        long before = createdBySubmissions();
        assertThatThrownBy(() -> tasks.submit("nowhere", "single", "{}"))
                .isInstanceOf(NotFoundException.class).hasMessageContaining("unknown namespace 'nowhere'");
        assertThatThrownBy(() -> tasks.submit("shapes", "missing", "{}"))
                .isInstanceOf(NotFoundException.class).hasMessageContaining("unknown template shapes/missing");
        assertThatThrownBy(() -> tasks.submit("shapes", "single", "7", "{}", SubmitOptions.DEFAULT))
                .isInstanceOf(NotFoundException.class).hasMessageContaining("unknown version '7'");
        assertThatThrownBy(() -> tasks.submit("shapes", "single", "[1,2]"))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("context must be a JSON object, got array");
        assertThatThrownBy(() -> tasks.submit("shapes", "single", "{\"a\":"))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("json");
        String big = "{\"blob\":\"" + "x".repeat(1_100_000) + "\"}";
        assertThatThrownBy(() -> tasks.submit("shapes", "single", big))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("more than the limit of 1048576 bytes");
        assertThatThrownBy(() -> tasks.submit("Shapes'; drop table ordo.task; --", "single", "{}"))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("invalid namespace name");
        assertThatThrownBy(() -> dsl.fetch("select ordo.submit_task('shapes', 'single', null, '{}', '{\"priority\": 1000}')"))
                .hasMessageContaining("options.priority must be a whole number between -100 and 100");
        assertThat(createdBySubmissions()).isEqualTo(before);
    }

    @Test
    void invalid_templates_are_refused_naming_the_step_and_register_nothing() {
        long before = count("ordo.task_template") + count("ordo.template_step") + count("ordo.namespace");
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("""
                namespace: bad
                name: cyclic
                version: 1
                steps:
                  - {name: a, depends_on: [c]}
                  - {name: b, depends_on: [a]}
                  - {name: c, depends_on: [b]}
                """, "dependency cycle among steps a, b, c");
        cases.put("{namespace: bad, name: selfish, version: 1, steps: [{name: a, depends_on: [a]}]}", "step a: depends on itself");
        cases.put("{namespace: bad, name: unknown, version: 1, steps: [{name: a, depends_on: [ghost]}]}", "step a: depends on unknown step 'ghost'");
        cases.put("{namespace: bad, name: dup, version: 1, steps: [{name: a}, {name: a}]}", "step a: duplicate step name");
        cases.put("{namespace: bad, name: empty, version: 1, steps: []}", "steps must be a non-empty array");
        cases.put("{namespace: bad, name: Bad-Name, version: 1, steps: [{name: a}]}", "template name 'Bad-Name'");
        cases.put("{namespace: \"bad; drop\", name: x, version: 1, steps: [{name: a}]}", "invalid namespace name");
        cases.put("{namespace: bad, name: t, version: 1, steps: [{name: a, timeout: 0}]}", "step a: timeout must be positive");
        cases.put("{namespace: bad, name: t, version: 1, steps: [{name: a, timeout: \"-5s\"}]}", "step a: timeout: must be a duration");
        cases.put("{namespace: bad, name: t, version: 1, steps: [{name: a, retry: {max_attempts: 0}}]}", "step a: retry.max_attempts must be between 1 and 100");
        cases.put("{namespace: bad, name: t, version: 1, steps: [{name: a, surprise: 1}]}", "step a: unknown field(s) 'surprise'");
        cases.put("namespace: [unclosed", "neither valid YAML nor JSON");
        for (var c : cases.entrySet()) {
            assertThatThrownBy(() -> templates.register(c.getKey())).as(c.getKey())
                    .isInstanceOf(InvalidInputException.class).hasMessageContaining(c.getValue());
        }
        assertThat(count("ordo.task_template") + count("ordo.template_step") + count("ordo.namespace")).isEqualTo(before);
    }

    @Test
    void a_registered_version_cannot_change_but_a_new_version_can_and_becomes_the_latest() {
        String v1 = "{namespace: versions, name: flow, version: 1, steps: [{name: a, handler: h}]}";
        assertThat(templates.register(v1).created()).isTrue();
        assertThat(templates.register(v1).created()).isFalse();
        assertThatThrownBy(() -> templates.register("{namespace: versions, name: flow, version: 1, steps: [{name: b}]}"))
                .isInstanceOf(TemplateConflictException.class).hasMessageContaining("register a new version");
        assertThat(templates.register("{namespace: versions, name: flow, version: 1.10, steps: [{name: b}]}").created()).isTrue();
        assertThat(templates.register("{namespace: versions, name: flow, version: 1.9, steps: [{name: c}]}").created()).isTrue();
        long id = tasks.submit("versions", "flow", "{}");
        assertThat(tasks.get(id).orElseThrow().version()).isEqualTo("1.10");
    }

    /**
     * What submissions create; other tests' tasks may still be moving, so queue rows are left out (a submission's step
     * messages are sent in the statement that inserts its steps).
     */
    private static long createdBySubmissions() {
        return dsl.fetchOne("select (select count(*) from ordo.task) + (select count(*) from ordo.step)"
                + " + (select count(*) from ordo.transition where actor like 'submit:%')").get(0, Long.class);
    }

    private static long count(String table) {
        return dsl.fetchOne("select count(*) from " + table).get(0, Long.class);
    }

    static void awaitFinished(java.util.Collection<Long> ids, Duration atMost) {
        WorkflowEngineTestSupport.awaitFinished(dsl, ids, atMost);
    }
}

package io.ordo.dlq;

import com.fasterxml.jackson.databind.JsonNode;
import io.ordo.InvalidInputException;
import io.ordo.Json;
import io.ordo.dlq.TestWorker.Failed;
import io.ordo.dlq.TestWorker.Outcome;
import io.ordo.dlq.TestWorker.Succeeded;
import io.ordo.task.TaskClient;
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
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

import static io.ordo.dlq.DlqFixture.awaitTaskStatus;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A step's way into the dead-letter queue and out of it again, through the real orchestrator and a worker. */
@ExtendWith(OrdoDatabaseExtension.class)
class DeadLetterLifecycleTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static DSLContext dsl;
    private static DlqFixture fixture;
    private static TaskClient tasks;
    private static DeadLetters letters;
    private static final AtomicBoolean fixed = new AtomicBoolean();
    private static final Map<String, Function<TestWorker.Step, Outcome>> handlers = new ConcurrentHashMap<>();

    @BeforeAll
    static void start(TestDatabase db) {
        dsl = db.dsl();
        fixture = new DlqFixture(db);
        tasks = new TaskClient(dsl);
        letters = new DeadLetters(dsl);
        TemplateRegistry templates = new TemplateRegistry(dsl);
        templates.register(DlqFixture.chainTemplate("billing", "charge", "flaky_until_fixed", 3));
        templates.register(DlqFixture.chainTemplate("billing", "patchable", "needs_amount", 1));
        templates.register(DlqFixture.chainTemplate("billing", "unhandled", "nobody_handles_this", 3));
        handlers.put("ok", s -> new Succeeded(Map.of("step", s.name())));
        handlers.put("flaky_until_fixed", s -> fixed.get() ? new Succeeded(Map.of("attempt", s.attempt()))
                : new Failed("java.lang.IllegalStateException", "poison on attempt " + s.attempt(), false));
        handlers.put("needs_amount", s -> s.input() != null && s.input().has("amount") ? new Succeeded(s.input())
                : new Failed("InvalidInput", "no amount in the input", true));
        fixture.orchestrator("orch-1");
        fixture.track(new TestWorker(dsl, "billing", handlers));
    }

    @AfterAll
    static void stop() {
        fixture.close();
    }

    private static DeadLetter letterOf(long taskId, String status) {
        return letters.list(new DeadLetterFilter(null, null, null, null, null, DeadLetterStatus.of(status), taskId, null, null),
                null, 10).items().getFirst();
    }

    @Test
    void a_poison_step_is_dead_lettered_with_its_attempt_history_and_its_task_completes_once_fixed_and_requeued() {
        fixed.set(false);
        long taskId = tasks.submit("billing", "charge", "{\"order\": 7}");
        awaitTaskStatus(dsl, taskId, "failed", WAIT);

        DeadLetter letter = letterOf(taskId, "open");
        assertThat(letter.reason()).isEqualTo("attempts_exhausted");
        assertThat(letter.namespace()).isEqualTo("billing");
        assertThat(letter.template()).isEqualTo("charge");
        assertThat(letter.step()).isEqualTo("middle");
        assertThat(letter.handler()).isEqualTo("flaky_until_fixed");
        assertThat(letter.errorClass()).isEqualTo("java.lang.IllegalStateException");
        assertThat(Json.parse(letter.message()).path("step_id").asLong()).isEqualTo(letter.stepId());
        assertThat(Json.parse(letter.lastError()).path("message").asText()).isEqualTo("poison on attempt 3");
        assertThat(Json.parse(letter.lastError()).path("stack").asText()).isNotEmpty();
        JsonNode attempts = Json.parse(letter.attempts());
        assertThat(attempts).hasSize(3);
        for (int i = 0; i < 3; i++) {
            assertThat(attempts.get(i).path("attempt").asInt()).isEqualTo(i + 1);
            assertThat(attempts.get(i).path("error").path("message").asText()).isEqualTo("poison on attempt " + (i + 1));
            assertThat(attempts.get(i).path("at").asText()).isNotEmpty();
        }
        assertThat(letter.firstFailedAt()).isNotNull().isBeforeOrEqualTo(letter.deadLetteredAt());
        assertThat(stepStatus(taskId, "after")).isEqualTo("cancelled");

        fixed.set(true);
        letters.requeue(letter.id(), null, "ops:alice", "the downstream service is back");
        awaitTaskStatus(dsl, taskId, "complete", WAIT);

        DeadLetter resolved = letters.get(letter.id()).orElseThrow();
        assertThat(resolved.status()).isEqualTo(DeadLetterStatus.REQUEUED);
        assertThat(resolved.resolvedBy()).isEqualTo("ops:alice");
        assertThat(resolved.resolvedReason()).isEqualTo("the downstream service is back");
        assertThat(resolved.resolvedAt()).isNotNull();
        assertThat(resolved.attempts()).as("nothing of the letter is lost").isEqualTo(letter.attempts());
        assertThat(letters.history(letter.id())).extracting(DeadLetterEvent::kind, DeadLetterEvent::actor)
                .contains(org.assertj.core.groups.Tuple.tuple("requeued", "ops:alice"));
        // a fresh set of attempts, numbered on from the old ones so that their late results stay fenced off
        Record step = dsl.fetchOne("select attempt, max_attempts, jsonb_array_length(errors), result->>'attempt' from ordo.step"
                + " where task_id = ? and name = 'middle'", taskId);
        assertThat(step.get(0, Integer.class)).isEqualTo(4);
        assertThat(step.get(1, Integer.class)).isEqualTo(6);
        assertThat(step.get(2, Integer.class)).as("the old errors stay in the step's history").isEqualTo(3);
        assertThat(stepStatus(taskId, "after")).isEqualTo("complete");
        assertThat(dsl.fetchOne("select count(*) from ordo.transition where task_id = ? and actor = 'ops:alice'", taskId)
                .get(0, Integer.class)).as("task failed->in_progress, middle failed->pending, after cancelled->pending").isEqualTo(3);
        assertThat(dsl.fetchOne("select count(*) from ordo.dead_letter where task_id = ?", taskId).get(0, Integer.class)).isEqualTo(1);
    }

    @Test
    void a_requeue_can_patch_the_steps_input() {
        long taskId = tasks.submit("billing", "patchable", "{}");
        awaitTaskStatus(dsl, taskId, "failed", WAIT);
        DeadLetter letter = letterOf(taskId, "open");
        assertThat(letter.reason()).isEqualTo("permanent_failure");

        letters.requeue(letter.id(), "{\"amount\": 42}", "ops:bob", "amount was missing");
        awaitTaskStatus(dsl, taskId, "complete", WAIT);
        assertThat(dsl.fetchOne("select input->>'amount', result->>'amount' from ordo.step where task_id = ? and name = 'middle'", taskId)
                .intoArray()).containsExactly("42", "42");
    }

    @Test
    void a_step_whose_handler_no_worker_knows_is_dead_lettered_at_once_as_a_permanent_failure() {
        long taskId = tasks.submit("billing", "unhandled", "{}");
        awaitTaskStatus(dsl, taskId, "failed", WAIT);
        DeadLetter letter = letterOf(taskId, "open");
        assertThat(letter.reason()).isEqualTo("permanent_failure");
        assertThat(letter.errorClass()).isEqualTo("UnknownHandler");
        assertThat(Json.parse(letter.attempts())).hasSize(1);
    }

    @Test
    void a_discarded_letter_leaves_its_task_failed_and_records_who_discarded_it_and_why() {
        fixed.set(false);
        long taskId = tasks.submit("billing", "charge", "{}");
        awaitTaskStatus(dsl, taskId, "failed", WAIT);
        DeadLetter letter = letterOf(taskId, "open");

        assertThatThrownBy(() -> letters.discard(letter.id(), "ops:carol", " ")).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("reason");
        letters.discard(letter.id(), "ops:carol", "customer cancelled the order");

        DeadLetter discarded = letters.get(letter.id()).orElseThrow();
        assertThat(discarded.status()).isEqualTo(DeadLetterStatus.DISCARDED);
        assertThat(discarded.resolvedBy()).isEqualTo("ops:carol");
        assertThat(discarded.resolvedReason()).isEqualTo("customer cancelled the order");
        assertThat(discarded.resolvedAt()).isNotNull();
        assertThat(letters.history(letter.id())).singleElement().satisfies(e -> {
            assertThat(e.kind()).isEqualTo("discarded");
            assertThat(e.actor()).isEqualTo("ops:carol");
            assertThat(e.reason()).isEqualTo("customer cancelled the order");
        });
        assertThat(dsl.fetchOne("select status from ordo.task where id = ?", taskId).get(0, String.class)).isEqualTo("failed");
        assertThat(stepStatus(taskId, "middle")).isEqualTo("failed");

        // resolved for good: neither a requeue nor a second discard changes anything
        assertThatThrownBy(() -> letters.requeue(letter.id(), null, "ops:dave", "try anyway"))
                .isInstanceOf(DeadLetterStateException.class).hasMessageContaining("discarded already");
        assertThatThrownBy(() -> letters.discard(letter.id(), "ops:dave", "again")).isInstanceOf(DeadLetterStateException.class);
        assertThat(letters.get(letter.id()).orElseThrow().resolvedBy()).isEqualTo("ops:carol");
        assertThat(dsl.fetchOne("select status from ordo.task where id = ?", taskId).get(0, String.class)).isEqualTo("failed");
    }

    @Test
    void orchestration_messages_that_cannot_be_applied_are_dead_lettered_in_the_transaction_that_drops_them() {
        fixed.set(true);
        long taskId = tasks.submit("billing", "charge", "{}");
        awaitTaskStatus(dsl, taskId, "complete", WAIT);
        dsl.fetch("select ordo.send('orchestration', ?::jsonb)", "{\"type\": \"reticulate\", \"task_id\": " + taskId + "}");
        dsl.fetch("select ordo.send('orchestration', ?::jsonb)", "{\"type\": \"step_result\", \"task_id\": " + taskId
                + ", \"step_id\": -5, \"attempt\": 1, \"status\": \"succeeded\"}");
        dsl.fetch("select ordo.send('orchestration', ?::jsonb)", "{\"type\": \"step_result\", \"task_id\": 987654321}");
        dsl.fetch("select ordo.send('orchestration', ?::jsonb)", "{\"no_type\": true}");
        org.awaitility.Awaitility.await().atMost(WAIT).until(() -> dsl.fetchOne(
                "select count(*) from ordo.dead_letter where error_class = 'UnprocessableMessage'").get(0, Integer.class) >= 4);
        assertThat(dsl.fetch("select reason from ordo.dead_letter where task_id = ? and error_class = 'UnprocessableMessage' order by id", taskId)
                .getValues(0, String.class)).containsExactly("orchestration message of unknown type 'reticulate'",
                "step result for unknown step -5");
        assertThat(dsl.fetch("select reason from ordo.dead_letter where task_id is null and error_class = 'UnprocessableMessage'")
                .getValues(0, String.class)).contains("message for unknown task 987654321", "malformed orchestration message");
        DeadLetter unknownType = letters.list(new DeadLetterFilter("billing", null, null, "UnprocessableMessage", null, null, taskId,
                null, null), null, 10).items().getLast();
        assertThat(Json.parse(unknownType.message()).path("type").asText()).isEqualTo("reticulate");
        assertThatThrownBy(() -> letters.requeue(unknownType.id(), null, "ops:fay", null))
                .isInstanceOf(DeadLetterStateException.class).hasMessageContaining("discard it");
        assertThat(dsl.fetchOne("select status from ordo.task where id = ?", taskId).get(0, String.class)).isEqualTo("complete");
    }

    @Test
    void an_unknown_letter_is_reported_as_such() {
        assertThatThrownBy(() -> letters.requeue(987654321L, null, "ops:erin", null)).isInstanceOf(DeadLetterNotFoundException.class);
        assertThatThrownBy(() -> letters.discard(987654321L, "ops:erin", "gone")).isInstanceOf(DeadLetterNotFoundException.class);
    }

    private static String stepStatus(long taskId, String step) {
        return dsl.fetchOne("select status from ordo.step where task_id = ? and name = ?", taskId, step).get(0, String.class);
    }
}

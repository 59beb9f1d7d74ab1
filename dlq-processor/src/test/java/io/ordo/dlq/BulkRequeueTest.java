package io.ordo.dlq;

import io.ordo.dlq.TestWorker.Failed;
import io.ordo.dlq.TestWorker.Outcome;
import io.ordo.dlq.TestWorker.Succeeded;
import io.ordo.template.TemplateRegistry;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Requeueing a thousand dead letters by filter, after a dry run that counts them and changes nothing. */
@ExtendWith(OrdoDatabaseExtension.class)
class BulkRequeueTest {
    private static final int MATCHING = 1000;
    private static final int OTHERS = 50;

    @Test
    void a_bulk_requeue_by_filter_resumes_a_thousand_tasks_after_a_dry_run_that_changes_nothing(TestDatabase db) {
        DSLContext dsl = db.dsl();
        TemplateRegistry templates = new TemplateRegistry(dsl);
        for (String name : new String[]{"nightly", "weekly"}) {
            templates.register("""
                    {"namespace": "imports", "name": "%s", "version": "1", "steps": [
                      {"name": "load", "handler": "loader", "retry": {"max_attempts": 1}}]}""".formatted(name));
        }
        AtomicBoolean upstreamBack = new AtomicBoolean();
        Map<String, Function<TestWorker.Step, Outcome>> handlers = Map.of("loader", s -> upstreamBack.get()
                ? new Succeeded(Map.of("rows", 10)) : new Failed("BadGateway", "upstream answered 502", false));
        try (DlqFixture fixture = new DlqFixture(db)) {
            fixture.orchestrator("orch-bulk");
            fixture.track(new TestWorker(dsl, "imports", handlers));
            dsl.execute("select ordo.submit_task('imports', 'nightly', null, '{}') from generate_series(1, ?)", MATCHING);
            dsl.execute("select ordo.submit_task('imports', 'weekly', null, '{}') from generate_series(1, ?)", OTHERS);
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(() -> dsl.fetchOne(
                    "select count(*) from ordo.dead_letter where namespace = 'imports' and status = 'open'").get(0, Integer.class)
                    == MATCHING + OTHERS);

            DeadLetters letters = new DeadLetters(dsl);
            DeadLetterFilter nightly = new DeadLetterFilter("imports", "nightly", "load", "BadGateway", null, null, null, null, null);
            String before = state(dsl);
            assertThat(letters.requeue(nightly, "ops:zoe", "upstream is back", true, DeadLetters.MAX_BULK)).isEqualTo(MATCHING);
            assertThat(state(dsl)).as("a dry run changes nothing").isEqualTo(before);

            upstreamBack.set(true);
            assertThat(letters.requeue(nightly, "ops:zoe", "upstream is back", false, DeadLetters.MAX_BULK)).isEqualTo(MATCHING);
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(() -> dsl.fetchOne(
                    "select count(*) from ordo.task where template_name = 'nightly' and status = 'complete'").get(0, Integer.class) == MATCHING);

            assertThat(dsl.fetchOne("select count(*) from ordo.dead_letter where template_name = 'nightly' and status = 'requeued'"
                    + " and resolved_by = 'ops:zoe' and resolved_reason = 'upstream is back'").get(0, Integer.class)).isEqualTo(MATCHING);
            assertThat(dsl.fetchOne("select count(*) from ordo.dead_letter_event where kind = 'requeued' and actor = 'ops:zoe'")
                    .get(0, Integer.class)).isEqualTo(MATCHING);
            assertThat(dsl.fetchOne("select count(*) from ordo.task where template_name = 'weekly' and status = 'failed'")
                    .get(0, Integer.class)).as("letters outside the filter are left alone").isEqualTo(OTHERS);
            assertThat(dsl.fetchOne("select count(*) from ordo.dead_letter where template_name = 'weekly' and status = 'open'")
                    .get(0, Integer.class)).isEqualTo(OTHERS);
            assertThat(letters.requeue(nightly, "ops:zoe", "again", true, DeadLetters.MAX_BULK)).as("nothing left to requeue").isZero();
        }
    }

    private static String state(DSLContext dsl) {
        return dsl.fetchOne("""
                select (select string_agg(status || ':' || count, ',' order by status)
                        from (select status, count(*) from ordo.dead_letter group by status) l),
                       (select count(*) from ordo.dead_letter_event),
                       (select string_agg(status || ':' || count, ',' order by status)
                        from (select status, count(*) from ordo.task group by status) t),
                       (select string_agg(status || ':' || count, ',' order by status)
                        from (select status, count(*) from ordo.step group by status) s),
                       (select count(*) from ordo.message),
                       (select count(*) from ordo.transition)""").formatJSON();
    }
}

package io.ordo.engine;

import io.ordo.task.BackpressureException;
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
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

@ExtendWith(OrdoDatabaseExtension.class)
class BackpressureTest {

    @Test
    void a_namespace_without_workers_refuses_submissions_at_critical_stays_bounded_and_recovers_when_workers_come(TestDatabase db) {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.fanOut("flood", "job", 3, "echo")); // 1 → 3 → 1 steps
        dsl.execute("select ordo.set_config('backpressure.flood.warning', '10', 'test')");
        dsl.execute("select ordo.set_config('backpressure.flood.critical', '20', 'test')");
        dsl.execute("select ordo.set_config('backpressure.flood.shed_below_priority', '0', 'test')");
        TaskClient tasks = new TaskClient(dsl);
        List<Long> accepted = new ArrayList<>();
        try (EngineFixture fx = new EngineFixture(db)) {
            fx.orchestrator("bp", Duration.ofSeconds(5));
            EngineDuties duties = new EngineDuties(dsl);
            fx.runDuties(dsl, Duration.ofMillis(50));
            Thread stats = Thread.ofPlatform().daemon().start(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    try {
                        duties.refreshQueueStats();
                        Thread.sleep(50);
                    } catch (InterruptedException e) {
                        return;
                    } catch (RuntimeException ignored) {
                        // next round
                    }
                }
            });
            fx.track(stats::interrupt);

            BackpressureException refused = null;
            for (int i = 0; i < 500 && refused == null; i++) {
                try {
                    accepted.add(tasks.submit("flood", "job", "{}"));
                    await().pollDelay(Duration.ofMillis(5)).until(() -> true);
                } catch (BackpressureException e) {
                    refused = e;
                }
            }
            assertThat(refused).as("submissions are refused once the namespace is saturated").isNotNull();
            assertThat(refused.getMessage()).contains("namespace flood is saturated").contains("critical threshold 20");
            assertThat(refused.retryAfter()).isPositive();
            assertThat(accepted.size()).isLessThan(500);
            assertThat(dsl.fetchOne("select backpressure from ordo.namespace where name = 'flood'").get(0, String.class)).isEqualTo("critical");

            // submissions that keep coming are refused, and the orchestrators stop feeding the queue
            await().pollDelay(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> true);
            assertThatThrownBy(() -> tasks.submit("flood", "job", "{}")).isInstanceOf(BackpressureException.class);
            long depth = dsl.fetchOne("select count(*) from ordo.message where queue_name = 'ns_flood'").get(0, Long.class);
            // the state turns critical at the next statistics refresh (every 50 ms here): what was submitted in between
            // (a submission every 5 to 10 ms) is still enqueued, since one-transaction passes enqueue within a few ms
            assertThat(depth).as("queue depth stays bounded near the critical threshold").isLessThanOrEqualTo(20 + 3 * 2 + 10);

            // workers arrive: the namespace drains, recovers, and every accepted task completes
            fx.track(new SqlWorker(dsl, "flood", Map.of("echo", s -> Map.of()), 2));
            WorkflowEngineTestSupport.awaitFinished(dsl, accepted, Duration.ofSeconds(60));
            await().atMost(Duration.ofSeconds(30)).until(() ->
                    dsl.fetchOne("select backpressure from ordo.namespace where name = 'flood'").get(0, String.class).equals("ok"));
            long late = tasks.submit("flood", "job", "{}");
            accepted.add(late);
            WorkflowEngineTestSupport.awaitFinished(dsl, List.of(late), Duration.ofSeconds(30));
        }
        assertThat(dsl.fetchOne("select count(*) from ordo.task where namespace = 'flood' and status = 'complete'").get(0, Integer.class))
                .isEqualTo(accepted.size());
    }

    @Test
    void orchestrators_do_not_feed_a_saturated_namespace_until_it_drains_below_warning(TestDatabase db) {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.chain("held", "job", 2, "echo"));
        dsl.execute("select ordo.set_config('backpressure.held.warning', '1', 'test')");
        dsl.execute("select ordo.set_config('backpressure.held.critical', '2', 'test')");
        // a task whose first step ran just before the leader's statistics refresh marked the namespace critical
        long id = new TaskClient(dsl).submit("held", "job", "{}");
        try (SqlWorker worker = new SqlWorker(dsl, "held", Map.of("echo", s -> Map.of()), 0)) {
            assertThat(worker.runOnce(10)).isEqualTo(1);
        }
        for (int i = 0; i < 3; i++) {
            dsl.execute("select ordo.send('ns_held', '{}')");
        }
        dsl.execute("select ordo.refresh_queue_stats('ns_held'), ordo.refresh_backpressure()");
        assertThat(dsl.fetchOne("select backpressure from ordo.namespace where name = 'held'").get(0, String.class)).isEqualTo("critical");

        EngineMetrics metrics = new EngineMetrics();
        OrchestrationPass pass = new OrchestrationPass(dsl, OrchestratorSettings.defaults("held-node"),
                java.time.Clock.systemUTC(), new java.util.Random(7), metrics);
        pass.runOnce();
        assertThat(metrics.backpressureDeferrals()).isEqualTo(1);
        assertThat(new TaskClient(dsl).get(id).orElseThrow().step("s1").status()).isEqualTo(io.ordo.task.StepStatus.PENDING);
        assertThat(dsl.fetchOne("select count(*) from ordo.message where queue_name = 'ns_held'").get(0, Integer.class))
                .as("nothing was added to the saturated queue").isEqualTo(3);

        // the queue drains below warning: the deferred task is looked at again and its step enqueued
        dsl.execute("delete from ordo.message where queue_name = 'ns_held'");
        dsl.execute("select ordo.refresh_queue_stats('ns_held'), ordo.refresh_backpressure()");
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).until(() -> {
            pass.runOnce();
            return new TaskClient(dsl).get(id).orElseThrow().step("s1").status() == io.ordo.task.StepStatus.ENQUEUED;
        });
    }

    @Test
    void above_warning_low_priority_work_is_shed_first(TestDatabase db) {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.chain("shed", "job", 1, "echo"));
        dsl.execute("select ordo.set_config('backpressure.shed.warning', '2', 'test')");
        dsl.execute("select ordo.set_config('backpressure.shed.critical', '100', 'test')");
        dsl.execute("select ordo.set_config('backpressure.shed.shed_below_priority', '5', 'test')");
        for (int i = 0; i < 3; i++) {
            dsl.execute("select ordo.send('ns_shed', '{}')");
        }
        dsl.execute("select ordo.refresh_queue_stats('ns_shed'), ordo.refresh_backpressure()");
        TaskClient tasks = new TaskClient(dsl);
        long before = dsl.fetchOne("select count(*) from ordo.task").get(0, Long.class);
        assertThatThrownBy(() -> tasks.submit("shed", "job", null, "{}", SubmitOptions.DEFAULT.withPriority(4)))
                .isInstanceOf(BackpressureException.class)
                .hasMessageContaining("namespace shed is above its warning threshold 2").hasMessageContaining("below priority 5 are shed");
        assertThat(dsl.fetchOne("select count(*) from ordo.task").get(0, Long.class)).isEqualTo(before);
        assertThat(tasks.submit("shed", "job", null, "{}", SubmitOptions.DEFAULT.withPriority(5))).isPositive();
    }
}

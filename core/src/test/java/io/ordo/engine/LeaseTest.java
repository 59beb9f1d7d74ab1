package io.ordo.engine;

import io.ordo.task.StepStatus;
import io.ordo.task.TaskClient;
import io.ordo.task.TaskStatus;
import io.ordo.template.TemplateRegistry;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

@ExtendWith(OrdoDatabaseExtension.class)
class LeaseTest {

    @Test
    void an_expired_lease_is_taken_over_and_the_old_owner_writes_nothing(TestDatabase db) {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.chain("lease", "two", 2, "h"));
        TaskClient tasks = new TaskClient(dsl);
        long id = tasks.submit("lease", "two", "{}");
        try (SqlWorker worker = new SqlWorker(dsl, "lease", Map.of("h", s -> Map.of()), 0)) {
            assertThat(worker.runOnce(10)).as("the first step, enqueued at submission, runs").isEqualTo(1);
        }
        Duration ttl = Duration.ofMillis(700);
        EngineMetrics metricsA = new EngineMetrics();
        EngineMetrics metricsB = new EngineMetrics();
        OrchestrationPass a = new OrchestrationPass(dsl, OrchestratorSettings.defaults("node-a").withLeaseTtl(ttl), Clock.systemUTC(), new Random(1), metricsA);
        OrchestrationPass b = new OrchestrationPass(dsl, OrchestratorSettings.defaults("node-b").withLeaseTtl(ttl), Clock.systemUTC(), new Random(2), metricsB);

        OrchestrationPass.Claim claimA = a.claimBatch();
        assertThat(claimA.tokens()).containsKey(id);
        assertThat(dsl.fetchOne("select lease_owner from ordo.task where id = ?", id).get(0, String.class)).isEqualTo("node-a");
        // node A now "pauses"; while its lease and the message's visibility last, node B finds nothing to do
        assertThat(b.runOnce()).isZero();

        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50)).until(() -> b.runOnce() > 0);
        assertThat(metricsB.leaseTakeovers()).isEqualTo(1);
        assertThat(tasks.get(id).orElseThrow().status()).isEqualTo(TaskStatus.IN_PROGRESS);
        assertThat(tasks.get(id).orElseThrow().step("s0").status()).isEqualTo(StepStatus.COMPLETE);
        assertThat(tasks.get(id).orElseThrow().step("s1").status()).isEqualTo(StepStatus.ENQUEUED);
        long transitions = dsl.fetchOne("select count(*) from ordo.transition where task_id = ?", id).get(0, Long.class);
        long stepMessages = dsl.fetchOne("select count(*) from ordo.message where queue_name = 'ns_lease'").get(0, Long.class);

        // node A wakes up and applies its batch under its stale token: nothing changes
        a.applyBatch(claimA);
        assertThat(metricsA.staleLeases()).isEqualTo(1);
        assertThat(dsl.fetchOne("select count(*) from ordo.transition where task_id = ?", id).get(0, Long.class)).isEqualTo(transitions);
        assertThat(dsl.fetchOne("select count(*) from ordo.message where queue_name = 'ns_lease'").get(0, Long.class)).isEqualTo(stepMessages);
        assertThat(tasks.get(id).orElseThrow().step("s1").attempt()).isEqualTo(1);
    }

    @Test
    void a_live_node_keeps_its_leases_by_heartbeat_and_releases_them_when_it_stops(TestDatabase db) throws Exception {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.chain("beat", "one", 1, "h"));
        long id = new TaskClient(dsl).submit("beat", "one", "{}");
        dsl.execute("delete from ordo.message where queue_name = 'orchestration'");
        Orchestrator node = Orchestrator.start(db.database(),
                OrchestratorSettings.defaults("node-h").withLeaseTtl(Duration.ofMillis(300)), null, Clock.systemUTC());
        try {
            // a lease node-h holds, as if in the middle of a long pass
            dsl.execute("update ordo.task set lease_owner = 'node-h', lease_token = 1,"
                    + " lease_expires_at = now() + interval '300 milliseconds' where id = ?", id);
            await().during(Duration.ofMillis(1200)).atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(50))
                    .until(() -> dsl.fetchOne("select lease_expires_at > now() from ordo.task where id = ?", id).get(0, Boolean.class));
            assertThat(new EngineDuties(dsl).reclaimExpiredLeases()).isZero();
        } finally {
            node.stop(Duration.ofSeconds(2));
        }
        assertThat(dsl.fetchOne("select lease_owner from ordo.task where id = ?", id).get(0, String.class))
                .as("a node that stops cleanly releases its leases at once").isNull();
    }
}

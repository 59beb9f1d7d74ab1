package io.ordo.engine;

import io.ordo.template.TemplateRegistry;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

@ExtendWith(OrdoDatabaseExtension.class)
class EngineConcurrencyTest {
    private static final Map<String, Function<SqlWorker.Step, Object>> ECHO = Map.of("echo", s -> Map.of("n", s.name()));

    @Test
    void three_orchestrators_and_concurrent_workers_complete_5000_random_dags_applying_each_result_once(TestDatabase db) {
        DSLContext dsl = db.dsl();
        int templates = registerRandomDags(dsl, "conc", 20, 7);
        try (EngineFixture fx = new EngineFixture(db)) {
            fx.track(new SqlWorker(dsl, "conc", ECHO, 3));
            fx.orchestrator("conc-a", Duration.ofSeconds(5));
            fx.orchestrator("conc-b", Duration.ofSeconds(5));
            fx.orchestrator("conc-c", Duration.ofSeconds(5));
            submit(dsl, "conc", templates, 5000);
            awaitAllFinished(dsl, Duration.ofMinutes(4));
        }
        assertAllCompleteExactlyOnceAndReplayable(dsl, "conc", 5000);
        // the work was shared: every orchestrator applied results
        assertThat(dsl.fetch("select distinct t.actor from ordo.transition t join ordo.task k on k.id = t.task_id"
                        + " where k.namespace = 'conc' and t.actor like 'orchestrator:%'").getValues(0, String.class))
                .containsExactlyInAnyOrder("orchestrator:conc-a", "orchestrator:conc-b", "orchestrator:conc-c");
    }

    @Test
    @Tag("chaos")
    void an_orchestrator_whose_sessions_are_terminated_mid_run_loses_nothing_and_its_leases_are_taken_over(TestDatabase db) throws Exception {
        DSLContext dsl = db.dsl();
        int templates = registerRandomDags(dsl, "crash", 10, 11);
        try (EngineFixture fx = new EngineFixture(db)) {
            fx.track(new SqlWorker(dsl, "crash", ECHO, 3));
            java.util.concurrent.atomic.AtomicLong reclaimed = fx.runDuties(dsl, Duration.ofMillis(200));
            // the victim starts alone, so that it is surely in the middle of the run when it dies; the survivors join it
            Orchestrator victim = fx.orchestrator("victim", Duration.ofSeconds(1));
            submit(dsl, "crash", templates, 1500);
            await().atMost(Duration.ofSeconds(60)).until(() -> victim.metrics().messagesProcessed() > 200);
            Orchestrator b = fx.orchestrator("survivor-b", Duration.ofSeconds(1));
            Orchestrator c = fx.orchestrator("survivor-c", Duration.ofSeconds(1));
            // the crash: the node stops dead, without releasing anything, and its sessions are cut
            victim.abandon();
            int terminated = db.terminateSessions("orch-victim");
            assertThat(terminated).isPositive();
            // leave it holding a lease, as a crash in the middle of a pass would
            // (on a task no pass holds, still in progress when the lease lands: only a takeover can finish it then)
            long orphan = dsl.fetchOne("""
                    update ordo.task set lease_owner = 'victim', lease_token = -1, lease_expires_at = now() + interval '1 second'
                    where id = (select id from ordo.task where namespace = 'crash' and status = 'in_progress'
                                order by id limit 1 for update skip locked)
                    returning id""").get(0, Long.class);
            dsl.execute("select ordo.send('orchestration', jsonb_build_object('type', 'task_requested', 'task_id', ?::bigint))", orphan);
            awaitAllFinished(dsl, Duration.ofMinutes(3));
            assertThat(b.metrics().leaseTakeovers() + c.metrics().leaseTakeovers() + reclaimed.get())
                    .as("the dead node's lease was taken over by a survivor or reclaimed by the leader").isPositive();
            assertThat(dsl.fetch("select distinct actor from ordo.transition where task_id = ? and seq > (select max(seq)"
                    + " from ordo.transition where task_id = ? and actor = 'orchestrator:victim')", orphan, orphan).getValues(0, String.class))
                    .doesNotContain("orchestrator:victim");
            // the extra task_requested was deferred while the dead node's lease held its task: it comes back after
            // that lease expired and is consumed then, so let the survivors finish it before they stop
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> dsl.fetchOne(
                    "select count(*) from ordo.message where queue_name in ('orchestration', 'ns_crash')").get(0, Integer.class) == 0);
        }
        assertAllCompleteExactlyOnceAndReplayable(dsl, "crash", 1500);
    }

    static int registerRandomDags(DSLContext dsl, String ns, int count, long seed) {
        TemplateRegistry registry = new TemplateRegistry(dsl);
        Random random = new Random(seed);
        for (int i = 0; i < count; i++) {
            registry.register(EngineFixture.randomDag(ns, "dag" + i, 1 + random.nextInt(8), random, "echo"));
        }
        return count;
    }

    static void submit(DSLContext dsl, String ns, int templates, int tasks) {
        for (int done = 0; done < tasks; done += 500) {
            dsl.execute("select ordo.submit_task(?, 'dag' || (i % ?), null, jsonb_build_object('i', i)) from generate_series(?, ?) i",
                    ns, templates, done, Math.min(tasks, done + 500) - 1);
        }
    }

    static void awaitAllFinished(DSLContext dsl, Duration atMost) {
        await().atMost(atMost).pollInterval(Duration.ofMillis(200)).until(() -> dsl.fetchOne(
                "select count(*) from ordo.task where status not in ('complete', 'failed', 'cancelled')").get(0, Integer.class) == 0);
    }

    static void assertAllCompleteExactlyOnceAndReplayable(DSLContext dsl, String ns, int tasks) {
        assertThat(dsl.fetchOne("select count(*) from ordo.task where namespace = ?", ns).get(0, Integer.class)).isEqualTo(tasks);
        assertThat(dsl.fetchOne("select count(*) from ordo.task where namespace = ? and status = 'complete'", ns).get(0, Integer.class))
                .isEqualTo(tasks);
        assertThat(dsl.fetchOne("select count(*) from ordo.step s join ordo.task t on t.id = s.task_id"
                + " where t.namespace = ? and s.status <> 'complete'", ns).get(0, Integer.class)).isZero();
        // every step's result was applied exactly once, counted from the transition log
        Map<Integer, Integer> appliedCounts = new HashMap<>();
        for (Record r : dsl.fetch("""
                select n, count(*) from (
                    select s.id, count(t.seq) as n from ordo.step s
                    join ordo.task k on k.id = s.task_id and k.namespace = ?
                    left join ordo.transition t on t.step_id = s.id and t.to_state = 'complete' and t.detail is null
                    group by s.id) x
                group by n""", ns)) {
            appliedCounts.put(r.get(0, Integer.class), r.get(1, Integer.class));
        }
        assertThat(appliedCounts.keySet()).containsExactly(1);
        // replay from the log alone equals the live state, for every task
        assertThat(dsl.fetchOne("""
                select count(*) from ordo.task t
                cross join lateral (select r.status from ordo.replay_task(t.id) r where r.step_name is null) rt
                where t.namespace = ? and rt.status is distinct from t.status""", ns).get(0, Integer.class)).isZero();
        List<Record> mismatches = dsl.fetch("""
                select s.id from ordo.step s
                join ordo.task t on t.id = s.task_id and t.namespace = ?
                join lateral ordo.replay_task(s.task_id) r on r.step_name = s.name
                where r.status is distinct from s.status or r.attempt is distinct from s.attempt
                limit 5""", ns);
        assertThat(mismatches).isEmpty();
        assertThat(dsl.fetchOne("select count(*) from ordo.message where queue_name in ('orchestration', 'ns_' || ?)", ns)
                .get(0, Integer.class)).as("no message left behind").isZero();
    }
}

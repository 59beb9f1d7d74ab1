package io.ordo.engine;

import io.ordo.coordination.LeaderDuty;
import io.ordo.coordination.Leadership;
import io.ordo.coordination.PostgresCoordination;
import io.ordo.coordination.StaleTermException;
import io.ordo.testing.BehindALongTransaction;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.task.TaskClient;
import io.ordo.template.TemplateRegistry;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@ExtendWith(OrdoDatabaseExtension.class)
class EngineDutiesTest {

    @Test
    void engine_duties_run_under_the_current_term_and_a_deposed_leader_changes_nothing(TestDatabase db) {
        DSLContext dsl = db.dsl();
        dsl.execute("select ordo.create_namespace('duty')");
        long task = dsl.fetchOne("insert into ordo.task (namespace, template_name, template_version, context, steps_total,"
                + " lease_owner, lease_token, lease_expires_at) values ('duty', 't', '1', '{}', 0, 'gone', 7, now() - interval '1 second')"
                + " returning id").get(0, Long.class);
        try (PostgresCoordination coordination = new PostgresCoordination(db.database(), Clock.systemUTC())) {
            Leadership first = coordination.tryAcquireLeadership("node-1").orElseThrow();
            coordination.releaseLeadership(first);
            Leadership second = coordination.tryAcquireLeadership("node-2").orElseThrow();
            assertThat(second.term()).isGreaterThan(first.term());

            List<LeaderDuty> duties = new EngineDuties(dsl).leaderDuties(() -> Duration.ofSeconds(1), () -> 30);
            LeaderDuty reclaim = duties.stream().filter(d -> d.name().equals("reclaim-expired-leases")).findFirst().orElseThrow();

            assertThatThrownBy(() -> reclaim.run(first.term())).isInstanceOf(StaleTermException.class);
            assertThat(dsl.fetchOne("select lease_owner from ordo.task where id = ?", task).get(0, String.class))
                    .as("the stale term's run changed nothing").isEqualTo("gone");

            reclaim.run(second.term());
            assertThat(dsl.fetchOne("select lease_owner from ordo.task where id = ?", task).get(0, String.class)).isNull();
            for (LeaderDuty duty : duties) {
                duty.run(second.term());
            }

            // a node declared down gives up its leases at once, and only under the current term
            dsl.execute("update ordo.task set lease_owner = 'dead-node', lease_token = 9, lease_expires_at = now() + interval '1 hour'"
                    + " where id = ?", task);
            var releaser = new EngineDuties(dsl).leaseReleaser();
            assertThatThrownBy(() -> releaser.nodeDown("dead-node", first.term())).isInstanceOf(StaleTermException.class);
            assertThat(dsl.fetchOne("select lease_owner from ordo.task where id = ?", task).get(0, String.class)).isEqualTo("dead-node");
            releaser.nodeDown("dead-node", second.term());
            assertThat(dsl.fetchOne("select lease_owner from ordo.task where id = ?", task).get(0, String.class)).isNull();
            coordination.releaseLeadership(second);
        }
    }

    /**
     * Creating a partition of the transition log locks the whole table, which every submission, read and pass writes.
     * Behind a long transaction, the waiting request would queue all of them; the maintenance gives up instead and
     * tries again at its next run (partitions are made a week ahead).
     */
    @Test
    void the_transition_log_maintenance_gives_up_rather_than_queue_every_writer_behind_a_long_transaction(TestDatabase db)
            throws Exception {
        DSLContext dsl = db.dsl();
        String partition = dsl.fetchOne("select ordo.daily_partition_name('transition', (now() at time zone 'utc')::date + 7)")
                .get(0, String.class);
        dsl.execute("drop table if exists ordo." + partition);
        try (PostgresCoordination coordination = new PostgresCoordination(db.database(), Clock.systemUTC())) {
            Leadership leader = coordination.tryAcquireLeadership("node-1").orElseThrow();
            LeaderDuty maintain = new EngineDuties(dsl).leaderDuties(() -> Duration.ofSeconds(1), () -> 30).stream()
                    .filter(d -> d.name().equals("maintain-transition-log")).findFirst().orElseThrow();
            assertThat(BehindALongTransaction.failureOf(db, "ordo.transition", () -> maintain.run(leader.term())))
                    .as("the maintenance gave up instead of waiting for the long transaction")
                    .hasStackTraceContaining("lock timeout");
            assertThat(dsl.fetchOne("select to_regclass('ordo." + partition + "') is null").get(0, Boolean.class)).isTrue();

            maintain.run(leader.term());
            assertThat(dsl.fetchOne("select to_regclass('ordo." + partition + "') is not null").get(0, Boolean.class))
                    .as("the next run made the partition").isTrue();
            coordination.releaseLeadership(leader);
        }
    }

    /**
     * The timeout duty runs every second. It walked every running step, since each has its own timeout: 41,527 of
     * them in a burn-down whose results waited for the orchestrator. No step can have timed out before the shortest
     * timeout of any template has passed since it started, so the walk stops there (V21).
     */
    @Test
    void the_timeout_duty_reads_no_running_step_that_started_within_the_shortest_timeout(TestDatabase db) throws Exception {
        DSLContext dsl = db.dsl();
        new TemplateRegistry(dsl).register(EngineFixture.template("patient", "long", "1",
                List.of(EngineFixture.step("work", "h", List.of(), "\"timeout\":\"300s\""))));
        TaskClient tasks = new TaskClient(dsl);
        for (int i = 0; i < 200; i++) {
            tasks.submit("patient", "long", "{}");
        }
        // all running for a minute, one of them for ten: the only one past its 300 s
        dsl.execute("update ordo.step set status = 'in_progress', attempt = 1, started_at = now() - interval '1 minute'");
        long late = dsl.fetchOne("update ordo.step set started_at = now() - interval '10 minutes'"
                + " where id = (select min(id) from ordo.step) returning id").get(0, Long.class);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            String read = "select pg_stat_get_xact_tuples_returned('ordo.step_running'::regclass)";
            long before = single(st, read);
            assertThat(single(st, "select ordo.enforce_step_timeouts()")).as("steps timed out").isEqualTo(1);
            assertThat(single(st, read) - before).as("running steps the duty read").isEqualTo(1);
            assertThat(single(st, "select timeout_signalled from ordo.step where id = " + late)).isEqualTo(1);
            c.commit();
        }
    }

    private static long single(Statement st, String sql) throws Exception {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}

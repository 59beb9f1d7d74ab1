package io.ordo.engine;

import io.ordo.coordination.LeaderDuty;
import io.ordo.coordination.Leadership;
import io.ordo.coordination.PostgresCoordination;
import io.ordo.coordination.StaleTermException;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

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
}

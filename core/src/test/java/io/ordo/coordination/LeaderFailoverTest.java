package io.ordo.coordination;

import io.ordo.db.Database;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Guarantee: when the leader's database session dies, another node leads within two election intervals,
 * the duties go on under the new term, and the old leader can no longer act under its old term.
 */
@Tag("chaos")
@ExtendWith(OrdoDatabaseExtension.class)
class LeaderFailoverTest {
    private static final Duration INTERVAL = Duration.ofMillis(400);

    private final List<AutoCloseable> resources = new ArrayList<>();

    /** One duty run that passed the term check: who, under which term, when it started (nanoTime). */
    record Run(String node, long term, long startedAt) {
    }

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable r : resources.reversed()) {
            r.close();
        }
    }

    private <T extends AutoCloseable> T keep(T resource) {
        resources.add(resource);
        return resource;
    }

    private LeaderElector node(TestDatabase db, String nodeId, List<Run> runs) {
        Database database = keep(Database.connect(db.settings().withApplicationName(nodeId).withMaxPoolSize(3)));
        PostgresCoordination coordination = keep(new PostgresCoordination(database, Clock.systemUTC()));
        LeaderElector elector = new LeaderElector(coordination, nodeId, INTERVAL)
                .register(StandardDuties.queueStats(database.dsl(), () -> Duration.ofMillis(50)))
                .register(LeaderDuty.of("record", Duration.ofMillis(20), term -> {
                    long startedAt = System.nanoTime();
                    try {
                        database.dsl().fetch("select ordo.assert_leader(?)", term);
                    } catch (org.jooq.exception.DataAccessException e) {
                        throw PostgresCoordination.translateTerm(e, term);
                    }
                    runs.add(new Run(nodeId, term, startedAt));
                }));
        return keep(elector);
    }

    @Test
    void another_node_leads_within_two_election_intervals_after_the_leaders_session_is_terminated(TestDatabase db) throws Exception {
        List<Run> runs = new CopyOnWriteArrayList<>();
        LeaderElector a = node(db, "node-a", runs).start();
        await().atMost(Duration.ofSeconds(5)).until(a::isLeader);
        LeaderElector b = node(db, "node-b", runs).start();
        Leadership old = a.leadership().orElseThrow();
        await().atMost(Duration.ofSeconds(5)).until(() -> runs.stream().anyMatch(r -> r.node().equals("node-a")));
        assertThat(b.isLeader()).isFalse();

        long killedAt = System.nanoTime();
        assertThat(db.terminateSessions("node-a:leader")).isEqualTo(1);

        await().atMost(INTERVAL.multipliedBy(2)).pollInterval(Duration.ofMillis(10)).until(b::isLeader);
        long takenOverAt = System.nanoTime();
        assertThat(Duration.ofNanos(takenOverAt - killedAt)).isLessThan(INTERVAL.multipliedBy(2));
        assertThat(a.isLeader()).as("the old leader stopped acting at once").isFalse();
        Leadership current = b.leadership().orElseThrow();
        assertThat(current.term()).isGreaterThan(old.term());

        // duties go on under the new term
        await().atMost(Duration.ofSeconds(5)).until(() -> runs.stream().anyMatch(r -> r.node().equals("node-b") && r.term() == current.term()));
        // the new term is recorded only once every transaction of the old term has ended (assert_leader holds
        // the leader row FOR SHARE), so no old-term run that started after the takeover can have passed
        assertThat(runs).noneMatch(r -> r.term() == old.term() && r.startedAt() > takenOverAt);

        // the old leader, back on a fresh session, cannot act under its old term
        try (Database comeback = Database.connect(db.settings().withApplicationName("node-a-again").withMaxPoolSize(1))) {
            assertThatThrownBy(() -> StandardDuties.queueStats(comeback.dsl(), () -> INTERVAL).run(old.term()))
                    .isInstanceOf(StaleTermException.class)
                    .satisfies(e -> assertThat(((StaleTermException) e).term()).isEqualTo(old.term()));
            assertThat(comeback.dsl().fetchOne("select node_id, term from ordo.get_leader()").intoArray())
                    .containsExactly("node-b", current.term());
        }
        // and it stays a follower while the new leader lives
        Thread.sleep(INTERVAL.multipliedBy(2));
        assertThat(a.isLeader()).isFalse();
        assertThat(b.leadership()).contains(current);
    }
}

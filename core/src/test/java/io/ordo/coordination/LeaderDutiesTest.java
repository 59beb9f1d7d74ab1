package io.ordo.coordination;

import io.ordo.testing.SettableClock;

import io.ordo.queue.QueueClient;
import io.ordo.testing.BehindALongTransaction;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The standard leader duties do their work under the current term and refuse a stale one. */
@ExtendWith(OrdoDatabaseExtension.class)
class LeaderDutiesTest {
    private static final Duration EVERY_SECOND = Duration.ofSeconds(1);
    private static TestDatabase db;
    private static DSLContext dsl;

    private final SettableClock clock = SettableClock.startingNow();
    private PostgresCoordination coordination;
    private Leadership leader;

    @BeforeAll
    static void database(TestDatabase database) {
        db = database;
        dsl = database.dsl();
    }

    @BeforeEach
    void lead() {
        coordination = new PostgresCoordination(db.database(), clock);
        leader = coordination.tryAcquireLeadership("leader").orElseThrow();
    }

    @AfterEach
    void stepDown() {
        coordination.close();
    }

    private static String partition(LocalDate day) {
        return "archive_" + day.format(DateTimeFormatter.BASIC_ISO_DATE);
    }

    private static List<String> archivePartitions() {
        return dsl.fetch("""
                select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
                where i.inhparent = 'ordo.archive'::regclass order by 1""").getValues(0, String.class);
    }

    @Test
    void archive_duty_creates_partitions_ahead_and_drops_those_past_retention() {
        LocalDate today = clock.instant().atZone(ZoneOffset.UTC).toLocalDate();
        dsl.fetch("select ordo.ensure_archive_partitions(0, ?::date)", today.minusDays(30).toString());
        assertThat(archivePartitions()).contains(partition(today.minusDays(30)));

        StandardDuties.archiveMaintenance(dsl, clock, () -> EVERY_SECOND, () -> 10, () -> 7).run(leader.term());

        assertThat(archivePartitions())
                .doesNotContain(partition(today.minusDays(30)))
                .contains(partition(today), partition(today.plusDays(10)));
    }

    /** Behind a long transaction that writes the archive, the duty gives up instead of queueing every archiver. */
    @Test
    void archive_duty_gives_up_rather_than_queue_every_writer_behind_a_long_transaction() throws Exception {
        LocalDate today = clock.instant().atZone(ZoneOffset.UTC).toLocalDate();
        String ahead = partition(today.plusDays(20));
        dsl.execute("drop table if exists ordo." + ahead);
        LeaderDuty maintain = StandardDuties.archiveMaintenance(dsl, clock, () -> EVERY_SECOND, () -> 20, () -> 7);
        assertThat(BehindALongTransaction.failureOf(db, "ordo.archive", () -> maintain.run(leader.term())))
                .as("the duty gave up instead of waiting for the long transaction")
                .hasStackTraceContaining("lock timeout");
        assertThat(archivePartitions()).doesNotContain(ahead);
        maintain.run(leader.term());
        assertThat(archivePartitions()).as("the next run made the partition").contains(ahead);
    }

    @Test
    void queue_stats_duty_refreshes_the_depth_snapshot() {
        QueueClient queue = new QueueClient(dsl);
        queue.createQueue("duty_stats");
        queue.sendBatch("duty_stats", List.of("{}", "{}", "{}"));

        StandardDuties.queueStats(dsl, () -> EVERY_SECOND).run(leader.term());

        assertThat(dsl.fetchOne("select stats_depth from ordo.queue where queue_name = 'duty_stats'").get(0, Long.class)).isEqualTo(3);
    }

    @Test
    void node_monitor_duty_tells_the_listeners_which_nodes_went_down() {
        List<String> down = new CopyOnWriteArrayList<>();
        LeaderDuty monitor = StandardDuties.nodeMonitor(coordination, () -> EVERY_SECOND,
                List.of((nodeId, term) -> down.add(nodeId + "@" + term)));
        coordination.register(new NodeInfo("duty-worker", NodeRole.WORKER, List.of(), "h", "v", clock.instant(),
                Duration.ofSeconds(1), Map.of()), 0);

        clock.advance(Duration.ofMillis(2500));
        monitor.run(leader.term());
        assertThat(down).as("suspect is not down").isEmpty();

        clock.advance(Duration.ofSeconds(1));
        monitor.run(leader.term());
        assertThat(down).containsExactly("duty-worker@" + leader.term());
    }

    @Test
    void cleanup_duty_deletes_expired_keys_and_locks() {
        coordination.set("cleanup-expiring", "x", Duration.ofSeconds(1));
        coordination.set("cleanup-kept", "x");
        coordination.tryLock("cleanup-lock", "A", LockMode.EXCLUSIVE, Duration.ofSeconds(1)).orElseThrow();
        clock.advance(Duration.ofSeconds(1));

        StandardDuties.coordinationCleanup(dsl, clock, () -> EVERY_SECOND).run(leader.term());

        assertThat(dsl.fetch("select key from ordo.coord_key where key like 'cleanup-%'").getValues(0, String.class))
                .containsExactly("cleanup-kept");
        assertThat(dsl.fetchCount(dsl.selectFrom("ordo.coord_lock").where("lock_name = 'cleanup-lock'"))).isZero();
    }

    @Test
    void every_duty_refuses_a_stale_term_and_changes_nothing() {
        long stale = leader.term() - 1;
        coordination.set("stale-expiring", "x", Duration.ofSeconds(1));
        clock.advance(Duration.ofSeconds(1));
        List<LeaderDuty> duties = List.of(
                StandardDuties.nodeMonitor(coordination, () -> EVERY_SECOND, List.of()),
                StandardDuties.archiveMaintenance(dsl, clock, () -> EVERY_SECOND, () -> 1, () -> 1),
                StandardDuties.queueStats(dsl, () -> EVERY_SECOND),
                StandardDuties.coordinationCleanup(dsl, clock, () -> EVERY_SECOND));

        for (LeaderDuty duty : duties) {
            assertThatThrownBy(() -> duty.run(stale)).as(duty.name()).isInstanceOf(StaleTermException.class)
                    .hasMessageContaining("leader term " + stale + " is stale");
        }
        assertThat(dsl.fetchCount(dsl.selectFrom("ordo.coord_key").where("key = 'stale-expiring'"))).isOne();
        assertThatThrownBy(() -> dsl.fetch("select ordo.assert_leader(?)", stale))
                .satisfies(e -> assertThat(io.ordo.db.SqlErrors.sqlState(e)).isEqualTo("OR412"));
    }
}

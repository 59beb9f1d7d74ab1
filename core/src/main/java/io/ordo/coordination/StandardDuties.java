package io.ordo.coordination;

import org.jooq.DSLContext;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;

import java.time.Clock;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * The leader duties every cluster needs. Intervals and settings are suppliers, read before every run, so
 * they can follow live config ({@code () -> config.current().heartbeatInterval()}).
 */
public final class StandardDuties {
    private static final System.Logger LOG = System.getLogger(StandardDuties.class.getName());

    private StandardDuties() {
    }

    /**
     * Marks nodes suspect after 2 missed heartbeat intervals and down after 3
     * ({@link Coordination#markStaleNodes}), then tells {@code listeners} about each node declared down.
     */
    public static LeaderDuty nodeMonitor(Coordination coordination, Supplier<Duration> interval, List<NodeDownListener> listeners) {
        List<NodeDownListener> copy = List.copyOf(listeners);
        return LeaderDuty.of("mark-stale-nodes", interval, term -> {
            for (NodeStatusChange change : coordination.markStaleNodes(term)) {
                LOG.log(System.Logger.Level.INFO, "node " + change.nodeId() + " is now " + change.status() + " (term " + term + ")");
                if (change.status() == NodeStatus.DOWN) {
                    for (NodeDownListener listener : copy) {
                        listener.nodeDown(change.nodeId(), term);
                    }
                }
            }
        });
    }

    /** How long a run that creates or drops partitions waits for its lock on the partitioned table. */
    public static final Duration PARTITION_LOCK_TIMEOUT = Duration.ofMillis(100);

    /**
     * Makes the rest of {@code tx} wait at most {@link #PARTITION_LOCK_TIMEOUT} for a lock. Creating or dropping a
     * partition locks the whole partitioned table; behind a long transaction, the waiting request would queue every
     * writer of the table behind it. Partitions are made days ahead, so such a run gives up and tries again later.
     */
    public static void limitPartitionLockWait(DSLContext tx) {
        tx.execute("set local lock_timeout = '" + PARTITION_LOCK_TIMEOUT.toMillis() + "ms'");
    }

    /**
     * Creates archive partitions {@code daysAhead} days ahead and drops those older than {@code retentionDays}
     * ({@code ordo.duty_maintain_archive}).
     */
    public static LeaderDuty archiveMaintenance(DSLContext dsl, Clock clock, Supplier<Duration> interval,
                                                IntSupplier daysAhead, IntSupplier retentionDays) {
        return LeaderDuty.of("maintain-archive", interval, term -> {
            var result = termChecked(term, () -> dsl.transactionResult(cfg -> {
                limitPartitionLockWait(cfg.dsl());
                return cfg.dsl().fetchOne("select created, dropped from ordo.duty_maintain_archive(?, ?, ?, ?)",
                        term, daysAhead.getAsInt(), retentionDays.getAsInt(), timestamp(clock));
            }));
            String[] dropped = result.get(1, String[].class);
            if (dropped.length > 0 || result.get(0, Integer.class) > 0) {
                LOG.log(System.Logger.Level.INFO, "archive: created " + result.get(0, Integer.class) + " partitions, dropped "
                        + String.join(", ", dropped));
            }
        });
    }

    /** Refreshes the queue depth snapshot that metrics and backpressure read ({@code ordo.duty_refresh_queue_stats}). */
    public static LeaderDuty queueStats(DSLContext dsl, Supplier<Duration> interval) {
        return LeaderDuty.of("refresh-queue-stats", interval,
                term -> termChecked(term, () -> dsl.fetch("select ordo.duty_refresh_queue_stats(?)", term)));
    }

    /**
     * Vacuums every queue partition that has gathered at least {@code minDeadRows} dead rows and more dead than live
     * ones, at most once per {@code minGap}, and refreshes the statistics of the columns its statements look at (not
     * the JSON bodies, whose statistics cost more than the vacuum and serve no query). Every message leaves dead rows behind (a read is an update, a hand-off a delete), and a
     * read walks the dead index entries ahead of the first visible message: between two of autovacuum's visits (a
     * minute apart by default, never when it is off) a busy queue's reads slow down with every message it has
     * carried, and stale statistics give its statements bad plans. VACUUM cannot run in a transaction, so it is not
     * term-checked: a deposed leader's late run only vacuums once more.
     */
    public static LeaderDuty queueVacuum(DSLContext dsl, Supplier<Duration> interval, long minDeadRows, Duration minGap) {
        return LeaderDuty.of("vacuum-queues", interval, term -> {
            termChecked(term, () -> dsl.fetch("select ordo.assert_leader(?)", term));
            List<String> partitions = dsl.fetch("""
                    select relname from pg_stat_user_tables
                    where schemaname = 'ordo' and relname like 'q\\_%' and n_dead_tup >= greatest(?, n_live_tup)
                      and coalesce(greatest(last_vacuum, last_autovacuum), '-infinity') < now() - ? * interval '1 millisecond'""",
                    minDeadRows, minGap.toMillis()).getValues(0, String.class);
            for (String partition : partitions) {
                // partition names are q_<queue> with queue names of [a-z0-9_]: nothing to quote
                if (partition.matches("q_[a-z][a-z0-9_]*")) {
                    dsl.execute("vacuum (analyze, truncate false, parallel 0) ordo." + partition + " (queue_name, msg_id, vt)");
                }
            }
        });
    }

    /** Deletes expired coordination keys, locks and lock waits ({@code ordo.duty_purge_expired_coordination}). */
    public static LeaderDuty coordinationCleanup(DSLContext dsl, Clock clock, Supplier<Duration> interval) {
        return LeaderDuty.of("purge-expired-coordination", interval,
                term -> termChecked(term, () -> dsl.fetch("select ordo.duty_purge_expired_coordination(?, ?)", term, timestamp(clock))));
    }

    private static org.jooq.Field<OffsetDateTime> timestamp(Clock clock) {
        return DSL.field("?::timestamptz", SQLDataType.TIMESTAMPWITHTIMEZONE, OffsetDateTime.ofInstant(clock.instant(), ZoneOffset.UTC));
    }

    private static <T> T termChecked(long term, Supplier<T> body) {
        try {
            return body.get();
        } catch (DataAccessException e) {
            throw PostgresCoordination.translateTerm(e, term);
        }
    }
}

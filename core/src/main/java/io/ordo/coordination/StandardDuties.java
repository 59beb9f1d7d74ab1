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

    /**
     * Creates archive partitions {@code daysAhead} days ahead and drops those older than {@code retentionDays}
     * ({@code ordo.duty_maintain_archive}).
     */
    public static LeaderDuty archiveMaintenance(DSLContext dsl, Clock clock, Supplier<Duration> interval,
                                                IntSupplier daysAhead, IntSupplier retentionDays) {
        return LeaderDuty.of("maintain-archive", interval, term -> {
            var result = termChecked(term, () -> dsl.fetchOne("select created, dropped from ordo.duty_maintain_archive(?, ?, ?, ?)",
                    term, daysAhead.getAsInt(), retentionDays.getAsInt(), timestamp(clock)));
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

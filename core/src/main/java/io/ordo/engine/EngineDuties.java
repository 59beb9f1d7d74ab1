package io.ordo.engine;

import io.ordo.coordination.LeaderDuty;
import io.ordo.coordination.StandardDuties;
import io.ordo.coordination.PostgresCoordination;
import org.jooq.DSLContext;
import org.jooq.exception.DataAccessException;

import java.time.Duration;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The workflow engine's singleton duties, run by the leader: enforce step timeouts, promote retries whose
 * message is overdue, clear expired leases, and keep the transition log's daily partitions ahead (dropping
 * those past retention). {@link #leaderDuties} wraps each in a transaction that first checks the leader's
 * term, so a deposed leader's late runs change nothing.
 */
public final class EngineDuties {
    private final DSLContext dsl;

    public EngineDuties(DSLContext dsl) {
        this.dsl = dsl;
    }

    public int enforceStepTimeouts() {
        return enforceStepTimeouts(dsl);
    }

    public int promoteDueRetries() {
        return promoteDueRetries(dsl);
    }

    public int reclaimExpiredLeases() {
        return reclaimExpiredLeases(dsl);
    }

    /** Refreshes queue depths and, from them, every namespace's backpressure state. */
    public void refreshQueueStats() {
        dsl.execute("select ordo.refresh_queue_stats(), ordo.refresh_backpressure()");
    }

    public void runAll() {
        enforceStepTimeouts();
        promoteDueRetries();
        reclaimExpiredLeases();
    }

    /** The engine's duties for a {@code LeaderElector}, each term-checked, run every {@code interval}. */
    public List<LeaderDuty> leaderDuties(Supplier<Duration> interval, Supplier<Integer> transitionRetentionDays) {
        return List.of(
                termChecked("enforce-step-timeouts", interval, EngineDuties::enforceStepTimeouts),
                termChecked("promote-due-retries", interval, EngineDuties::promoteDueRetries),
                termChecked("reclaim-expired-leases", interval, EngineDuties::reclaimExpiredLeases),
                termChecked("maintain-transition-log", () -> Duration.ofMinutes(10), tx -> {
                    // every submission, read and pass writes ordo.transition: none may queue behind this run
                    StandardDuties.limitPartitionLockWait(tx);
                    tx.execute("select ordo.ensure_transition_partitions(7)");
                    return tx.fetch("select ordo.drop_transitions_before(now() - ? * interval '1 day')",
                            transitionRetentionDays.get()).size();
                }));
    }

    /**
     * Told that the leader declared a node down: the task leases it held are released at once, under the
     * leader's term, instead of waiting for them to expire.
     */
    public io.ordo.coordination.NodeDownListener leaseReleaser() {
        return (nodeId, term) -> {
            try {
                dsl.transaction(cfg -> {
                    cfg.dsl().execute("select ordo.assert_leader(?)", term);
                    cfg.dsl().execute("update ordo.task set lease_owner = null, lease_token = null, lease_expires_at = null"
                            + " where lease_owner = ?", nodeId);
                });
            } catch (DataAccessException e) {
                throw PostgresCoordination.translateTerm(e, term);
            }
        };
    }

    private LeaderDuty termChecked(String name, Supplier<Duration> interval, Function<DSLContext, Integer> body) {
        return LeaderDuty.of(name, interval, term -> {
            try {
                dsl.transaction(cfg -> {
                    cfg.dsl().execute("select ordo.assert_leader(?)", term);
                    body.apply(cfg.dsl());
                });
            } catch (DataAccessException e) {
                throw PostgresCoordination.translateTerm(e, term);
            }
        });
    }

    private static int enforceStepTimeouts(DSLContext tx) {
        return tx.fetchOne("select ordo.enforce_step_timeouts()").get(0, Integer.class);
    }

    private static int promoteDueRetries(DSLContext tx) {
        return tx.fetchOne("select ordo.promote_due_retries()").get(0, Integer.class);
    }

    private static int reclaimExpiredLeases(DSLContext tx) {
        return tx.fetchOne("select ordo.reclaim_expired_leases()").get(0, Integer.class);
    }
}

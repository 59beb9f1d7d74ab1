package io.ordo.engine;

import org.jooq.DSLContext;

/**
 * The workflow engine's singleton duties, run by the leader: enforce step timeouts, promote retries whose
 * message is overdue, and clear expired leases. Each returns how many items it acted on.
 */
public final class EngineDuties {
    private final DSLContext dsl;

    public EngineDuties(DSLContext dsl) {
        this.dsl = dsl;
    }

    public int enforceStepTimeouts() {
        return dsl.fetchOne("select ordo.enforce_step_timeouts()").get(0, Integer.class);
    }

    public int promoteDueRetries() {
        return dsl.fetchOne("select ordo.promote_due_retries()").get(0, Integer.class);
    }

    public int reclaimExpiredLeases() {
        return dsl.fetchOne("select ordo.reclaim_expired_leases()").get(0, Integer.class);
    }

    /** Refreshes queue depths and, from them, every namespace's backpressure state. */
    public void refreshQueueStats() {
        dsl.execute("select ordo.refresh_queue_stats()");
    }

    public void runAll() {
        enforceStepTimeouts();
        promoteDueRetries();
        reclaimExpiredLeases();
    }
}

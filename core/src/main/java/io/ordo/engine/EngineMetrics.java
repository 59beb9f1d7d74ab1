package io.ordo.engine;

import java.util.concurrent.atomic.LongAdder;

/** Counters of one orchestrator node since it started. */
public final class EngineMetrics {
    final LongAdder messagesProcessed = new LongAdder();
    final LongAdder leaseTakeovers = new LongAdder();
    final LongAdder claimConflicts = new LongAdder();
    final LongAdder staleLeases = new LongAdder();
    final LongAdder resultsIgnored = new LongAdder();
    final LongAdder stepsCompleted = new LongAdder();
    final LongAdder stepsFailed = new LongAdder();
    final LongAdder stepsRetried = new LongAdder();
    final LongAdder tasksCompleted = new LongAdder();
    final LongAdder passErrors = new LongAdder();
    final LongAdder backpressureDeferrals = new LongAdder();

    /** Times this node held back ready steps because their namespace was saturated. */
    public long backpressureDeferrals() {
        return backpressureDeferrals.sum();
    }

    public long messagesProcessed() {
        return messagesProcessed.sum();
    }

    /** Tasks this node claimed after another node's lease on them expired. */
    public long leaseTakeovers() {
        return leaseTakeovers.sum();
    }

    /** Messages deferred because another node held their task. */
    public long claimConflicts() {
        return claimConflicts.sum();
    }

    /** Tasks whose lease this node lost before it could write (it wrote nothing for them). */
    public long staleLeases() {
        return staleLeases.sum();
    }

    public long resultsIgnored() {
        return resultsIgnored.sum();
    }

    public long stepsCompleted() {
        return stepsCompleted.sum();
    }

    public long stepsFailed() {
        return stepsFailed.sum();
    }

    public long stepsRetried() {
        return stepsRetried.sum();
    }

    public long tasksCompleted() {
        return tasksCompleted.sum();
    }

    public long passErrors() {
        return passErrors.sum();
    }
}

package io.ordo.worker;

import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A step this worker holds, from its read until its result is handed back (or it is given back). Its state
 * moves once, by compare-and-set, so that a shutdown and a handler thread never both act on it.
 */
final class Lease {
    enum State {
        /** read, handler not started */
        READ,
        /** handler running */
        RUNNING,
        /** handler done, result waiting for hand-off */
        FINISHED,
        /** given back unstarted (its attempt kept) */
        RELEASED,
        /** dropped by a stop past its grace or by abandon; the message comes back after its visibility timeout */
        ABANDONED
    }

    final ReadStep step;
    final StepContext context;
    private final AtomicReference<State> state = new AtomicReference<>(State.READ);
    volatile Instant startedAt;
    volatile Instant finishedAt;
    volatile StepOutcome outcome;
    /** The result as handed back, built once from the outcome by the handler's thread; null until then. */
    volatile String resultJson;

    Lease(ReadStep step, StepContext context) {
        this.step = step;
        this.context = context;
    }

    State state() {
        return state.get();
    }

    boolean move(State from, State to) {
        return state.compareAndSet(from, to);
    }

    long msgId() {
        return step.msgId();
    }
}

package io.ordo.loadtest.flow;

import java.time.Duration;
import java.util.Locale;

/** How tasks are offered during a run. */
sealed interface Load {

    /** All {@code tasks} submitted up front in one transaction, then drained. */
    record BurnDown(int tasks) implements Load {
    }

    /**
     * {@code rate} tasks per second for {@code duration}, one task per transaction through TaskClient. {@code saturate}:
     * no pacing; the submitters offer tasks as fast as they can until {@code duration} is over (the rate is ignored),
     * which measures the most the system sustains when every task is its own submission.
     */
    record Steady(double rate, Duration duration, int submitters, boolean saturate) implements Load {
        Steady(double rate, Duration duration, int submitters) {
            this(rate, duration, submitters, false);
        }
    }

    /** One task at a time on an otherwise idle system: submit, wait until it finished, pause {@code gap}. */
    record Sequential(int tasks, Duration gap) implements Load {
    }

    default String label() {
        return switch (this) {
            case BurnDown b -> String.format(Locale.ROOT, "burn-down %,d", b.tasks());
            case Steady s when s.saturate() -> String.format(Locale.ROOT, "saturating for %d s", s.duration().toSeconds());
            case Steady s -> String.format(Locale.ROOT, "steady %,.0f/s for %d s", s.rate(), s.duration().toSeconds());
            case Sequential q -> String.format(Locale.ROOT, "sequential %,d", q.tasks());
        };
    }
}

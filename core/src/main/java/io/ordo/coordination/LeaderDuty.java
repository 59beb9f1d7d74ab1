package io.ordo.coordination;

import java.time.Duration;
import java.util.function.LongConsumer;
import java.util.function.Supplier;

/**
 * Work that only the leader does, every {@link #interval()}, registered with a {@link LeaderElector}.
 * <p>
 * {@link #run(long)} gets the leader's term and must pass it to term-checked SQL (start each transaction with
 * {@code perform ordo.assert_leader(term)}, or call a duty function that does), so that a node that lost the
 * leadership cannot act on it: its SQL fails with SQLSTATE OR412, which
 * {@link PostgresCoordination#translateTerm} turns into {@link StaleTermException}.
 */
public interface LeaderDuty {
    /** Short and unique among the duties, for logs. */
    String name();

    /** Time between the end of one run and the start of the next; read before every run. */
    Duration interval();

    /** One run under the given term. Throw {@link StaleTermException} when the term was refused. */
    void run(long term);

    /** A duty from a body; {@code interval} is read before every run, so it can follow live config. */
    static LeaderDuty of(String name, Supplier<Duration> interval, LongConsumer body) {
        return new LeaderDuty() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Duration interval() {
                return interval.get();
            }

            @Override
            public void run(long term) {
                body.accept(term);
            }

            @Override
            public String toString() {
                return "LeaderDuty[" + name + "]";
            }
        };
    }

    static LeaderDuty of(String name, Duration interval, LongConsumer body) {
        return of(name, () -> interval, body);
    }
}

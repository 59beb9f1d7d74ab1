package io.ordo.loadtest.flow;

import io.ordo.loadtest.Throughput;
import io.ordo.loadtest.queue.PlainSql;
import io.ordo.queue.QueueClient;
import org.jooq.DSLContext;

import javax.sql.DataSource;
import java.time.Duration;
import java.util.Locale;

/**
 * The raw-SQL ceiling of the database a benchmark runs on, measured in the same run: rows per second of a batch
 * insert (100 rows per transaction) and of a {@code FOR UPDATE SKIP LOCKED} claim + delete of 100 rows per
 * transaction, through plain JDBC on a queue partition of {@code ordo.message}, by {@value #THREADS} threads.
 *
 * @param insertPerSecond       rows inserted per second
 * @param claimDeletePerSecond  rows claimed and deleted per second: what every Ordo figure is divided by
 */
record Ceiling(double insertPerSecond, double claimDeletePerSecond) {
    static final int THREADS = 4;
    static final int BATCH = 100;
    private static final String QUEUE = "bench_ceiling";
    private static final String BODY = "{\"task_id\": 123456, \"step_id\": 1234567, \"attempt\": 1, \"handler\": \"bench\", \"step\": \"s1\"}";

    /** Measures both rates for {@code measure} each, after {@code warmup}. */
    static Ceiling measure(DSLContext dsl, DataSource dataSource, Duration warmup, Duration measure) throws Exception {
        QueueClient queue = new QueueClient(dsl);
        queue.dropQueue(QUEUE);
        queue.createQueue(QUEUE);
        try {
            Throughput.WorkerFactory insert = () -> PlainSql.send(dataSource.getConnection(), QUEUE, BATCH, BODY);
            Throughput.WorkerFactory claimDelete = () -> PlainSql.readDelete(dataSource.getConnection(), QUEUE, BATCH,
                    Duration.ofSeconds(60), true);
            if (!warmup.isZero()) {
                Throughput.run(THREADS, warmup, insert);
                Throughput.run(THREADS, warmup, claimDelete);
            }
            Throughput.Result inserted = Throughput.run(THREADS, measure, insert);
            PlainSql.fill(dataSource, QUEUE, 0, BODY); // vacuum what the warm-up left behind
            Throughput.Result claimed = Throughput.run(THREADS, measure, claimDelete);
            return new Ceiling(inserted.messagesPerSecond(), claimed.messagesPerSecond());
        } finally {
            queue.dropQueue(QUEUE);
        }
    }

    /** Two measurements as one (their mean), for a ceiling taken before and after the runs. */
    Ceiling mean(Ceiling other) {
        return new Ceiling((insertPerSecond + other.insertPerSecond) / 2, (claimDeletePerSecond + other.claimDeletePerSecond) / 2);
    }

    /**
     * How far the claim+delete rate moved between this measurement and {@code other}, as a fraction of their mean: the
     * machine's speed changed by about as much during the runs in between, and so may any ratio to the ceiling.
     */
    double claimDeleteDrift(Ceiling other) {
        return Math.abs(claimDeletePerSecond - other.claimDeletePerSecond) / mean(other).claimDeletePerSecond;
    }

    /** A drift above which a report says that its ratios are uncertain: run-to-run noise here is a few percent. */
    static final double DRIFT_NOTED = 0.10;

    /**
     * What a report prints when the ceiling measured {@code before} and {@code after} its runs drifted by more than
     * {@link #DRIFT_NOTED}, or null.
     */
    static String driftNote(Ceiling before, Ceiling after) {
        double drift = before.claimDeleteDrift(after);
        if (drift <= DRIFT_NOTED) {
            return null;
        }
        return String.format(Locale.ROOT, "note: the claim+delete ceiling moved %.0f%% between its measurements before and after"
                + " the runs (%,.0f and %,.0f rows/s): the machine's speed changed during this report, and a ratio within"
                + " about that much of its target is no clear pass or miss", 100 * drift, before.claimDeletePerSecond(),
                after.claimDeletePerSecond());
    }

    double ratio(double perSecond) {
        return perSecond / claimDeletePerSecond;
    }
}

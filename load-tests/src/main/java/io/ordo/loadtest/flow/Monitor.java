package io.ordo.loadtest.flow;

import io.ordo.loadtest.Progress;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Samples a run from its own connection every {@link #EVERY}: tasks finished, and the depth of the orchestration
 * and namespace queues (counted, since the snapshot in {@code ordo.queue} is refreshed only every few seconds).
 * Keeps the peaks, draws the progress bar, and counts its own queries (one transaction each) so that they can be
 * taken out of the run's transaction count.
 */
final class Monitor implements AutoCloseable {
    static final Duration EVERY = Duration.ofSeconds(1);

    private final Connection connection;
    private final PreparedStatement sample;
    private final Progress progress;
    private final LongSupplier total;
    private final long startNanos = System.nanoTime();
    private long queries;
    private long done;
    private long peakOrchestration;
    private long peakNamespace;
    private long lastChangeNanos = System.nanoTime();

    Monitor(Connection connection, String namespace, long afterTaskId, Progress progress, LongSupplier total) throws SQLException {
        this.connection = connection;
        connection.setAutoCommit(true);
        try (var st = connection.createStatement()) {
            // a count over a large table would otherwise start parallel workers every sample
            st.execute("set max_parallel_workers_per_gather = 0");
        }
        queries++;
        this.sample = connection.prepareStatement("""
                select (select count(*) from ordo.task
                        where namespace = ? and id > ? and status in ('complete', 'failed', 'cancelled')),
                       (select count(*) from ordo.message where queue_name = 'orchestration'),
                       (select count(*) from ordo.message where queue_name = ?)""");
        sample.setString(1, namespace);
        sample.setLong(2, afterTaskId);
        sample.setString(3, "ns_" + namespace);
        this.progress = progress;
        this.total = total;
    }

    /** Takes one sample; returns how many tasks of the run have finished. */
    long sample() throws SQLException {
        long orchestration;
        long ns;
        try (ResultSet rs = sample.executeQuery()) {
            rs.next();
            long now = rs.getLong(1);
            if (now != done) {
                lastChangeNanos = System.nanoTime();
            }
            done = now;
            orchestration = rs.getLong(2);
            ns = rs.getLong(3);
        }
        queries++;
        peakOrchestration = Math.max(peakOrchestration, orchestration);
        peakNamespace = Math.max(peakNamespace, ns);
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        progress.update(done, total.getAsLong(), String.format(Locale.ROOT, "tasks  %,.0f/s  queued: orchestration %,d, namespace %,d",
                seconds > 0 ? done / seconds : 0.0, orchestration, ns));
        return done;
    }

    /** Samples every {@link #EVERY} until {@code target} tasks finished or nothing moved for {@code stall}. */
    long awaitFinished(LongSupplier target, Duration stall) throws SQLException, InterruptedException {
        while (true) {
            long finished = sample();
            if (finished >= target.getAsLong()) {
                return finished;
            }
            if (System.nanoTime() - lastChangeNanos > stall.toNanos()) {
                return finished;
            }
            Thread.sleep(EVERY);
        }
    }

    /** The monitor's connection, for other bookkeeping queries (each one counts as a monitor query). */
    Connection connection() {
        queries++;
        return connection;
    }

    long queries() {
        return queries;
    }

    long peakOrchestration() {
        return peakOrchestration;
    }

    long peakNamespace() {
        return peakNamespace;
    }

    @Override
    public void close() throws SQLException {
        progress.done();
        connection.close();
    }
}

package io.ordo.loadtest.flow;

import io.ordo.loadtest.Progress;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Samples a run from its own connection every {@link #EVERY}: tasks finished, and the depth of the orchestration
 * and namespace queues (counted, since the snapshot in {@code ordo.queue} is refreshed only every few seconds).
 * Keeps the peaks, draws the progress bar, and counts its own queries (one transaction each) so that they can be
 * taken out of the run's transaction count.
 * <p>
 * Finished tasks are counted from a low-water mark: the tasks below it have all finished and are not read again, so a
 * sample reads the tasks still in flight and those finished since, not every task of the run. Counting them all took
 * 30 ms of CPU a sample, up to 150 ms, by the end of a 30 s steady run at 1,000 tasks/s: a burst every second on the
 * two cores the run measures (load-tests/RESULTS.md). The mark lags {@link #SETTLED} samples behind the newest task
 * seen, so that a submission still committing is not passed over; should one be, the count stops short of its target,
 * and after {@link #RECOUNT_AFTER} without progress the next sample counts from the start again.
 */
final class Monitor implements AutoCloseable {
    static final Duration EVERY = Duration.ofSeconds(1);
    /** Samples the low-water mark stays behind: it passes no task newer than the newest one seen that many samples ago. */
    static final int SETTLED = 2;
    /** How long a count short of its target may stand still before it is taken again from the start. */
    static final Duration RECOUNT_AFTER = Duration.ofSeconds(5);

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
    private final long afterTaskId;
    /** Every task of the run up to this id has finished. */
    private long lowWater;
    /** How many tasks of the run up to {@link #lowWater} there are. */
    private long finishedBelow;
    /** The newest task id seen by the last {@link #SETTLED} samples, oldest first. */
    private final ArrayDeque<Long> newest = new ArrayDeque<>();

    Monitor(Connection connection, String namespace, long afterTaskId, Progress progress, LongSupplier total) throws SQLException {
        this.connection = connection;
        connection.setAutoCommit(true);
        try (var st = connection.createStatement()) {
            // a count over a large table would otherwise start parallel workers every sample
            st.execute("set max_parallel_workers_per_gather = 0");
        }
        queries++;
        // above the mark: the finished tasks; those up to the new mark (below the first unfinished task, and no
        // further than the bound given), the new mark, and the newest task
        this.sample = connection.prepareStatement("""
                with t as (select id, status in ('complete', 'failed', 'cancelled') as finished from ordo.task
                           where namespace = ? and id > ?),
                     w as (select least(coalesce(min(id) filter (where not finished) - 1, max(id)), ?) as mark, max(id) as newest
                           from t)
                select (select count(*) from t where finished),
                       (select count(*) from t, w where t.finished and t.id <= w.mark),
                       (select mark from w), (select newest from w),
                       (select count(*) from ordo.message where queue_name = 'orchestration'),
                       (select count(*) from ordo.message where queue_name = ?)""");
        sample.setString(1, namespace);
        sample.setString(4, "ns_" + namespace);
        this.afterTaskId = afterTaskId;
        this.lowWater = afterTaskId;
        this.progress = progress;
        this.total = total;
    }

    /** Takes one sample; returns how many tasks of the run have finished. */
    long sample() throws SQLException {
        long orchestration;
        long ns;
        sample.setLong(2, lowWater);
        sample.setLong(3, newest.size() < SETTLED ? lowWater : newest.peekFirst());
        try (ResultSet rs = sample.executeQuery()) {
            rs.next();
            long now = finishedBelow + rs.getLong(1);
            if (now != done) {
                lastChangeNanos = System.nanoTime();
            }
            done = now;
            long mark = rs.getLong(3);
            if (!rs.wasNull() && mark > lowWater) {
                finishedBelow += rs.getLong(2);
                lowWater = mark;
            }
            long newestNow = rs.getLong(4);
            newest.addLast(rs.wasNull() ? lowWater : Math.max(newestNow, lowWater));
            if (newest.size() > SETTLED) {
                newest.removeFirst();
            }
            orchestration = rs.getLong(5);
            ns = rs.getLong(6);
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
            if (System.nanoTime() - lastChangeNanos > RECOUNT_AFTER.toNanos() && lowWater > afterTaskId) {
                // a task the mark passed over before it committed would never be counted: count from the start again
                lowWater = afterTaskId;
                finishedBelow = 0;
                newest.clear();
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

package io.ordo.loadtest;

import org.HdrHistogram.Histogram;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs the same unit of work on a few threads for a fixed time and counts what it handled.
 */
public final class Throughput {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final long MAX_LATENCY_MICROS = Duration.ofMinutes(1).toNanos() / 1000;

    private Throughput() {
    }

    /** One thread's unit of work, e.g. one send or one read+delete. */
    public interface Worker extends AutoCloseable {
        /** Does one call and returns how many messages it handled; 0 means there was nothing left to handle. */
        int call() throws Exception;

        @Override
        default void close() throws Exception {
        }
    }

    /** Opens a worker on the thread that will use it (a connection, prepared statements). */
    @FunctionalInterface
    public interface WorkerFactory {
        Worker open() throws Exception;
    }

    /**
     * What a run did.
     *
     * @param messages  messages handled by all threads
     * @param calls     calls made (those that found nothing are not counted)
     * @param elapsed   from the common start to the last thread's end
     * @param latency   latency of each counted call, in microseconds
     * @param drained   a consuming worker found nothing left before the time was up
     * @param clientCpu CPU time the benchmark threads spent (JDBC, jOOQ, pool: the client's share of the work)
     */
    public record Result(long messages, long calls, Duration elapsed, Histogram latency, boolean drained, Duration clientCpu) {
        public double messagesPerSecond() {
            return messages / (elapsed.toNanos() / 1e9);
        }

        /** Both runs as one: counts and times added, latencies merged. */
        public Result plus(Result other) {
            Histogram both = latency.copy();
            both.add(other.latency);
            return new Result(messages + other.messages, calls + other.calls, elapsed.plus(other.elapsed), both,
                    drained || other.drained, clientCpu.plus(other.clientCpu));
        }

        /** Client CPU per message, in microseconds. */
        public double clientCpuMicrosPerMessage() {
            return messages == 0 ? 0.0 : clientCpu.toNanos() / 1000.0 / messages;
        }

        public double latencyMillis(double percentile) {
            return latency.getTotalCount() == 0 ? 0.0 : latency.getValueAtPercentile(percentile) / 1000.0;
        }
    }

    /**
     * Runs {@code threads} workers until {@code duration} is up (each finishes the call it is in) or until
     * every worker has found nothing left to handle.
     */
    public static Result run(int threads, Duration duration, WorkerFactory factory) throws InterruptedException {
        CountDownLatch ready = new CountDownLatch(threads);
        CountDownLatch go = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        long[] startNanos = new long[1];
        List<Lane> lanes = new ArrayList<>();
        List<Thread> running = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            Lane lane = new Lane();
            lanes.add(lane);
            running.add(Thread.ofPlatform().name("bench-" + i).start(() -> {
                Worker opened = null;
                try {
                    opened = factory.open();
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                } finally {
                    ready.countDown();
                }
                if (opened == null) {
                    return;
                }
                try (Worker worker = opened) {
                    go.await();
                    if (failure.get() == null) {
                        lane.work(worker, startNanos[0] + duration.toNanos());
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }));
        }
        ready.await();
        startNanos[0] = System.nanoTime();
        go.countDown();
        for (Thread t : running) {
            t.join();
        }
        if (failure.get() != null) {
            throw new IllegalStateException("a benchmark thread failed: " + failure.get(), failure.get());
        }
        Histogram latency = new Histogram(MAX_LATENCY_MICROS, 3);
        long messages = 0;
        long calls = 0;
        long end = startNanos[0];
        boolean drained = false;
        long cpu = 0;
        for (Lane lane : lanes) {
            cpu += lane.cpuNanos;
            latency.add(lane.latency);
            messages += lane.messages;
            calls += lane.calls;
            end = Math.max(end, lane.endNanos);
            drained |= lane.drained;
        }
        return new Result(messages, calls, Duration.ofNanos(end - startNanos[0]), latency, drained, Duration.ofNanos(cpu));
    }

    private static final class Lane {
        final Histogram latency = new Histogram(MAX_LATENCY_MICROS, 3);
        long messages;
        long calls;
        long endNanos;
        boolean drained;
        long cpuNanos;

        void work(Worker worker, long deadline) throws Exception {
            long cpuStart = THREADS.getCurrentThreadCpuTime();
            try {
                loop(worker, deadline);
            } finally {
                cpuNanos = THREADS.getCurrentThreadCpuTime() - cpuStart;
            }
        }

        private void loop(Worker worker, long deadline) throws Exception {
            while (true) {
                long t0 = System.nanoTime();
                int n = worker.call();
                long t1 = System.nanoTime();
                endNanos = t1;
                if (n == 0) {
                    drained = true;
                    return;
                }
                latency.recordValue(Math.min((t1 - t0) / 1000, MAX_LATENCY_MICROS));
                messages += n;
                calls++;
                if (t1 - deadline >= 0) {
                    return;
                }
            }
        }
    }
}

package io.ordo.orchestrator;

import io.ordo.engine.EngineMetrics;
import io.ordo.queue.QueueClient;
import io.ordo.queue.QueueMetrics;
import org.jooq.DSLContext;
import org.jooq.Record;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Samples queue depths, dead letters, backpressure and this node's engine counters every interval and derives
 * rates from the difference with the previous sample. Rates are per second over the last interval; they are
 * null until two samples exist. The HTTP API, /health and the meters all read the latest sample.
 */
final class ClusterStats implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(ClusterStats.class.getName());

    /** One queue in a sample. {@code namespace} is null for the orchestration queue. */
    record QueueStat(String queue, String namespace, long depth, long visibleDepth, Duration oldestAge, long totalSent,
                     Double sentPerSecond, String backpressure, long openDeadLetters, Instant scrapedAt) {
    }

    /** This node's engine rates over the last interval. */
    record EngineRates(Double messagesPerSecond, Double stepsCompletedPerSecond, Double stepsFailedPerSecond,
                       Double passErrorsPerSecond) {
    }

    record Sample(Instant at, List<QueueStat> queues, EngineRates engine, long openDeadLetters) {
    }

    private final DSLContext dsl;
    private final EngineMetrics engine;
    private final Clock clock;
    private final Duration interval;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile Sample latest;
    private long[] previousEngine;
    private Instant previousAt;

    ClusterStats(DSLContext dsl, EngineMetrics engine, Clock clock, Duration interval) {
        this.dsl = dsl;
        this.engine = engine;
        this.clock = clock;
        this.interval = interval;
        this.thread = Thread.ofPlatform().daemon().name("ordo-cluster-stats").start(this::loop);
    }

    /**
     * Depths read now, with the rates of the latest sample (per second over the last sampling interval), so that
     * a reader's request does not shorten the interval the rates are measured over.
     */
    List<QueueStat> current() {
        Sample last = latest;
        Map<String, Double> rates = new HashMap<>();
        if (last != null) {
            last.queues().forEach(q -> {
                if (q.sentPerSecond() != null) {
                    rates.put(q.queue(), q.sentPerSecond());
                }
            });
        }
        return read().stream().map(q -> new QueueStat(q.queue(), q.namespace(), q.depth(), q.visibleDepth(), q.oldestAge(),
                q.totalSent(), rates.get(q.queue()), q.backpressure(), q.openDeadLetters(), q.scrapedAt())).toList();
    }

    /** The latest sample without touching the database; null before the first. */
    Sample cached() {
        return latest;
    }

    synchronized Sample sample() {
        Instant now = clock.instant();
        Sample previous = latest;
        Map<String, Long> previousTotals = new HashMap<>();
        if (previous != null) {
            previous.queues().forEach(q -> previousTotals.put(q.queue(), q.totalSent()));
        }
        double seconds = previousAt == null ? 0 : Duration.between(previousAt, now).toNanos() / 1e9;
        List<QueueStat> queues = new ArrayList<>();
        long openDeadLetters = 0;
        for (QueueStat q : read()) {
            Long before = previousTotals.get(q.queue());
            Double rate = before == null || seconds <= 0 ? null : Math.max(0, q.totalSent() - before) / seconds;
            queues.add(new QueueStat(q.queue(), q.namespace(), q.depth(), q.visibleDepth(), q.oldestAge(), q.totalSent(), rate,
                    q.backpressure(), q.openDeadLetters(), q.scrapedAt()));
            openDeadLetters += q.openDeadLetters();
        }
        long[] counters = {engine.messagesProcessed(), engine.stepsCompleted(), engine.stepsFailed(), engine.passErrors()};
        EngineRates rates = previousEngine == null || seconds <= 0 ? new EngineRates(null, null, null, null)
                : new EngineRates(rate(counters[0], previousEngine[0], seconds), rate(counters[1], previousEngine[1], seconds),
                rate(counters[2], previousEngine[2], seconds), rate(counters[3], previousEngine[3], seconds));
        previousEngine = counters;
        previousAt = now;
        Sample s = new Sample(now, List.copyOf(queues), rates, openDeadLetters);
        latest = s;
        return s;
    }

    /** Every queue's depths, dead letters and backpressure now; no rates. */
    private List<QueueStat> read() {
        Map<String, String[]> namespaces = new HashMap<>();
        for (Record r : dsl.fetch("select queue_name, name, backpressure from ordo.namespace")) {
            namespaces.put(r.get(0, String.class), new String[]{r.get(1, String.class), r.get(2, String.class)});
        }
        Map<String, Long> deadLetters = new HashMap<>();
        for (Record r : dsl.fetch("select namespace, count(*) from ordo.dead_letter where status = 'open' group by namespace")) {
            deadLetters.put(r.get(0, String.class), r.get(1, Long.class));
        }
        List<QueueStat> queues = new ArrayList<>();
        for (QueueMetrics m : new QueueClient(dsl).metricsAll()) {
            String[] ns = namespaces.get(m.queue());
            String namespace = ns == null ? null : ns[0];
            long dlq = deadLetters.getOrDefault(namespace == null ? m.queue() : namespace, 0L);
            queues.add(new QueueStat(m.queue(), namespace, m.depth(), m.visibleDepth(), m.oldestAge(), m.totalSent(), null,
                    ns == null ? null : ns[1], dlq, m.scrapedAt()));
        }
        return queues;
    }

    private static Double rate(long now, long before, double seconds) {
        return Math.max(0, now - before) / seconds;
    }

    private void loop() {
        while (running) {
            try {
                sample();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "could not sample queue statistics: " + e.getMessage());
            }
            try {
                Thread.sleep(interval);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(Duration.ofSeconds(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

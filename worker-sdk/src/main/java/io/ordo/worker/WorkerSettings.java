package io.ordo.worker;

import io.ordo.InvalidInputException;

import java.time.Duration;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Settings of one worker. Validated when built; each message names the setting (as spelled in a worker
 * container's config file) and what is allowed.
 *
 * @param namespace          the namespace whose queue the worker reads, {@code ^[a-z][a-z0-9_]{0,39}$}
 * @param concurrency        most handlers running at once; the worker never holds more steps than this
 * @param batchSize          most steps read in one call (fewer when fewer slots are free)
 * @param visibilityTimeout  how long a read step stays hidden from other workers unless extended by heartbeat
 * @param heartbeatInterval  how often the visibility of every held step is extended (one call for all of them);
 *                           shorter than the visibility timeout, a third of it by default
 * @param pollMin            first polling interval when the queue is empty (a NOTIFY wakes the worker sooner)
 * @param pollMax            longest polling interval when the queue stays empty
 * @param shutdownGrace      how long {@link OrdoWorker#stop()} lets running handlers finish
 * @param handOffBatch       most results handed back in one transaction
 * @param handOffLinger      how long a hand-off waits for more results while other handlers are still running; results
 *                           go back at once with a read for free slots when the queue has work
 * @param nodeId             this worker's id in logs, in the transition log's actor and in the node registry
 */
public record WorkerSettings(String namespace, int concurrency, int batchSize, Duration visibilityTimeout,
                             Duration heartbeatInterval, Duration pollMin, Duration pollMax, Duration shutdownGrace,
                             int handOffBatch, Duration handOffLinger, String nodeId) {
    private static final Pattern NAMESPACE = Pattern.compile("^[a-z][a-z0-9_]{0,39}$");
    private static final Pattern NODE_ID = Pattern.compile("^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$");

    public WorkerSettings {
        if (namespace == null || !NAMESPACE.matcher(namespace).matches()) {
            throw new InvalidInputException("namespace must match " + NAMESPACE.pattern() + ", got " + quote(namespace));
        }
        range("concurrency", concurrency, 1, 10_000);
        range("batch_size", batchSize, 1, 1_000);
        range("hand_off_batch", handOffBatch, 1, 10_000);
        atLeast("visibility_timeout", visibilityTimeout, Duration.ofMillis(100));
        if (heartbeatInterval == null) {
            heartbeatInterval = visibilityTimeout.dividedBy(3);
        }
        atLeast("heartbeat_interval", heartbeatInterval, Duration.ofMillis(10));
        if (heartbeatInterval.compareTo(visibilityTimeout) >= 0) {
            throw new InvalidInputException("heartbeat_interval (" + heartbeatInterval + ") must be shorter than visibility_timeout ("
                    + visibilityTimeout + "), a third of it or less is best");
        }
        atLeast("poll_min", pollMin, Duration.ofMillis(1));
        atLeast("poll_max", pollMax, pollMin);
        atLeast("shutdown_grace", shutdownGrace, Duration.ZERO);
        atLeast("hand_off_linger", handOffLinger, Duration.ZERO);
        if (handOffLinger.compareTo(Duration.ofSeconds(1)) > 0) {
            throw new InvalidInputException("hand_off_linger must be at most 1s (it delays every result), got " + handOffLinger);
        }
        if (nodeId == null) {
            nodeId = defaultNodeId(namespace);
        }
        if (!NODE_ID.matcher(nodeId).matches()) {
            throw new InvalidInputException("node_id must match " + NODE_ID.pattern() + ", got " + quote(nodeId));
        }
    }

    /**
     * Defaults: concurrency 10, batches of up to 50, 30 s visibility timeout with a heartbeat every 10 s, polling
     * from 50 ms to 2 s, 30 s shutdown grace, hand-offs of up to 100 results lingering up to 5 ms.
     */
    public static WorkerSettings defaults(String namespace) {
        return new WorkerSettings(namespace, 10, 50, Duration.ofSeconds(30), null, Duration.ofMillis(50),
                Duration.ofSeconds(2), Duration.ofSeconds(30), 100, Duration.ofMillis(5), null);
    }

    public WorkerSettings withConcurrency(int n) {
        return new WorkerSettings(namespace, n, batchSize, visibilityTimeout, heartbeatInterval, pollMin, pollMax,
                shutdownGrace, handOffBatch, handOffLinger, nodeId);
    }

    public WorkerSettings withBatchSize(int n) {
        return new WorkerSettings(namespace, concurrency, n, visibilityTimeout, heartbeatInterval, pollMin, pollMax,
                shutdownGrace, handOffBatch, handOffLinger, nodeId);
    }

    /** A new visibility timeout; the heartbeat interval becomes a third of it unless set explicitly afterwards. */
    public WorkerSettings withVisibilityTimeout(Duration vt) {
        return new WorkerSettings(namespace, concurrency, batchSize, vt, null, pollMin, pollMax,
                shutdownGrace, handOffBatch, handOffLinger, nodeId);
    }

    public WorkerSettings withHeartbeatInterval(Duration interval) {
        return new WorkerSettings(namespace, concurrency, batchSize, visibilityTimeout, interval, pollMin, pollMax,
                shutdownGrace, handOffBatch, handOffLinger, nodeId);
    }

    public WorkerSettings withPolling(Duration min, Duration max) {
        return new WorkerSettings(namespace, concurrency, batchSize, visibilityTimeout, heartbeatInterval, min, max,
                shutdownGrace, handOffBatch, handOffLinger, nodeId);
    }

    public WorkerSettings withShutdownGrace(Duration grace) {
        return new WorkerSettings(namespace, concurrency, batchSize, visibilityTimeout, heartbeatInterval, pollMin, pollMax,
                grace, handOffBatch, handOffLinger, nodeId);
    }

    public WorkerSettings withHandOff(int maxBatch, Duration linger) {
        return new WorkerSettings(namespace, concurrency, batchSize, visibilityTimeout, heartbeatInterval, pollMin, pollMax,
                shutdownGrace, maxBatch, linger, nodeId);
    }

    public WorkerSettings withNodeId(String id) {
        return new WorkerSettings(namespace, concurrency, batchSize, visibilityTimeout, heartbeatInterval, pollMin, pollMax,
                shutdownGrace, handOffBatch, handOffLinger, id);
    }

    private static String defaultNodeId(String namespace) {
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName().replaceAll("[^A-Za-z0-9_.-]", "-");
        } catch (java.io.IOException e) {
            host = "localhost";
        }
        String id = "worker-" + namespace + "-" + host + "-" + ProcessHandle.current().pid() + "-"
                + UUID.randomUUID().toString().substring(0, 8);
        return id.length() <= 128 ? id : id.substring(id.length() - 128).replaceFirst("^[^A-Za-z0-9]+", "w");
    }

    private static void range(String key, int value, int min, int max) {
        if (value < min || value > max) {
            throw new InvalidInputException(key + " must be between " + min + " and " + max + ", got " + value);
        }
    }

    private static void atLeast(String key, Duration value, Duration min) {
        if (value == null) {
            throw new InvalidInputException(key + " must be set");
        }
        if (value.compareTo(min) < 0) {
            throw new InvalidInputException(key + " must be at least " + min + ", got " + value);
        }
    }

    private static String quote(String s) {
        return s == null ? "nothing" : "'" + s + "'";
    }
}

package io.ordo.engine;

import io.ordo.InvalidInputException;

import java.time.Duration;

/**
 * Settings of one orchestrator node.
 *
 * @param nodeId      unique id of this node; owner of its leases
 * @param batchSize   orchestration messages per pass (one transaction per batch)
 * @param leaseTtl    how long a claim on a task lasts unless renewed by heartbeat
 * @param pollMin     first polling interval when idle (NOTIFY wakes it sooner)
 * @param pollMax     longest polling interval when idle
 * @param maxMessageReads  an orchestration message read more often than this without being processed is
 *                    dead-lettered instead of being tried again
 */
public record OrchestratorSettings(String nodeId, int batchSize, Duration leaseTtl, Duration pollMin, Duration pollMax,
                                   int maxMessageReads) {
    public static final int DEFAULT_MAX_MESSAGE_READS = 10;

    public OrchestratorSettings(String nodeId, int batchSize, Duration leaseTtl, Duration pollMin, Duration pollMax) {
        this(nodeId, batchSize, leaseTtl, pollMin, pollMax, DEFAULT_MAX_MESSAGE_READS);
    }

    public OrchestratorSettings {
        if (nodeId == null || !nodeId.matches("[A-Za-z0-9_.:-]{1,100}")) {
            throw new InvalidInputException("nodeId must be 1-100 characters of [A-Za-z0-9_.:-], got " + nodeId);
        }
        if (batchSize < 1 || batchSize > 10_000) {
            throw new InvalidInputException("batchSize must be between 1 and 10000, got " + batchSize);
        }
        if (leaseTtl.compareTo(Duration.ofMillis(100)) < 0) {
            throw new InvalidInputException("leaseTtl must be at least 100ms, got " + leaseTtl);
        }
        if (pollMin.isNegative() || pollMin.isZero() || pollMax.compareTo(pollMin) < 0) {
            throw new InvalidInputException("need 0 < pollMin <= pollMax, got " + pollMin + " and " + pollMax);
        }
        if (maxMessageReads < 2 || maxMessageReads > 1000) {
            throw new InvalidInputException("maxMessageReads must be between 2 and 1000, got " + maxMessageReads);
        }
    }

    public static OrchestratorSettings defaults(String nodeId) {
        return new OrchestratorSettings(nodeId, 200, Duration.ofSeconds(30), Duration.ofMillis(50), Duration.ofSeconds(2));
    }

    public OrchestratorSettings withBatchSize(int n) {
        return new OrchestratorSettings(nodeId, n, leaseTtl, pollMin, pollMax, maxMessageReads);
    }

    public OrchestratorSettings withLeaseTtl(Duration ttl) {
        return new OrchestratorSettings(nodeId, batchSize, ttl, pollMin, pollMax, maxMessageReads);
    }

    public OrchestratorSettings withMaxMessageReads(int n) {
        return new OrchestratorSettings(nodeId, batchSize, leaseTtl, pollMin, pollMax, n);
    }
}

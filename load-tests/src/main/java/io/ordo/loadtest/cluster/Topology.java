package io.ordo.loadtest.cluster;

import io.ordo.InvalidInputException;
import io.ordo.worker.WorkerSettings;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How many nodes a benchmark runs and how they are tuned.
 *
 * @param orchestrators      orchestrator nodes
 * @param workers            worker nodes of the benchmark namespace
 * @param processes          each node a JVM of its own ({@link NodeProcess}) rather than in this JVM
 * @param workerConcurrency  handlers a worker runs at once (and steps it holds)
 * @param workerBatch        steps a worker reads per call
 * @param orchestratorBatch  orchestration messages per pass ({@code orchestrator.batch_size})
 * @param visibilityTimeout  the workers' visibility timeout; also the orchestrators' lease TTL
 */
public record Topology(int orchestrators, int workers, boolean processes, int workerConcurrency, int workerBatch,
                       int orchestratorBatch, Duration visibilityTimeout) {
    public Topology {
        range("--orchestrators", orchestrators, 1, 16);
        range("--workers", workers, 1, 32);
        range("--concurrency", workerConcurrency, 1, 10_000);
        range("--worker-batch", workerBatch, 1, 1_000);
        range("--orchestrator-batch", orchestratorBatch, 1, 10_000);
        if (visibilityTimeout.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new InvalidInputException("the visibility timeout must be at least 1s, got " + visibilityTimeout);
        }
    }

    /**
     * One orchestrator and one worker in this JVM. The worker holds 200 steps and reads up to 100 at a time: it reads
     * as many as it has free slots, and with 100 slots and reads of 50 a fan-out ran at 25% fewer steps a second, at
     * 25% more CPU a step (load-tests/RESULTS.md, 2026-12-06, late).
     */
    public static Topology defaults() {
        return new Topology(1, 1, false, 200, 100, 200, Duration.ofSeconds(30));
    }

    public Topology withNodes(int orchestrators, int workers) {
        return new Topology(orchestrators, workers, processes, workerConcurrency, workerBatch, orchestratorBatch, visibilityTimeout);
    }

    public Topology withProcesses(boolean separate) {
        return new Topology(orchestrators, workers, separate, workerConcurrency, workerBatch, orchestratorBatch, visibilityTimeout);
    }

    public Topology withWorkerConcurrency(int n) {
        return new Topology(orchestrators, workers, processes, n, workerBatch, orchestratorBatch, visibilityTimeout);
    }

    public Topology withWorkerBatch(int n) {
        return new Topology(orchestrators, workers, processes, workerConcurrency, n, orchestratorBatch, visibilityTimeout);
    }

    public Topology withOrchestratorBatch(int n) {
        return new Topology(orchestrators, workers, processes, workerConcurrency, workerBatch, n, visibilityTimeout);
    }

    public Topology withVisibilityTimeout(Duration vt) {
        return new Topology(orchestrators, workers, processes, workerConcurrency, workerBatch, orchestratorBatch, vt);
    }

    /** {@code 1o×2w} or {@code 2o×2w procs}. */
    public String label() {
        return orchestrators + "o×" + workers + "w" + (processes ? " procs" : "");
    }

    /** Cluster config keys the orchestrators set locally. */
    Map<String, String> orchestratorConfig() {
        Map<String, String> config = new LinkedHashMap<>();
        config.put("orchestrator.batch_size", Integer.toString(orchestratorBatch));
        config.put("lease.ttl", visibilityTimeout.toMillis() + "ms");
        return config;
    }

    WorkerSettings workerSettings(String namespace, String nodeId) {
        return WorkerSettings.defaults(namespace).withConcurrency(workerConcurrency).withBatchSize(workerBatch)
                .withVisibilityTimeout(visibilityTimeout).withShutdownGrace(Duration.ofSeconds(5)).withNodeId(nodeId);
    }

    /** The same settings as {@code ORDO_WORKER_*} keys of a worker container. */
    Map<String, String> workerEnvironment() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("concurrency", Integer.toString(workerConcurrency));
        env.put("batch_size", Integer.toString(workerBatch));
        env.put("visibility_timeout", visibilityTimeout.toMillis() + "ms");
        env.put("shutdown_grace", "5s");
        return env;
    }

    private static void range(String option, int value, int min, int max) {
        if (value < min || value > max) {
            throw new InvalidInputException(option + " must be between " + min + " and " + max + ", got " + value);
        }
    }
}

package io.ordo.engine;

import io.opentelemetry.api.OpenTelemetry;
import io.ordo.db.Database;
import io.ordo.queue.IdleWaiter;
import io.ordo.queue.QueueListener;
import io.ordo.queue.WakeSignal;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * An orchestrator node's engine: a loop of {@link OrchestrationPass}es over the orchestration queue,
 * woken by NOTIFY and polling with backoff when idle, plus a heartbeat that renews this node's leases
 * (one statement for all of them) and keeps its in-flight messages hidden.
 */
public final class Orchestrator implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Orchestrator.class.getName());

    private final Database database;
    private final OrchestratorSettings settings;
    private final OrchestrationPass pass;
    private final WakeSignal wake;
    private final EngineMetrics metrics = new EngineMetrics();
    private final ScheduledExecutorService heartbeat;
    private final Thread loop;
    private final Clock clock;
    private volatile boolean running = true;
    private volatile Instant lastLoopAt;

    private Orchestrator(Database database, OrchestratorSettings settings, QueueListener listener, Clock clock, OpenTelemetry otel) {
        this.database = database;
        this.settings = settings;
        this.clock = clock;
        this.lastLoopAt = clock.instant();
        this.pass = new OrchestrationPass(database.dsl(), settings, clock, new Random(), metrics, new EngineTelemetry(otel));
        this.wake = new WakeSignal();
        if (listener != null) {
            listener.subscribe(OrchestrationPass.QUEUE, wake);
        }
        this.heartbeat = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name("ordo-orchestrator-heartbeat-" + settings.nodeId()).factory());
        long every = Math.max(50, settings.leaseTtl().toMillis() / 3);
        heartbeat.scheduleWithFixedDelay(this::renewLeases, every, every, TimeUnit.MILLISECONDS);
        this.loop = Thread.ofPlatform().name("ordo-orchestrator-" + settings.nodeId()).start(this::run);
    }

    /** Starts an orchestrator; {@code listener} may be null, then it only polls. */
    public static Orchestrator start(Database database, OrchestratorSettings settings, QueueListener listener, Clock clock) {
        return start(database, settings, listener, clock, OpenTelemetry.noop());
    }

    /** Starts an orchestrator that traces each task's share of a pass and records engine meters through {@code otel}. */
    public static Orchestrator start(Database database, OrchestratorSettings settings, QueueListener listener, Clock clock,
                                     OpenTelemetry otel) {
        return new Orchestrator(database, settings, listener, clock, otel);
    }

    /** When the loop last went round (a pass, or an idle wait): liveness checks compare it with now. */
    public Instant lastLoopAt() {
        return lastLoopAt;
    }

    /** Whether the loop thread is alive and has not been told to stop. */
    public boolean isRunning() {
        return running && loop.isAlive();
    }

    public EngineMetrics metrics() {
        return metrics;
    }

    public OrchestratorSettings settings() {
        return settings;
    }

    /** Runs one pass on the caller's thread (tests, tools); returns how many messages it read. */
    public int runOnce() {
        return pass.runOnce();
    }

    private void run() {
        IdleWaiter idle = new IdleWaiter(wake, settings.pollMin(), settings.pollMax());
        Duration errorBackoff = Duration.ofMillis(50);
        while (running) {
            lastLoopAt = clock.instant();
            try {
                int read = pass.runOnce();
                errorBackoff = Duration.ofMillis(50);
                idle.afterRead(read, settings.batchSize());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                if (!running) {
                    return;
                }
                metrics.passErrors.increment();
                LOG.log(System.Logger.Level.WARNING, "orchestration pass failed, retrying in " + errorBackoff.toMillis()
                        + " ms: " + e.getMessage());
                try {
                    Thread.sleep(errorBackoff);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return;
                }
                errorBackoff = errorBackoff.multipliedBy(2).compareTo(Duration.ofSeconds(2)) > 0 ? Duration.ofSeconds(2) : errorBackoff.multipliedBy(2);
            }
        }
    }

    private void renewLeases() {
        try {
            database.dsl().execute("update ordo.task set lease_expires_at = now() + ? * interval '1 millisecond' where lease_owner = ?",
                    settings.leaseTtl().toMillis(), settings.nodeId());
            List<Long> held = List.copyOf(pass.inFlight);
            if (!held.isEmpty()) {
                database.dsl().fetch("select ordo.set_vt(?, ?::bigint[], ?)", OrchestrationPass.QUEUE,
                        held.toArray(Long[]::new), settings.leaseTtl().toNanos() / 1e9);
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "lease heartbeat failed: " + e.getMessage());
        }
    }

    /** Stops gracefully: finishes the pass in progress, then releases this node's leases at once. */
    public void stop(Duration grace) {
        running = false;
        wake.signal();
        try {
            loop.join(grace);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        heartbeat.shutdownNow();
        try {
            database.dsl().execute("update ordo.task set lease_owner = null, lease_token = null, lease_expires_at = null"
                    + " where lease_owner = ?", settings.nodeId());
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "could not release leases on stop: " + e.getMessage());
        }
    }

    /**
     * Stops the loops without releasing anything, as a crash would: leases stay until they expire.
     * For tests and chaos scenarios.
     */
    public void abandon() {
        running = false;
        heartbeat.shutdownNow();
        loop.interrupt();
        try {
            loop.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stop(Duration.ofSeconds(10));
    }
}

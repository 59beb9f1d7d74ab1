package io.ordo.worker;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ordo.InvalidInputException;
import io.ordo.Json;
import io.ordo.OrdoException;
import io.ordo.coordination.Coordination;
import io.ordo.coordination.NodeInfo;
import io.ordo.coordination.NodeMembership;
import io.ordo.coordination.NodeRole;
import io.ordo.db.Database;
import io.ordo.db.SqlErrors;
import io.ordo.queue.IdleWaiter;
import io.ordo.queue.QueueListener;
import io.ordo.queue.QueueNotFoundException;
import io.ordo.queue.WakeSignal;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;

import javax.sql.DataSource;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;

/**
 * A namespace worker: reads the steps of one namespace from PostgreSQL and runs their handlers.
 * <pre>{@code
 * OrdoWorker worker = OrdoWorker.builder(dataSource)
 *         .namespace("fulfillment")
 *         .handler("ship_order", step -> StepOutcome.success(Map.of("tracking", ship(step.context()))))
 *         .handler("charge_payment", Payment.class, (payment, step) -> charge(payment, step.idempotencyKey()))
 *         .concurrency(32)
 *         .build()
 *         .start();
 * ...
 * worker.stop(); // or close()
 * }</pre>
 * <b>How it runs.</b> One reader takes steps from the namespace queue ({@code ordo.read_steps}) in batches, never
 * more than it has free slots ({@link WorkerSettings#concurrency()}), and hides them for the visibility timeout. It
 * wakes on NOTIFY and polls with backoff when the queue is idle. Each step runs on a virtual thread. A heartbeat
 * extends the visibility of every held step with one {@code ordo.extend_steps} call per beat, so a long step is
 * not redelivered while its worker lives; if the worker dies, its steps reappear after the visibility timeout and
 * run again on a new attempt elsewhere. Results are handed back in batches, by the reader, in the same call as its
 * next read ({@code ordo.complete_and_read_steps}: the step messages are deleted, step_result messages sent and the
 * slots they free filled, in one transaction); a result waits up to the hand-off linger for others while handlers
 * run, unless the reader has free slots and the queue has work. A result the database refuses (jsonb holds no NUL
 * character) fails its step permanently with an {@code UnstorableResult} error that says why, and holds back no
 * other result. A result that comes after the step's
 * deadline is still handed back (the orchestrator discards it if the attempt has moved on) and a warning is logged.
 * <p>
 * <b>Stopping</b> ({@link #stop()}, {@link #close()}): reading stops; steps read but not started are given back at
 * once, keeping their attempt; running handlers get the grace period to finish and hand back; those still running
 * then are interrupted and their steps made visible at once (their next run is a new attempt); finally the node
 * leaves the registry.
 * <p>
 * <b>Database role.</b> The worker calls only {@code ordo.read_steps}, {@code complete_and_read_steps},
 * {@code extend_steps}, {@code release_steps} and {@code complete_steps} (and the node registry functions when given
 * a {@link Coordination}), so it can log in as a role that is only a member of {@code ordo_worker_<namespace>}. Its
 * pool needs about four connections, plus one held for LISTEN unless a {@link QueueListener} is shared through
 * {@link Builder#listener}.
 */
public final class OrdoWorker implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(OrdoWorker.class.getName());

    /** The lifecycle of a worker. */
    public enum State {
        /** built, not started */
        NEW,
        /** reading and running steps */
        RUNNING,
        /** stopping: no longer reading, letting running handlers finish */
        DRAINING,
        /** stopped or abandoned */
        STOPPED
    }

    /** A test seam: runs on a step's thread before its handler starts. */
    @FunctionalInterface
    interface StartGate {
        void beforeStart(StepContext step) throws InterruptedException;
    }

    private final WorkerSettings settings;
    private final Map<String, StepHandler> handlers;
    private final DataSource dataSource;
    private final StepQueue queue;
    private final Clock clock;
    private final QueueListener sharedListener;
    private final Coordination coordination;
    private final LongSupplier configVersion;
    private final StartGate startGate;
    private final io.opentelemetry.api.trace.Tracer tracer;

    private final AtomicReference<State> state = new AtomicReference<>(State.NEW);
    private final Semaphore slots;
    private final Map<Long, Lease> inFlight = new ConcurrentHashMap<>();
    private final AtomicInteger running = new AtomicInteger();
    private final LinkedBlockingQueue<Lease> finished = new LinkedBlockingQueue<>();
    private final WakeSignal wake = new WakeSignal();
    private final Object drainMonitor = new Object();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean accepting;
    private volatile boolean handOffRunning;
    private volatile boolean handOffGiveUp;

    private ExecutorService stepThreads;
    private ScheduledExecutorService heartbeat;
    private Thread reader;
    private volatile Thread handOff;
    private QueueListener ownListener;
    private NodeMembership membership;

    private OrdoWorker(Builder b, WorkerSettings settings) {
        this.settings = settings;
        this.handlers = Collections.unmodifiableMap(new LinkedHashMap<>(b.handlers));
        this.dataSource = b.dataSource;
        this.queue = new StepQueue(DSL.using(b.dataSource, SQLDialect.POSTGRES, Database.jooqSettings()), settings.namespace());
        this.clock = b.clock;
        this.sharedListener = b.listener;
        this.coordination = b.coordination;
        this.configVersion = b.configVersion;
        this.startGate = b.startGate;
        this.tracer = b.openTelemetry.getTracer(io.ordo.telemetry.Tracing.SCOPE);
        this.slots = new Semaphore(settings.concurrency());
    }

    /** A builder of a worker that connects through {@code dataSource}. */
    public static Builder builder(DataSource dataSource) {
        return new Builder(dataSource);
    }

    public WorkerSettings settings() {
        return settings;
    }

    public State state() {
        return state.get();
    }

    /** The names of the handlers this worker runs. */
    public Set<String> handlerNames() {
        return new TreeSet<>(handlers.keySet());
    }

    /** How many steps this worker holds now (read and not yet handed back or given back); never above the concurrency. */
    public int inFlight() {
        return inFlight.size();
    }

    /**
     * Starts reading and running steps. Returns this worker.
     *
     * @throws NamespaceAccessDeniedException if the database role may not work the namespace
     * @throws io.ordo.OrdoException if the database cannot be reached, or the node cannot register
     * @throws IllegalStateException if it was started before
     */
    public OrdoWorker start() {
        if (!state.compareAndSet(State.NEW, State.RUNNING)) {
            throw new IllegalStateException("worker " + settings.nodeId() + " was already started");
        }
        String ns = settings.namespace();
        try {
            queue.read(settings.visibilityTimeout(), 0);
        } catch (NamespaceAccessDeniedException e) {
            state.set(State.STOPPED);
            stopped.countDown();
            throw e;
        } catch (QueueNotFoundException e) {
            LOG.log(System.Logger.Level.WARNING, "namespace " + ns + " does not exist yet; worker " + settings.nodeId()
                    + " polls until a template of it is registered");
        }
        if (coordination != null) {
            try {
                membership = NodeMembership.join(coordination, nodeInfo(), configVersion);
            } catch (RuntimeException e) {
                state.set(State.STOPPED);
                stopped.countDown();
                throw e;
            }
        }
        accepting = true;
        handOffRunning = true;
        if (sharedListener == null) {
            ownListener = new QueueListener(dataSource);
            ownListener.subscribe("ns_" + ns, wake);
        } else {
            sharedListener.subscribe("ns_" + ns, wake);
        }
        stepThreads = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("ordo-step-" + ns + "-", 0).factory());
        heartbeat = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("ordo-worker-heartbeat-" + ns).factory());
        long every = settings.heartbeatInterval().toNanos();
        heartbeat.scheduleWithFixedDelay(this::beat, every, every, TimeUnit.NANOSECONDS);
        reader = Thread.ofPlatform().name("ordo-worker-reader-" + ns).start(this::readLoop);
        LOG.log(System.Logger.Level.INFO, "worker " + settings.nodeId() + " started on namespace " + ns + " with handlers "
                + handlerNames() + ", concurrency " + settings.concurrency());
        return this;
    }

    /** Stops gracefully within {@link WorkerSettings#shutdownGrace()}; see the class description. */
    public void stop() {
        stop(settings.shutdownGrace());
    }

    /**
     * Stops gracefully: stops reading, gives back unstarted steps at once, lets running handlers finish and hand
     * back for up to {@code grace}, then interrupts the rest and makes their steps visible at once, and leaves the
     * node registry. A second call waits for the first to finish.
     */
    public void stop(Duration grace) {
        if (state.compareAndSet(State.NEW, State.STOPPED)) {
            stopped.countDown();
            return;
        }
        // 1. stop reading (before anyone can see DRAINING)
        accepting = false;
        if (!state.compareAndSet(State.RUNNING, State.DRAINING)) {
            awaitStopped();
            return;
        }
        long deadline = System.nanoTime() + grace.toNanos();
        String ns = settings.namespace();
        LOG.log(System.Logger.Level.INFO, "worker " + settings.nodeId() + " stopping: " + inFlight.size() + " steps held");
        wake.signal();
        if (membership != null) {
            try {
                membership.drain();
            } catch (OrdoException e) {
                LOG.log(System.Logger.Level.WARNING, "could not mark node " + settings.nodeId() + " draining: " + e.getMessage());
            }
        }
        join(reader, Math.max(0, deadline - System.nanoTime()));
        // from now on a thread of its own hands back what handlers finish
        handOff = Thread.ofPlatform().daemon().name("ordo-worker-hand-off-" + ns).start(this::handOffLoop);
        // 2. steps read but not started go back at once, their attempt kept
        List<Lease> unstarted = new ArrayList<>();
        for (Lease lease : inFlight.values()) {
            if (lease.move(Lease.State.READ, Lease.State.RELEASED)) {
                unstarted.add(lease);
            }
        }
        giveBack(unstarted);
        // 3. running handlers finish and hand back within the grace period
        awaitDrained(deadline);
        List<Lease> left = new ArrayList<>();
        for (Lease lease : inFlight.values()) {
            if (lease.move(Lease.State.RUNNING, Lease.State.ABANDONED)) {
                left.add(lease);
            }
        }
        stepThreads.shutdownNow();
        if (!left.isEmpty()) {
            LOG.log(System.Logger.Level.WARNING, left.size() + " steps of namespace " + ns + " did not finish within the grace period of "
                    + grace + "; interrupting them and making them visible again");
            try {
                queue.extend(left.stream().map(Lease::msgId).toList(), Duration.ZERO);
            } catch (OrdoException e) {
                LOG.log(System.Logger.Level.WARNING, "could not make abandoned steps visible (they come back after their visibility timeout): "
                        + e.getMessage());
            }
            left.forEach(this::forget);
        }
        // results already finished get a last chance to be handed back
        handOffRunning = false;
        join(handOff, Duration.ofSeconds(2).toNanos());
        handOffGiveUp = true;
        handOff.interrupt();
        join(handOff, Duration.ofSeconds(1).toNanos());
        heartbeat.shutdownNow();
        if (ownListener != null) {
            ownListener.close();
        }
        // 4. leave the node registry
        if (membership != null) {
            membership.close();
        }
        state.set(State.STOPPED);
        stopped.countDown();
        LOG.log(System.Logger.Level.INFO, "worker " + settings.nodeId() + " stopped");
    }

    /**
     * Stops at once without giving anything back, as a crash would: no more reads, heartbeats or hand-offs, running
     * handlers are interrupted and their results dropped, and the node stops heartbeating without leaving the
     * registry. The steps it held come back after their visibility timeout, on a new attempt. For tests and chaos
     * scenarios.
     */
    public void abandon() {
        State before = state.getAndSet(State.STOPPED);
        if (before == State.STOPPED || before == State.NEW) {
            stopped.countDown();
            return;
        }
        accepting = false;
        handOffRunning = false;
        handOffGiveUp = true;
        for (Lease lease : inFlight.values()) {
            lease.move(Lease.State.READ, Lease.State.ABANDONED);
            lease.move(Lease.State.RUNNING, Lease.State.ABANDONED);
            lease.move(Lease.State.FINISHED, Lease.State.ABANDONED);
        }
        heartbeat.shutdownNow();
        reader.interrupt();
        Thread handingOff = handOff;
        if (handingOff != null) {
            handingOff.interrupt();
        }
        stepThreads.shutdownNow();
        if (membership != null) {
            membership.abandon();
        }
        if (ownListener != null) {
            ownListener.close();
        }
        stopped.countDown();
    }

    /** Waits until the worker has stopped. */
    public void awaitStopped() {
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Same as {@link #stop()}. */
    @Override
    public void close() {
        stop();
    }

    // ---- reading ---------------------------------------------------------------------------------------------

    /**
     * One turn: takes the finished results and the free slots, hands the results back and reads as many steps as both
     * free in one call, and dispatches them. Results alone wait up to the hand-off linger for others while handlers
     * run, unless the call reads for free slots of a busy queue anyway.
     */
    private void readLoop() {
        IdleWaiter idle = new IdleWaiter(wake, settings.pollMin(), settings.pollMax());
        Duration errorBackoff = settings.pollMin();
        List<Lease> handing = new ArrayList<>();
        boolean queueBusy = true;
        try {
            while (accepting) {
                finished.drainTo(handing, settings.handOffBatch() - handing.size());
                int free = takeFreeSlots();
                if (handing.isEmpty() && free == 0) {
                    // every slot is held by a running handler: a handler that finishes signals
                    wake.await(Duration.ofMillis(50));
                    continue;
                }
                if (!handing.isEmpty() && !(queueBusy && free > 0)) {
                    linger(handing);
                }
                if (!accepting) {
                    slots.release(free);
                    return;
                }
                int wanted = Math.min(settings.batchSize(), free + handing.size());
                List<ReadStep> read;
                try {
                    read = queue.completeAndRead(handing.stream().map(OrdoWorker::resultJson).toList(),
                            settings.visibilityTimeout(), wanted);
                    errorBackoff = settings.pollMin();
                } catch (RuntimeException e) {
                    slots.release(free);
                    if (!handing.isEmpty() && refusedData(e)) {
                        List<Lease> left = handBackEach(handing);
                        handing.clear();
                        handing.addAll(left);
                        continue;
                    }
                    if (!accepting) {
                        return;
                    }
                    LOG.log(e instanceof NamespaceAccessDeniedException ? System.Logger.Level.ERROR : System.Logger.Level.WARNING,
                            "worker " + settings.nodeId() + " could not " + (handing.isEmpty() ? "" : "hand back " + handing.size()
                                    + " results and ") + "read namespace " + settings.namespace() + ", retrying in "
                                    + errorBackoff.toMillis() + " ms: " + e.getMessage());
                    wake.await(errorBackoff);
                    errorBackoff = min(errorBackoff.multipliedBy(2), settings.pollMax());
                    continue;
                }
                handing.forEach(this::forget);
                handing.clear();
                // the results' slots were freed just now, and only this thread takes slots
                if (read.size() > free) {
                    slots.acquireUninterruptibly(read.size() - free);
                } else {
                    slots.release(free - read.size());
                }
                for (ReadStep step : read) {
                    dispatch(step);
                }
                queueBusy = read.size() == wanted;
                if (finished.isEmpty()) {
                    idle.afterRead(read.size(), wanted);
                } else {
                    idle.busy();
                }
            }
        } catch (InterruptedException e) {
            // stopping or abandoned
        } finally {
            // results not handed back yet go to the hand-off of the stop (or are dropped by an abandon)
            finished.addAll(handing);
        }
    }

    /** Takes the free slots, up to a batch, without waiting; returns how many. */
    private int takeFreeSlots() {
        int free = slots.drainPermits();
        int take = Math.min(free, settings.batchSize());
        slots.release(free - take);
        return take;
    }

    /**
     * Adds finished results to {@code handing} while handlers still run, up to a hand-off batch, for at most the
     * hand-off linger, and only until a wake-up brings no result: that one was a NOTIFY, and the call reads its steps.
     */
    private void linger(List<Lease> handing) throws InterruptedException {
        int max = settings.handOffBatch();
        long until = System.nanoTime() + settings.handOffLinger().toNanos();
        while (handing.size() < max && running.get() > 0 && accepting) {
            long left = until - System.nanoTime();
            if (left <= 0 || !wake.await(Duration.ofNanos(left))) {
                return;
            }
            int before = handing.size();
            finished.drainTo(handing, max - before);
            if (handing.size() == before) {
                return;
            }
        }
    }

    private void dispatch(ReadStep step) {
        Lease lease = new Lease(step, new StepContext(settings.namespace(), step, clock, this::extendOne));
        inFlight.put(step.msgId(), lease);
        try {
            stepThreads.execute(() -> run(lease));
        } catch (RejectedExecutionException e) {
            // abandoned meanwhile: the step comes back after its visibility timeout
            forget(lease);
        }
    }

    // ---- running ---------------------------------------------------------------------------------------------

    private void run(Lease lease) {
        try {
            startGate.beforeStart(lease.context);
        } catch (InterruptedException e) {
            // not started; handled below like any step that cannot start
        }
        if (!accepting || !lease.move(Lease.State.READ, Lease.State.RUNNING)) {
            if (lease.move(Lease.State.READ, Lease.State.RELEASED)) {
                giveBack(List.of(lease));
            }
            return;
        }
        running.incrementAndGet();
        // the step's span is a child of the orchestration pass that enqueued it: the message headers carry its context
        io.opentelemetry.api.trace.Span span = tracer.spanBuilder("ordo.step " + lease.step.stepName())
                .setParent(io.ordo.telemetry.Tracing.fromHeaders(lease.step.headers()))
                .setSpanKind(io.opentelemetry.api.trace.SpanKind.CONSUMER)
                .setAttribute("ordo.namespace", settings.namespace())
                .setAttribute("ordo.task_id", lease.step.taskId())
                .setAttribute("ordo.step", lease.step.stepName())
                .setAttribute("ordo.attempt", lease.step.attempt())
                .startSpan();
        try (var ignored = span.makeCurrent()) {
            lease.startedAt = clock.instant();
            StepOutcome outcome = invoke(lease);
            lease.finishedAt = clock.instant();
            lease.outcome = outcome;
            span.setAttribute("ordo.outcome", switch (outcome) {
                case StepOutcome.Succeeded ok -> "succeeded";
                case StepOutcome.RetryableFailure retry -> "retryable_failure";
                case StepOutcome.PermanentFailure fail -> "permanent_failure";
            });
            if (!(outcome instanceof StepOutcome.Succeeded)) {
                span.setStatus(io.opentelemetry.api.trace.StatusCode.ERROR);
            }
        } finally {
            span.end();
            running.decrementAndGet();
        }
        if (lease.finishedAt.isAfter(lease.step.deadline())) {
            LOG.log(System.Logger.Level.WARNING, () -> lease.context + " finished "
                    + Duration.between(lease.step.deadline(), lease.finishedAt).toMillis() + " ms after its deadline "
                    + lease.step.deadline() + "; handing the result back, the orchestrator discards it if the attempt timed out");
        }
        // built here, beside the reader's call, rather than by the reader while its next call waits
        lease.resultJson = buildResultJson(lease);
        if (lease.move(Lease.State.RUNNING, Lease.State.FINISHED)) {
            finished.add(lease);
            wake.signal();
        }
    }

    private StepOutcome invoke(Lease lease) {
        StepContext step = lease.context;
        StepHandler handler = handlers.get(step.handler());
        if (handler == null) {
            return new StepOutcome.PermanentFailure(new StepError("UnknownHandler", "worker " + settings.nodeId()
                    + " of namespace " + settings.namespace() + " has no handler named '" + step.handler() + "' (step "
                    + step.stepName() + " of template " + step.templateName() + " " + step.templateVersion()
                    + "); it has " + handlerNames()));
        }
        try {
            StepOutcome outcome = handler.handle(step);
            if (outcome == null) {
                return new StepOutcome.PermanentFailure(new StepError("NullOutcome",
                        "handler '" + step.handler() + "' returned null instead of a StepOutcome"));
            }
            return outcome;
        } catch (StepInputException e) {
            return new StepOutcome.PermanentFailure(StepError.of(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new StepOutcome.RetryableFailure(StepError.of(e), Optional.empty());
        } catch (Throwable e) {
            // anything else, errors included, fails the attempt: a lease left running would be extended forever
            LOG.log(System.Logger.Level.WARNING, () -> step + " failed: " + e);
            LOG.log(System.Logger.Level.DEBUG, () -> step + " failed", e);
            return new StepOutcome.RetryableFailure(StepError.of(e), Optional.empty());
        }
    }

    // ---- handing back ------------------------------------------------------------------------------------------

    /** Hands back what handlers finish once reading has stopped (while running, the reader does). */
    private void handOffLoop() {
        int max = settings.handOffBatch();
        long linger = settings.handOffLinger().toNanos();
        while (true) {
            Lease first;
            try {
                first = finished.poll(50, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (first == null) {
                if (!handOffRunning) {
                    return;
                }
                continue;
            }
            List<Lease> batch = new ArrayList<>();
            batch.add(first);
            finished.drainTo(batch, max - batch.size());
            // more results are on their way: wait a little to hand them back in the same transaction
            long until = System.nanoTime() + linger;
            while (batch.size() < max && running.get() > 0 && handOffRunning) {
                long left = until - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                Lease next;
                try {
                    next = finished.poll(left, TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    break;
                }
                if (next == null) {
                    break;
                }
                batch.add(next);
                finished.drainTo(batch, max - batch.size());
            }
            if (!deliver(batch)) {
                return;
            }
        }
    }

    /** Hands a batch back, retrying while the database is unreachable; returns false when told to give up. */
    private boolean deliver(List<Lease> batch) {
        Duration backoff = Duration.ofMillis(50);
        while (!batch.isEmpty()) {
            if (handOffGiveUp) {
                LOG.log(System.Logger.Level.WARNING, "dropping " + batch.size() + " results of namespace " + settings.namespace()
                        + " that could not be handed back; their steps come back after the visibility timeout");
                return false;
            }
            try {
                queue.complete(batch.stream().map(OrdoWorker::resultJson).toList());
                batch.forEach(this::forget);
                return true;
            } catch (RuntimeException e) {
                if (refusedData(e)) {
                    batch = handBackEach(batch);
                    continue;
                }
                LOG.log(System.Logger.Level.WARNING, "hand-off of " + batch.size() + " results failed, retrying in "
                        + backoff.toMillis() + " ms: " + e.getMessage());
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException ie) {
                    return false;
                }
                backoff = min(backoff.multipliedBy(2), Duration.ofSeconds(2));
            }
        }
        return true;
    }

    /**
     * Whether the database refused what a call sent (SQLSTATE class 22, data exception), as it refuses a result holding
     * a NUL character: sending it again cannot help.
     */
    private static boolean refusedData(RuntimeException e) {
        String state = SqlErrors.sqlState(e);
        return state != null && state.startsWith("22");
    }

    /**
     * Hands back one result at a time, after the database refused them together: a result it refuses again is
     * replaced by a permanent failure of its step that says why, so that one bad result does not hold back the others
     * forever. Returns those that could not be handed back for another reason, for another try.
     */
    private List<Lease> handBackEach(List<Lease> batch) {
        List<Lease> left = new ArrayList<>();
        for (Lease lease : batch) {
            try {
                try {
                    queue.complete(List.of(resultJson(lease)));
                } catch (RuntimeException e) {
                    if (!refusedData(e)) {
                        throw e;
                    }
                    String why = SqlErrors.serverMessage(e);
                    LOG.log(System.Logger.Level.WARNING, lease.context + ": the database refused its result (" + why
                            + "); handing back a permanent failure instead");
                    lease.outcome = new StepOutcome.PermanentFailure(new StepError("UnstorableResult",
                            "the database refused the result of handler '" + lease.step.handler() + "': " + why));
                    lease.resultJson = buildResultJson(lease);
                    queue.complete(List.of(lease.resultJson));
                }
                forget(lease);
            } catch (RuntimeException e) {
                left.add(lease);
            }
        }
        return left;
    }

    /** The result as handed back: the one the handler's thread built, else built now. */
    private static String resultJson(Lease lease) {
        String built = lease.resultJson;
        return built != null ? built : buildResultJson(lease);
    }

    private static String buildResultJson(Lease lease) {
        ReadStep s = lease.step;
        ObjectNode r = Json.object()
                .put("msg_id", s.msgId()).put("task_id", s.taskId()).put("step_id", s.stepId()).put("attempt", s.attempt())
                .put("started_at", lease.startedAt.toString()).put("finished_at", lease.finishedAt.toString());
        switch (lease.outcome) {
            case StepOutcome.Succeeded ok -> r.put("status", "succeeded").set("result", ok.result());
            case StepOutcome.RetryableFailure f -> {
                r.put("status", "failed").put("permanent", false).set("error", f.error().toJson());
                f.retryAfter().ifPresent(d -> r.put("retry_after_ms", d.toMillis()));
            }
            case StepOutcome.PermanentFailure f -> r.put("status", "failed").put("permanent", true).set("error", f.error().toJson());
        }
        return Json.write(r);
    }

    // ---- giving back, heartbeat ----------------------------------------------------------------------------------

    private void giveBack(List<Lease> leases) {
        if (leases.isEmpty()) {
            return;
        }
        try {
            Set<Long> released = queue.release(leases.stream().map(l -> l.step).toList());
            LOG.log(System.Logger.Level.INFO, "worker " + settings.nodeId() + " gave back " + released.size() + " unstarted steps");
        } catch (OrdoException e) {
            LOG.log(System.Logger.Level.WARNING, "could not give back " + leases.size()
                    + " unstarted steps (they come back after their visibility timeout): " + e.getMessage());
        }
        leases.forEach(this::forget);
    }

    /** Drops a lease and frees its slot. */
    private void forget(Lease lease) {
        if (inFlight.remove(lease.msgId(), lease)) {
            slots.release();
            synchronized (drainMonitor) {
                drainMonitor.notifyAll();
            }
        }
    }

    private void beat() {
        List<Long> held = new ArrayList<>();
        for (Lease lease : inFlight.values()) {
            Lease.State s = lease.state();
            if (s == Lease.State.READ || s == Lease.State.RUNNING || s == Lease.State.FINISHED) {
                held.add(lease.msgId());
            }
        }
        if (held.isEmpty()) {
            return;
        }
        try {
            Set<Long> present = queue.extend(held, settings.visibilityTimeout());
            if (present.size() < held.size()) {
                LOG.log(System.Logger.Level.DEBUG, () -> (held.size() - present.size()) + " held steps of namespace "
                        + settings.namespace() + " have no message any more (handed back, timed out or cancelled)");
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "heartbeat of " + held.size() + " steps of namespace " + settings.namespace()
                    + " failed: " + e.getMessage());
        }
    }

    private boolean extendOne(long msgId) {
        return queue.extend(List.of(msgId), settings.visibilityTimeout()).contains(msgId);
    }

    private void awaitDrained(long deadlineNanos) {
        synchronized (drainMonitor) {
            while (!inFlight.isEmpty()) {
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0) {
                    return;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(drainMonitor, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    private NodeInfo nodeInfo() {
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "unknown";
        }
        String version = Optional.ofNullable(OrdoWorker.class.getPackage().getImplementationVersion()).orElse("dev");
        return new NodeInfo(settings.nodeId(), NodeRole.WORKER, List.of(settings.namespace()), host, version, clock.instant(),
                settings.heartbeatInterval(), Map.of("concurrency", Integer.toString(settings.concurrency()),
                "handlers", String.join(",", handlerNames())));
    }

    private static void join(Thread thread, long nanos) {
        if (thread == null) {
            return;
        }
        try {
            thread.join(Duration.ofNanos(Math.max(1, nanos)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    @Override
    public String toString() {
        return "OrdoWorker[" + settings.nodeId() + ", namespace " + settings.namespace() + ", " + state() + "]";
    }

    /**
     * Builds an {@link OrdoWorker}. Only the namespace and at least one handler are required; every other setting has
     * the default of {@link WorkerSettings#defaults(String)}.
     */
    public static final class Builder {
        private final DataSource dataSource;
        private final Map<String, StepHandler> handlers = new LinkedHashMap<>();
        private String namespace;
        private WorkerSettings base;
        private Integer concurrency;
        private Integer batchSize;
        private Duration visibilityTimeout;
        private Duration heartbeatInterval;
        private Duration pollMin;
        private Duration pollMax;
        private Duration shutdownGrace;
        private Integer handOffBatch;
        private Duration handOffLinger;
        private String nodeId;
        private Clock clock = Clock.systemUTC();
        private QueueListener listener;
        private Coordination coordination;
        private LongSupplier configVersion;
        private StartGate startGate = step -> { };
        private io.opentelemetry.api.OpenTelemetry openTelemetry = io.opentelemetry.api.OpenTelemetry.noop();

        private Builder(DataSource dataSource) {
            if (dataSource == null) {
                throw new InvalidInputException("a worker needs a DataSource");
            }
            this.dataSource = dataSource;
        }

        /** The namespace to work, {@code ^[a-z][a-z0-9_]{0,39}$}. */
        public Builder namespace(String namespace) {
            this.namespace = namespace;
            return this;
        }

        /** Runs {@code handler} for steps whose template names {@code name} as their handler. */
        public Builder handler(String name, StepHandler handler) {
            if (name == null || !name.matches("[A-Za-z][A-Za-z0-9_.:-]{0,199}")) {
                throw new InvalidInputException("handler name must match ^[A-Za-z][A-Za-z0-9_.:-]{0,199}$, got " + name);
            }
            if (handler == null) {
                throw new InvalidInputException("handler " + name + " is null");
            }
            if (handlers.putIfAbsent(name, handler) != null) {
                throw new InvalidInputException("handler " + name + " is registered twice");
            }
            return this;
        }

        /** Runs {@code handler} with the task context mapped to {@code inputType}; see {@link StepHandler#typed}. */
        public <T> Builder handler(String name, Class<T> inputType, TypedStepHandler<T> handler) {
            return handler(name, StepHandler.typed(inputType, handler));
        }

        /** Adds several handlers, for example those of a {@link StepHandlerProvider}. */
        public Builder handlers(Map<String, StepHandler> more) {
            more.forEach(this::handler);
            return this;
        }

        /**
         * Starts from these settings (for example a container's configuration); their namespace is used unless
         * {@link #namespace} is called, and the other builder methods override them.
         */
        public Builder settings(WorkerSettings settings) {
            this.base = settings;
            return this;
        }

        /** Most handlers running at once, and most steps held. Default 10. */
        public Builder concurrency(int n) {
            this.concurrency = n;
            return this;
        }

        /** Most steps read per call. Default 50. */
        public Builder batchSize(int n) {
            this.batchSize = n;
            return this;
        }

        /** How long a read step stays hidden unless extended. Default 30 s. */
        public Builder visibilityTimeout(Duration vt) {
            this.visibilityTimeout = vt;
            return this;
        }

        /** How often held steps are extended. Default: a third of the visibility timeout. */
        public Builder heartbeatInterval(Duration interval) {
            this.heartbeatInterval = interval;
            return this;
        }

        /** Polling interval bounds when the queue is idle. Default 50 ms to 2 s. */
        public Builder polling(Duration min, Duration max) {
            this.pollMin = min;
            this.pollMax = max;
            return this;
        }

        /** How long {@link #stop()} lets running handlers finish. Default 30 s. */
        public Builder shutdownGrace(Duration grace) {
            this.shutdownGrace = grace;
            return this;
        }

        /** Hand-off batching: most results per transaction and how long to wait for more. Default 100 and 5 ms. */
        public Builder handOff(int maxBatch, Duration linger) {
            this.handOffBatch = maxBatch;
            this.handOffLinger = linger;
            return this;
        }

        /** This worker's node id. Default: {@code worker-<namespace>-<host>-<pid>-<random>}. */
        public Builder nodeId(String id) {
            this.nodeId = id;
            return this;
        }

        /** The clock for deadlines and hand-off timestamps. Default: the system clock in UTC. */
        public Builder clock(Clock clock) {
            this.clock = clock;
            return this;
        }

        /** Shares a listener for NOTIFY wake-ups; by default the worker holds one connection of its own for LISTEN. */
        public Builder listener(QueueListener listener) {
            this.listener = listener;
            return this;
        }

        /**
         * Registers the worker in the cluster's node registry while it runs, heartbeating with the interval of the
         * visibility heartbeat and reporting {@code configVersion} (the cluster configuration version it runs; a
         * worker that applies none of it can report the latest). Worker containers do. Default: not registered.
         */
        public Builder nodeRegistry(Coordination coordination, LongSupplier configVersion) {
            if (coordination == null || configVersion == null) {
                throw new InvalidInputException("the node registry needs a Coordination and a config version supplier");
            }
            this.coordination = coordination;
            this.configVersion = configVersion;
            return this;
        }

        /**
         * Traces each step execution as a span, child of the orchestration pass that enqueued it (the step message's
         * headers carry the W3C trace context). Default: no tracing.
         */
        public Builder openTelemetry(io.opentelemetry.api.OpenTelemetry openTelemetry) {
            if (openTelemetry == null) {
                throw new InvalidInputException("openTelemetry must not be null; use OpenTelemetry.noop() for none");
            }
            this.openTelemetry = openTelemetry;
            return this;
        }

        Builder startGate(StartGate gate) {
            this.startGate = gate;
            return this;
        }

        /**
         * Validates and builds the worker (not started).
         *
         * @throws InvalidInputException naming the setting that is wrong, or when there is no handler
         */
        public OrdoWorker build() {
            String ns = namespace != null ? namespace : base != null ? base.namespace() : null;
            if (ns == null) {
                throw new InvalidInputException("namespace must be set");
            }
            WorkerSettings d = base != null ? base : WorkerSettings.defaults(ns);
            Duration vt = or(visibilityTimeout, d.visibilityTimeout());
            Duration hb = heartbeatInterval != null ? heartbeatInterval
                    : visibilityTimeout != null ? null : d.heartbeatInterval();
            WorkerSettings settings = new WorkerSettings(ns, or(concurrency, d.concurrency()), or(batchSize, d.batchSize()),
                    vt, hb, or(pollMin, d.pollMin()), or(pollMax, d.pollMax()), or(shutdownGrace, d.shutdownGrace()),
                    or(handOffBatch, d.handOffBatch()), or(handOffLinger, d.handOffLinger()),
                    nodeId != null ? nodeId : base != null && base.namespace().equals(ns) ? base.nodeId() : null);
            if (handlers.isEmpty()) {
                throw new InvalidInputException("worker of namespace " + ns + " has no handlers");
            }
            if (clock == null) {
                throw new InvalidInputException("clock must not be null");
            }
            return new OrdoWorker(this, settings);
        }

        private static <T> T or(T value, T fallback) {
            return value != null ? value : fallback;
        }
    }
}

package io.ordo.coordination;

import io.ordo.OrdoException;
import io.ordo.db.SqlErrors;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Runs for leader every election interval and, while this node leads, runs the registered
 * {@link LeaderDuty}s, each on its own virtual thread, at most one run of a duty at a time.
 * <p>
 * Every {@value #CHECK_MILLIS} ms it asks {@link Coordination#holdsLeadership}; with PostgreSQL that turns
 * false as soon as the leader's session ends, so the node stops starting duties at once, and the duties
 * already running are refused by their term-checked SQL. A node that lost the leadership stands aside for
 * two election intervals before running again, so that a healthy candidate takes over.
 * <p>
 * A leader that is closed (a graceful stop) releases the leadership and announces it on
 * {@link Coordination#LEADER_STEPPED_DOWN_CHANNEL}; the other electors then run at once instead of at their next
 * election, so the cluster is without a leader for a round trip rather than up to an election interval.
 * <p>
 * Scheduling uses elapsed real time; the coordination's clock only stamps records.
 */
public final class LeaderElector implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(LeaderElector.class.getName());
    static final long CHECK_MILLIS = 50;

    private final Coordination coordination;
    private final String nodeId;
    private final Supplier<Duration> electionInterval;
    private final List<LeaderDuty> duties = new CopyOnWriteArrayList<>();
    private final List<Consumer<LeadershipEvent>> listeners = new CopyOnWriteArrayList<>();
    private final Map<LeaderDuty, Long> nextRun = new ConcurrentHashMap<>();
    private final Set<LeaderDuty> inFlight = ConcurrentHashMap.newKeySet();
    private final Object wake = new Object();
    private volatile Leadership current;
    private volatile Long refusedTerm;
    private volatile boolean running;
    private volatile boolean campaignNow;
    private Thread thread;
    private Subscription stepDowns;

    /** {@code electionInterval} is read before every attempt, so it can follow live config. */
    public LeaderElector(Coordination coordination, String nodeId, Supplier<Duration> electionInterval) {
        this.coordination = coordination;
        this.nodeId = Names.nodeId(nodeId);
        this.electionInterval = electionInterval;
    }

    public LeaderElector(Coordination coordination, String nodeId, Duration electionInterval) {
        this(coordination, nodeId, () -> electionInterval);
    }

    /** Adds a duty; it first runs right after the next election won (or now, if this node leads). */
    public LeaderElector register(LeaderDuty duty) {
        duties.add(duty);
        nextRun.put(duty, System.nanoTime());
        return this;
    }

    /** Called on the elector's thread when this node is elected or loses the leadership. */
    public LeaderElector onChange(Consumer<LeadershipEvent> listener) {
        listeners.add(listener);
        return this;
    }

    public synchronized LeaderElector start() {
        if (thread == null) {
            running = true;
            try {
                stepDowns = coordination.subscribe(Coordination.LEADER_STEPPED_DOWN_CHANNEL, this::onStepDown);
            } catch (OrdoException e) {
                LOG.log(System.Logger.Level.WARNING, "node " + nodeId + " will not hear leaders step down (it runs at its"
                        + " election interval): " + e.getMessage());
            }
            thread = Thread.ofPlatform().daemon().name("ordo-leader-elector-" + nodeId).start(this::loop);
        }
        return this;
    }

    private void onStepDown(String leader) {
        if (!nodeId.equals(leader)) {
            campaignNow = true;
            synchronized (wake) {
                wake.notifyAll();
            }
        }
    }

    /** The leadership this node holds, if it leads. */
    public Optional<Leadership> leadership() {
        return Optional.ofNullable(current);
    }

    public boolean isLeader() {
        return current != null;
    }

    public String nodeId() {
        return nodeId;
    }

    private void loop() {
        long nextElection = System.nanoTime();
        while (running) {
            long now = System.nanoTime();
            Leadership l = current;
            if (l == null && (now - nextElection >= 0 || campaignNow)) {
                campaignNow = false;
                nextElection = now + electionInterval.get().toNanos();
                l = campaign(now);
            }
            if (l != null) {
                Long refused = refusedTerm;
                if (!coordination.holdsLeadership(l)) {
                    lose(l, "its session ended");
                    nextElection = System.nanoTime() + electionInterval.get().multipliedBy(2).toNanos();
                    continue;
                }
                if (refused != null && refused == l.term()) {
                    lose(l, "a duty's term was refused");
                    nextElection = System.nanoTime() + electionInterval.get().multipliedBy(2).toNanos();
                    continue;
                }
                for (LeaderDuty duty : duties) {
                    if (now - nextRun.getOrDefault(duty, now) >= 0 && inFlight.add(duty)) {
                        launch(duty, l);
                    }
                }
            }
            pause();
        }
    }

    private Leadership campaign(long now) {
        try {
            Leadership won = coordination.tryAcquireLeadership(nodeId).orElse(null);
            if (won != null) {
                LOG.log(System.Logger.Level.INFO, "node " + nodeId + " leads under term " + won.term());
                refusedTerm = null;
                duties.forEach(d -> nextRun.put(d, now));
                current = won;
                fire(new LeadershipEvent.Elected(won));
            }
            return won;
        } catch (OrdoException e) {
            LOG.log(System.Logger.Level.WARNING, "node " + nodeId + " could not run for leader: " + e.getMessage());
            return null;
        }
    }

    private void launch(LeaderDuty duty, Leadership l) {
        Thread.ofVirtual().name("ordo-duty-" + duty.name()).start(() -> {
            try {
                duty.run(l.term());
            } catch (StaleTermException e) {
                LOG.log(System.Logger.Level.WARNING, "duty " + duty.name() + " was refused under term " + l.term() + ": " + e.getMessage());
                refusedTerm = l.term();
            } catch (RuntimeException e) {
                if (SqlErrors.LOCK_TIMEOUT.equals(SqlErrors.sqlState(e))) {
                    // expected behind a long transaction (partition maintenance waits 100 ms): no stack trace for it
                    LOG.log(System.Logger.Level.WARNING, "duty " + duty.name() + " gave up waiting for a lock under term "
                            + l.term() + "; it runs again in " + duty.interval().toMillis() + " ms");
                } else {
                    LOG.log(System.Logger.Level.WARNING, "duty " + duty.name() + " failed under term " + l.term(), e);
                }
            } finally {
                nextRun.put(duty, System.nanoTime() + duty.interval().toNanos());
                inFlight.remove(duty);
            }
        });
    }

    private void lose(Leadership l, String reason) {
        LOG.log(System.Logger.Level.WARNING, "node " + nodeId + " lost the leadership of term " + l.term() + ": " + reason);
        current = null;
        try {
            coordination.releaseLeadership(l);
        } catch (OrdoException e) {
            LOG.log(System.Logger.Level.DEBUG, "releasing term " + l.term() + " failed: " + e.getMessage());
        }
        fire(new LeadershipEvent.Lost(l, reason));
    }

    private void fire(LeadershipEvent event) {
        for (Consumer<LeadershipEvent> listener : listeners) {
            try {
                listener.accept(event);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "leadership listener failed on " + event, e);
            }
        }
    }

    private void pause() {
        synchronized (wake) {
            if (!running || campaignNow) {
                return;
            }
            try {
                wake.wait(CHECK_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                running = false;
            }
        }
    }

    /** Stops running for leader and gives up the leadership if this node holds it, telling the other candidates. */
    @Override
    public void close() {
        Thread t;
        Subscription s;
        synchronized (this) {
            running = false;
            t = thread;
            s = stepDowns;
            stepDowns = null;
        }
        if (s != null) {
            s.close();
        }
        synchronized (wake) {
            wake.notifyAll();
        }
        if (t != null) {
            try {
                t.join(Duration.ofSeconds(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Leadership l = current;
        if (l != null) {
            current = null;
            coordination.releaseLeadership(l);
            try {
                coordination.publish(Coordination.LEADER_STEPPED_DOWN_CHANNEL, nodeId);
            } catch (OrdoException e) {
                LOG.log(System.Logger.Level.DEBUG, "could not announce that node " + nodeId + " stepped down: " + e.getMessage());
            }
            fire(new LeadershipEvent.Lost(l, "stepped down"));
        }
    }
}

package io.ordo.coordination;

import io.ordo.InvalidInputException;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * {@link Coordination} held in this JVM's memory, for unit tests that need no database. One instance stands
 * for the whole cluster: simulated nodes share it. Times come from the given {@link Clock}.
 */
public final class InMemoryCoordination implements Coordination {
    private static final Duration WAIT_SLICE = Duration.ofMillis(20);

    private final Clock clock;
    private final ReentrantLock mutex = new ReentrantLock();
    private final Condition released = mutex.newCondition();
    private final Map<String, Entry> keys = new TreeMap<>();
    private final Map<String, Map<String, LockLease>> locks = new HashMap<>();
    private final Map<Waiter, Instant> waits = new LinkedHashMap<>();
    private final Map<String, ClusterNode> nodes = new TreeMap<>();
    private final Subscribers subscribers = new Subscribers("ordo-coordination-delivery");
    private final AtomicLong published = new AtomicLong();
    private long fencing;
    private long term;
    private Leadership leader;

    public InMemoryCoordination(Clock clock) {
        this.clock = clock;
    }

    private record Entry(String value, Instant expiresAt) {
        boolean live(Instant now) {
            return expiresAt == null || expiresAt.isAfter(now);
        }
    }

    private record Waiter(String owner, String lockName, LockMode mode) {
    }

    // ---- publish / subscribe

    @Override
    public void publish(String channel, String payload) {
        Names.payload(Names.channel(channel), payload);
        published.incrementAndGet();
        subscribers.deliver(channel, payload);
    }

    @Override
    public Subscription subscribe(String channel, Consumer<String> handler) {
        return subscribers.add(Names.channel(channel), handler, () -> { });
    }

    // ---- keys

    @Override
    public Optional<String> get(String key) {
        Names.text("key", key);
        return locked(() -> {
            Entry e = keys.get(key);
            return e != null && e.live(now()) ? Optional.of(e.value) : Optional.empty();
        });
    }

    @Override
    public void set(String key, String value, Duration ttl) {
        Names.text("key", key);
        Names.value(key, value);
        Names.ttl("key " + key, ttl, true);
        locked(() -> keys.put(key, new Entry(value, expiry(ttl))));
    }

    @Override
    public boolean setIfAbsent(String key, String value, Duration ttl) {
        Names.text("key", key);
        Names.value(key, value);
        Names.ttl("key " + key, ttl, true);
        return locked(() -> {
            Entry e = keys.get(key);
            if (e != null && e.live(now())) {
                return false;
            }
            keys.put(key, new Entry(value, expiry(ttl)));
            return true;
        });
    }

    @Override
    public void setFenced(LockLease fence, String key, String value, Duration ttl) {
        Names.text("key", key);
        Names.value(key, value);
        Names.ttl("key " + key, ttl, true);
        locked(() -> {
            if (!holds(fence)) {
                throw new StaleFencingTokenException(fence.name(), fence.fencingToken(), null);
            }
            return keys.put(key, new Entry(value, expiry(ttl)));
        });
    }

    @Override
    public boolean delete(String key) {
        Names.text("key", key);
        return locked(() -> {
            Entry e = keys.remove(key);
            return e != null && e.live(now());
        });
    }

    @Override
    public int delete(Collection<String> toDelete) {
        toDelete.forEach(k -> Names.text("key", k));
        return locked(() -> {
            int n = 0;
            for (String k : toDelete) {
                Entry e = keys.remove(k);
                if (e != null && e.live(now())) {
                    n++;
                }
            }
            return n;
        });
    }

    @Override
    public List<String> keys(String prefix) {
        if (prefix == null) {
            throw new InvalidInputException("key prefix must not be null");
        }
        return locked(() -> keys.entrySet().stream()
                .filter(e -> e.getKey().startsWith(prefix) && e.getValue().live(now()))
                .map(Map.Entry::getKey)
                .toList());
    }

    @Override
    public long increment(String key, long delta) {
        Names.text("key", key);
        return locked(() -> {
            Entry e = keys.get(key);
            long current = 0;
            Instant expiresAt = null;
            if (e != null && e.live(now())) {
                try {
                    current = Long.parseLong(e.value);
                } catch (NumberFormatException nfe) {
                    throw new InvalidInputException("key " + key + " does not hold an integer: " + e.value, nfe);
                }
                expiresAt = e.expiresAt;
            }
            long next = Math.addExact(current, delta);
            keys.put(key, new Entry(Long.toString(next), expiresAt));
            return next;
        });
    }

    // ---- locks

    @Override
    public Optional<LockLease> tryLock(String name, String owner, LockMode mode, Duration ttl) {
        checkLock(name, owner, mode, ttl);
        return locked(() -> Optional.ofNullable(grant(name, owner, mode, ttl)));
    }

    @Override
    public LockLease lock(String name, String owner, LockMode mode, Duration ttl, Duration timeout) throws InterruptedException {
        checkLock(name, owner, mode, ttl);
        Names.timeout("lock " + name, timeout);
        long deadline = System.nanoTime() + timeout.toNanos();
        Waiter waiter = new Waiter(owner, name, mode);
        mutex.lockInterruptibly();
        try {
            while (true) {
                LockLease lease = grant(name, owner, mode, ttl);
                if (lease != null) {
                    waits.remove(waiter);
                    return lease;
                }
                waits.put(waiter, now().plus(ttl));
                List<String> cycle = cycleThrough(owner, name, mode);
                if (cycle != null) {
                    waits.remove(waiter);
                    throw new DeadlockException(name, owner, cycle, "deadlock: " + owner + " would wait for lock " + name
                            + " in the cycle " + String.join(" -> ", cycle), null);
                }
                long remaining = deadline - System.nanoTime();
                if (remaining <= 0) {
                    waits.remove(waiter);
                    throw new LockTimeoutException(name, owner, timeout);
                }
                try {
                    // expiry follows the clock, which nothing signals: wake up now and then to look again
                    released.await(Math.min(remaining, WAIT_SLICE.toNanos()), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    waits.remove(waiter);
                    throw e;
                }
            }
        } finally {
            mutex.unlock();
        }
    }

    @Override
    public LockLease renew(LockLease lease, Duration ttl) {
        Names.ttl("lock " + lease.name(), ttl, false);
        return locked(() -> {
            if (!holds(lease)) {
                throw new StaleFencingTokenException(lease.name(), lease.fencingToken(), null);
            }
            LockLease renewed = new LockLease(lease.name(), lease.owner(), lease.mode(), lease.fencingToken(), now().plus(ttl));
            locks.get(lease.name()).put(lease.owner(), renewed);
            return renewed;
        });
    }

    @Override
    public boolean unlock(LockLease lease) {
        return locked(() -> {
            Map<String, LockLease> holders = locks.get(lease.name());
            LockLease held = holders == null ? null : holders.get(lease.owner());
            if (held == null || held.fencingToken() != lease.fencingToken()) {
                return false;
            }
            holders.remove(lease.owner());
            released.signalAll();
            return held.expiresAt().isAfter(now());
        });
    }

    private static void checkLock(String name, String owner, LockMode mode, Duration ttl) {
        Names.text("lock name", name);
        Names.text("lock owner", owner);
        if (mode == null) {
            throw new InvalidInputException("lock mode must not be null (lock " + name + ")");
        }
        Names.ttl("lock " + name, ttl, false);
    }

    /** Under the mutex: grants the lock or returns null. */
    private LockLease grant(String name, String owner, LockMode mode, Duration ttl) {
        Instant now = now();
        Map<String, LockLease> holders = locks.computeIfAbsent(name, n -> new HashMap<>());
        holders.values().removeIf(l -> !l.expiresAt().isAfter(now));
        if (!conflicting(holders, owner, mode).isEmpty()) {
            return null;
        }
        LockLease existing = holders.get(owner);
        long token = existing != null ? existing.fencingToken() : ++fencing;
        LockLease lease = new LockLease(name, owner, mode, token, now.plus(ttl));
        holders.put(owner, lease);
        return lease;
    }

    private static List<String> conflicting(Map<String, LockLease> holders, String owner, LockMode mode) {
        if (holders == null) {
            return List.of();
        }
        return holders.values().stream()
                .filter(l -> !l.owner().equals(owner) && (l.mode() == LockMode.EXCLUSIVE || mode == LockMode.EXCLUSIVE))
                .map(LockLease::owner)
                .sorted()
                .toList();
    }

    /** The same walk as ordo.coord_acquire: from the holders of the wanted lock, through what they wait for, back to owner? */
    private List<String> cycleThrough(String owner, String name, LockMode mode) {
        Instant now = now();
        ArrayDeque<List<String>> paths = new ArrayDeque<>();
        for (String holder : liveConflicting(name, owner, mode, now)) {
            paths.add(List.of(owner, holder));
        }
        while (!paths.isEmpty()) {
            List<String> path = paths.poll();
            String last = path.getLast();
            if (last.equals(owner)) {
                return path;
            }
            for (Map.Entry<Waiter, Instant> w : waits.entrySet()) {
                if (!w.getKey().owner().equals(last) || !w.getValue().isAfter(now)) {
                    continue;
                }
                for (String holder : liveConflicting(w.getKey().lockName(), last, w.getKey().mode(), now)) {
                    if (!path.subList(1, path.size()).contains(holder)) {
                        List<String> longer = new ArrayList<>(path);
                        longer.add(holder);
                        paths.add(longer);
                    }
                }
            }
        }
        return null;
    }

    private List<String> liveConflicting(String name, String owner, LockMode mode, Instant now) {
        Map<String, LockLease> holders = locks.get(name);
        if (holders == null) {
            return List.of();
        }
        Map<String, LockLease> live = new HashMap<>(holders);
        live.values().removeIf(l -> !l.expiresAt().isAfter(now));
        return conflicting(live, owner, mode);
    }

    private boolean holds(LockLease lease) {
        Map<String, LockLease> holders = locks.get(lease.name());
        LockLease held = holders == null ? null : holders.get(lease.owner());
        return held != null && held.fencingToken() == lease.fencingToken() && held.expiresAt().isAfter(now());
    }

    // ---- nodes

    @Override
    public void register(NodeInfo node, long configVersion) {
        locked(() -> nodes.put(node.id(), new ClusterNode(node, NodeStatus.ACTIVE, configVersion, now(), now())));
    }

    @Override
    public NodeStatus heartbeat(String nodeId, long configVersion) {
        Names.nodeId(nodeId);
        return locked(() -> {
            ClusterNode n = nodes.get(nodeId);
            if (n == null || n.status() == NodeStatus.DOWN) {
                return NodeStatus.DOWN;
            }
            boolean revived = n.status() == NodeStatus.SUSPECT;
            ClusterNode beat = new ClusterNode(n.info(), revived ? NodeStatus.ACTIVE : n.status(), configVersion, now(),
                    revived ? now() : n.statusChangedAt());
            nodes.put(nodeId, beat);
            return beat.status();
        });
    }

    @Override
    public boolean updateMetadata(String nodeId, Map<String, String> metadata) {
        return locked(() -> {
            ClusterNode n = nodes.get(nodeId);
            if (n == null) {
                return false;
            }
            nodes.put(nodeId, new ClusterNode(n.info().withMetadata(metadata), n.status(), n.configVersion(),
                    n.heartbeatAt(), n.statusChangedAt()));
            return true;
        });
    }

    @Override
    public boolean drain(String nodeId) {
        return locked(() -> {
            ClusterNode n = nodes.get(nodeId);
            if (n == null || n.status() == NodeStatus.DOWN) {
                return false;
            }
            nodes.put(nodeId, new ClusterNode(n.info(), NodeStatus.DRAINING, n.configVersion(), n.heartbeatAt(), now()));
            return true;
        });
    }

    @Override
    public boolean deregister(String nodeId) {
        return locked(() -> nodes.remove(nodeId) != null);
    }

    @Override
    public List<ClusterNode> nodes() {
        return locked(() -> List.copyOf(nodes.values()));
    }

    @Override
    public Optional<ClusterNode> node(String nodeId) {
        return locked(() -> Optional.ofNullable(nodes.get(nodeId)));
    }

    @Override
    public List<NodeStatusChange> markStaleNodes(long leaderTerm) {
        List<NodeStatusChange> changes = locked(() -> {
            if (leader == null || leader.term() != leaderTerm) {
                throw new StaleTermException(leaderTerm, "leader term " + leaderTerm + " is stale: the current term is " + term
                        + (leader == null ? " and nobody leads" : " (node " + leader.nodeId() + ")"), null);
            }
            Instant now = now();
            List<NodeStatusChange> out = new ArrayList<>();
            for (ClusterNode n : List.copyOf(nodes.values())) {
                if (n.status() == NodeStatus.DOWN) {
                    continue;
                }
                Duration silent = Duration.between(n.heartbeatAt(), now);
                Duration interval = n.info().heartbeatInterval();
                NodeStatus next = silent.compareTo(interval.multipliedBy(3)) > 0 ? NodeStatus.DOWN
                        : n.status() != NodeStatus.DRAINING && silent.compareTo(interval.multipliedBy(2)) > 0 ? NodeStatus.SUSPECT
                        : null;
                if (next != null && next != n.status()) {
                    nodes.put(n.id(), new ClusterNode(n.info(), next, n.configVersion(), n.heartbeatAt(), now));
                    out.add(new NodeStatusChange(n.id(), next));
                }
            }
            return out;
        });
        for (NodeStatusChange c : changes) {
            publish(NODE_STATUS_CHANNEL, "{\"node_id\": \"" + c.nodeId() + "\", \"status\": \"" + c.status().sql()
                    + "\", \"term\": " + leaderTerm + "}");
        }
        return changes;
    }

    // ---- leader election

    @Override
    public Optional<Leadership> tryAcquireLeadership(String nodeId) {
        Names.nodeId(nodeId);
        return locked(() -> {
            if (leader == null) {
                leader = new Leadership(nodeId, ++term, now());
            }
            return leader.nodeId().equals(nodeId) ? Optional.of(leader) : Optional.empty();
        });
    }

    @Override
    public boolean holdsLeadership(Leadership leadership) {
        return locked(() -> leadership.equals(leader));
    }

    @Override
    public void releaseLeadership(Leadership leadership) {
        locked(() -> {
            if (leadership.equals(leader)) {
                leader = null;
            }
            return null;
        });
    }

    /** Simulates the loss of the leader's session: nobody leads until the next election. */
    public void loseLeadership() {
        locked(() -> leader = null);
    }

    @Override
    public Optional<Leadership> leader() {
        return locked(() -> Optional.ofNullable(leader));
    }

    // ---- health

    @Override
    public CoordinationHealth health() {
        return new CoordinationHealth(true, Duration.ZERO, "ok");
    }

    @Override
    public CoordinationStats stats() {
        return locked(() -> {
            Instant now = now();
            long liveKeys = keys.values().stream().filter(e -> e.live(now)).count();
            long held = locks.values().stream().flatMap(m -> m.values().stream()).filter(l -> l.expiresAt().isAfter(now)).count();
            long waiting = waits.values().stream().filter(t -> t.isAfter(now)).count();
            long live = nodes.values().stream().filter(n -> n.status() != NodeStatus.DOWN).count();
            return new CoordinationStats(liveKeys, held, waiting, live, subscribers.count(), published.get(), subscribers.delivered());
        });
    }

    @Override
    public void close() {
        subscribers.close();
    }

    private Instant now() {
        return clock.instant();
    }

    private Instant expiry(Duration ttl) {
        return ttl == null ? null : now().plus(ttl);
    }

    private <T> T locked(java.util.function.Supplier<T> body) {
        mutex.lock();
        try {
            return body.get();
        } finally {
            mutex.unlock();
        }
    }
}

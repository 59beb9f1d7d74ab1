package io.ordo.coordination;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * What Ordo's services need from the cluster: publish/subscribe, keys with TTL, locks with fencing tokens,
 * the node registry, leader election, health and stats.
 * <p>
 * Two implementations pass one contract test suite: {@link PostgresCoordination} for production (everything
 * lives in PostgreSQL) and {@link InMemoryCoordination} for fast unit tests.
 * <p>
 * <b>Time.</b> Every TTL and expiry is computed from the {@link java.time.Clock} the implementation was
 * built with, so tests can move time with a settable clock. Timeouts of blocking calls are real elapsed time.
 * <p>
 * <b>Names.</b> Channels match {@code ^[a-z][a-z0-9_.]{0,62}$}; keys, lock names and owners are 1 to 512
 * characters. Invalid input throws {@link io.ordo.InvalidInputException} and changes nothing.
 */
public interface Coordination extends AutoCloseable {
    /** Channel on which config changes are announced, payload {@code {"key", "version"}}. */
    String CONFIG_CHANNEL = "ordo.config";
    /** Channel on which the leader announces node status changes, payload {@code {"node_id", "status", "term"}}. */
    String NODE_STATUS_CHANNEL = "ordo.node_status";
    /** Channel on which a leader that steps down says so, payload its node id: the other candidates run at once. */
    String LEADER_STEPPED_DOWN_CHANNEL = "ordo.leader_stepped_down";

    // ---- publish / subscribe ------------------------------------------------------------------------------

    /**
     * Sends {@code payload} (at most 7,999 bytes) to every current subscriber of {@code channel}, on every node.
     * Delivery is best effort and at most once: a subscriber that is disconnected at the time misses it.
     */
    void publish(String channel, String payload);

    /**
     * Calls {@code handler} with the payload of every message published on {@code channel} from now on, on
     * this instance's single delivery thread (handlers must return quickly). Once this method returns the
     * subscription is active.
     */
    Subscription subscribe(String channel, Consumer<String> handler);

    // ---- keys with TTL ------------------------------------------------------------------------------------

    /** The key's value, unless it is absent or expired. */
    Optional<String> get(String key);

    /** Sets the key; {@code ttl} null means it never expires. */
    void set(String key, String value, Duration ttl);

    /** Sets a key that never expires. */
    default void set(String key, String value) {
        set(key, value, null);
    }

    /** Sets the key only if it is absent or expired; returns whether it did. */
    boolean setIfAbsent(String key, String value, Duration ttl);

    /**
     * Sets the key only while {@code fence} still holds its lock, atomically with that check.
     *
     * @throws StaleFencingTokenException if the lease expired or was released; nothing is written
     */
    void setFenced(LockLease fence, String key, String value, Duration ttl);

    /** Deletes the key; returns whether a live value was deleted. */
    boolean delete(String key);

    /** Deletes the keys; returns how many live values were deleted. */
    int delete(Collection<String> keys);

    /** Live keys that start with {@code prefix}, sorted. */
    List<String> keys(String prefix);

    /**
     * Adds {@code delta} to the key's integer value atomically (an absent key counts as 0 and is created
     * without expiry; a live key keeps its expiry). Returns the new value.
     *
     * @throws io.ordo.InvalidInputException if the value is not an integer
     */
    long increment(String key, long delta);

    // ---- locks ----------------------------------------------------------------------------------------------

    /**
     * Takes the lock if no other owner holds it in a conflicting mode (exclusive conflicts with everything,
     * shared with exclusive). An owner that already holds the lock gets it renewed with the new mode and
     * {@code ttl}, under the same fencing token. Returns empty without waiting otherwise.
     */
    Optional<LockLease> tryLock(String name, String owner, LockMode mode, Duration ttl);

    /**
     * Takes the lock, waiting up to {@code timeout} for it.
     *
     * @throws DeadlockException      if waiting would close a cycle of waiters; this caller is the victim
     * @throws LockTimeoutException   if the timeout passed first
     * @throws InterruptedException   if interrupted while waiting (the request is withdrawn)
     */
    LockLease lock(String name, String owner, LockMode mode, Duration ttl, Duration timeout) throws InterruptedException;

    /**
     * Extends the lease to {@code ttl} from now, keeping its fencing token.
     *
     * @throws StaleFencingTokenException if it has expired or been released
     */
    LockLease renew(LockLease lease, Duration ttl);

    /** Releases the lease; returns false if it had already expired or been released. */
    boolean unlock(LockLease lease);

    // ---- nodes ----------------------------------------------------------------------------------------------

    /** Registers the node as active (again, if it was registered before), reporting its config version. */
    void register(NodeInfo node, long configVersion);

    /**
     * Records a heartbeat and the config version the node runs, in one statement. Returns the node's status:
     * {@link NodeStatus#DOWN} when the cluster has declared it down or it is not registered, in which case it
     * must {@link #register} again.
     */
    NodeStatus heartbeat(String nodeId, long configVersion);

    /** Replaces the node's metadata; returns false if it is not registered. */
    boolean updateMetadata(String nodeId, Map<String, String> metadata);

    /** Marks the node draining: it is stopping and finishing what it holds. Returns false if it is not registered. */
    boolean drain(String nodeId);

    /** Removes the node from the registry; returns whether it was registered. */
    boolean deregister(String nodeId);

    /** Every registered node, down ones included, sorted by id. */
    List<ClusterNode> nodes();

    /** Registered nodes that are not down (active, suspect or draining), sorted by id; SQL: {@code ordo.active_nodes}. */
    default List<ClusterNode> activeNodes() {
        return nodes().stream().filter(n -> n.status() != NodeStatus.DOWN).toList();
    }

    Optional<ClusterNode> node(String nodeId);

    /**
     * A leader duty: marks nodes suspect after 2 missed heartbeat intervals and down after 3 (draining nodes
     * go down directly) and publishes every change on {@link #NODE_STATUS_CHANNEL}. Returns the changes.
     *
     * @throws StaleTermException if {@code term} is not the current leader's
     */
    List<NodeStatusChange> markStaleNodes(long term);

    // ---- leader election ------------------------------------------------------------------------------------

    /**
     * Tries to become leader for {@code nodeId}. On success a new term begins (the previous term plus one).
     * Returns the leadership, the current one if this instance already leads for that node, or empty while
     * someone else leads.
     */
    Optional<Leadership> tryAcquireLeadership(String nodeId);

    /**
     * Whether this instance still holds that leadership. Becomes false as soon as the leadership is lost
     * (released, or its database session ended) and never becomes true again for that term.
     */
    boolean holdsLeadership(Leadership leadership);

    /** Gives up the leadership so that another node can be elected. Does nothing if it is already lost. */
    void releaseLeadership(Leadership leadership);

    /** The current leader of the cluster, if any. */
    Optional<Leadership> leader();

    // ---- health --------------------------------------------------------------------------------------------

    CoordinationHealth health();

    CoordinationStats stats();

    /** Stops delivery, releases leadership held by this instance and closes its own connections. */
    @Override
    void close();
}

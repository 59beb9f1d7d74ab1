package io.ordo.coordination;

import io.ordo.testing.SettableClock;

import io.ordo.InvalidInputException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The behaviour every {@link Coordination} must have. Subclasses supply the implementation; time is a
 * {@link SettableClock}, so TTL tests move the clock instead of sleeping.
 */
abstract class CoordinationContract {
    private static final Duration LONG_TTL = Duration.ofMinutes(5);

    protected final SettableClock clock = SettableClock.startingNow();
    protected Coordination coordination;
    private final List<Leadership> leaderships = new ArrayList<>();
    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
    private String prefix;

    /** A fresh implementation using {@code clock}; closed after each test. */
    protected abstract Coordination create(Clock clock);

    @BeforeEach
    void open(TestInfo test) {
        coordination = create(clock);
        prefix = test.getTestMethod().orElseThrow().getName() + "-" + UUID.randomUUID().toString().substring(0, 6) + "-";
    }

    @AfterEach
    void closeIt() {
        leaderships.forEach(coordination::releaseLeadership);
        threads.shutdownNow();
        coordination.close();
    }

    private String name(String suffix) {
        return prefix + suffix;
    }

    private Leadership lead(String nodeId) {
        Leadership l = coordination.tryAcquireLeadership(nodeId).orElseThrow();
        leaderships.add(l);
        return l;
    }

    // ---- publish / subscribe

    @Test
    void published_message_reaches_every_subscriber_of_its_channel_and_no_other() {
        String channel = "test.pubsub_" + UUID.randomUUID().toString().substring(0, 8);
        List<String> first = new CopyOnWriteArrayList<>();
        List<String> second = new CopyOnWriteArrayList<>();
        List<String> other = new CopyOnWriteArrayList<>();
        coordination.subscribe(channel, first::add);
        coordination.subscribe(channel, second::add);
        coordination.subscribe(channel + "_other", other::add);

        coordination.publish(channel, "{\"n\": 1}");
        coordination.publish(channel, "second");

        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertThat(first).containsExactly("{\"n\": 1}", "second");
            assertThat(second).containsExactly("{\"n\": 1}", "second");
        });
        assertThat(other).isEmpty();
    }

    @Test
    void closed_subscription_receives_nothing_more() {
        String channel = "test.unsub_" + UUID.randomUUID().toString().substring(0, 8);
        List<String> closed = new CopyOnWriteArrayList<>();
        List<String> open = new CopyOnWriteArrayList<>();
        Subscription subscription = coordination.subscribe(channel, closed::add);
        coordination.subscribe(channel, open::add);
        coordination.publish(channel, "before");
        await().atMost(Duration.ofSeconds(5)).until(() -> closed.size() == 1 && open.size() == 1);

        subscription.close();
        coordination.publish(channel, "after");

        await().atMost(Duration.ofSeconds(5)).until(() -> open.size() == 2);
        assertThat(closed).containsExactly("before");
    }

    @Test
    void publish_refuses_bad_channel_names_and_oversized_payloads() {
        assertThatThrownBy(() -> coordination.publish("Bad Channel", "x")).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("channel must match");
        assertThatThrownBy(() -> coordination.subscribe("x\"; drop table", s -> { })).isInstanceOf(InvalidInputException.class);
        assertThatThrownBy(() -> coordination.publish("test.big", "x".repeat(8000))).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("at most 7999");
    }

    // ---- keys

    @Test
    void key_can_be_set_read_overwritten_and_deleted() {
        String key = name("k");
        assertThat(coordination.get(key)).isEmpty();
        coordination.set(key, "one");
        assertThat(coordination.get(key)).contains("one");
        coordination.set(key, "two", LONG_TTL);
        assertThat(coordination.get(key)).contains("two");

        assertThat(coordination.delete(key)).isTrue();
        assertThat(coordination.delete(key)).isFalse();
        assertThat(coordination.get(key)).isEmpty();
    }

    @Test
    void key_expires_when_the_clock_passes_its_ttl() {
        String key = name("ttl");
        coordination.set(key, "v", Duration.ofSeconds(10));

        clock.advance(Duration.ofSeconds(9));
        assertThat(coordination.get(key)).contains("v");
        clock.advance(Duration.ofSeconds(1));
        assertThat(coordination.get(key)).isEmpty();
        assertThat(coordination.keys(prefix)).doesNotContain(key);
        assertThat(coordination.delete(key)).as("an expired key does not count as deleted").isFalse();
    }

    @Test
    void set_if_absent_writes_only_an_absent_or_expired_key() {
        String key = name("nx");
        assertThat(coordination.setIfAbsent(key, "first", Duration.ofSeconds(5))).isTrue();
        assertThat(coordination.setIfAbsent(key, "second", Duration.ofSeconds(5))).isFalse();
        assertThat(coordination.get(key)).contains("first");

        clock.advance(Duration.ofSeconds(5));
        assertThat(coordination.setIfAbsent(key, "third", null)).isTrue();
        assertThat(coordination.get(key)).contains("third");
        clock.advance(Duration.ofDays(365));
        assertThat(coordination.setIfAbsent(key, "fourth", null)).as("no ttl: never expires").isFalse();
    }

    @Test
    void delete_many_counts_only_the_live_keys_it_removed() {
        coordination.set(name("a"), "1");
        coordination.set(name("b"), "2", Duration.ofSeconds(1));
        coordination.set(name("c"), "3");
        clock.advance(Duration.ofSeconds(2));

        assertThat(coordination.delete(List.of(name("a"), name("b"), name("missing")))).isEqualTo(1);
        assertThat(coordination.keys(prefix)).containsExactly(name("c"));
    }

    @Test
    void keys_by_prefix_lists_live_keys_sorted_and_treats_wildcards_literally() {
        coordination.set(name("job_2"), "x");
        coordination.set(name("job_1"), "x");
        coordination.set(name("jobX1"), "x");
        coordination.set(name("job%"), "x");
        coordination.set(name("job_3"), "x", Duration.ofSeconds(1));
        coordination.set(name("other"), "x");
        clock.advance(Duration.ofSeconds(1));

        assertThat(coordination.keys(name("job_"))).containsExactly(name("job_1"), name("job_2"));
        assertThat(coordination.keys(name("job%"))).containsExactly(name("job%"));
    }

    @Test
    void increment_is_atomic_under_concurrency_and_keeps_the_ttl() throws Exception {
        String key = name("counter");
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            futures.add(threads.submit(() -> {
                for (int i = 0; i < 25; i++) {
                    coordination.increment(key, 1);
                }
                return null;
            }));
        }
        for (Future<?> f : futures) {
            f.get(30, TimeUnit.SECONDS);
        }
        assertThat(coordination.get(key)).contains("200");
        assertThat(coordination.increment(key, -50)).isEqualTo(150);

        String expiring = name("expiring");
        coordination.set(expiring, "41", Duration.ofSeconds(10));
        assertThat(coordination.increment(expiring, 1)).isEqualTo(42);
        clock.advance(Duration.ofSeconds(10));
        assertThat(coordination.get(expiring)).as("the ttl survives the increment").isEmpty();
        assertThat(coordination.increment(expiring, 5)).as("an expired counter starts again from 0").isEqualTo(5);

        coordination.set(name("text"), "not a number");
        assertThatThrownBy(() -> coordination.increment(name("text"), 1)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining(name("text"));
        assertThat(coordination.get(name("text"))).contains("not a number");
    }

    // ---- locks

    @Test
    void exclusive_lock_excludes_other_owners_until_released() {
        String lock = name("lock");
        LockLease a = coordination.tryLock(lock, "A", LockMode.EXCLUSIVE, LONG_TTL).orElseThrow();
        assertThat(a.owner()).isEqualTo("A");
        assertThat(a.expiresAt()).isEqualTo(clock.instant().plus(LONG_TTL));

        assertThat(coordination.tryLock(lock, "B", LockMode.EXCLUSIVE, LONG_TTL)).isEmpty();
        assertThat(coordination.tryLock(lock, "B", LockMode.SHARED, LONG_TTL)).isEmpty();

        assertThat(coordination.unlock(a)).isTrue();
        assertThat(coordination.unlock(a)).as("second release").isFalse();
        assertThat(coordination.tryLock(lock, "B", LockMode.EXCLUSIVE, LONG_TTL)).isPresent();
    }

    @Test
    void shared_locks_coexist_and_exclude_an_exclusive_one() {
        String lock = name("rw");
        LockLease r1 = coordination.tryLock(lock, "reader-1", LockMode.SHARED, LONG_TTL).orElseThrow();
        LockLease r2 = coordination.tryLock(lock, "reader-2", LockMode.SHARED, LONG_TTL).orElseThrow();
        assertThat(coordination.tryLock(lock, "writer", LockMode.EXCLUSIVE, LONG_TTL)).isEmpty();

        coordination.unlock(r1);
        assertThat(coordination.tryLock(lock, "writer", LockMode.EXCLUSIVE, LONG_TTL)).isEmpty();
        coordination.unlock(r2);
        assertThat(coordination.tryLock(lock, "writer", LockMode.EXCLUSIVE, LONG_TTL)).isPresent();
        assertThat(coordination.tryLock(lock, "reader-3", LockMode.SHARED, LONG_TTL)).isEmpty();
    }

    @Test
    void relocking_by_the_same_owner_renews_it_under_the_same_fencing_token() {
        String lock = name("again");
        LockLease first = coordination.tryLock(lock, "A", LockMode.EXCLUSIVE, Duration.ofSeconds(10)).orElseThrow();
        clock.advance(Duration.ofSeconds(5));
        LockLease second = coordination.tryLock(lock, "A", LockMode.EXCLUSIVE, Duration.ofSeconds(10)).orElseThrow();

        assertThat(second.fencingToken()).isEqualTo(first.fencingToken());
        assertThat(second.expiresAt()).isEqualTo(clock.instant().plusSeconds(10));
    }

    @Test
    void expired_lock_passes_to_the_next_owner_with_a_larger_fencing_token() {
        String lock = name("lease");
        LockLease a = coordination.tryLock(lock, "A", LockMode.EXCLUSIVE, Duration.ofSeconds(10)).orElseThrow();
        clock.advance(Duration.ofSeconds(9));
        assertThat(coordination.tryLock(lock, "B", LockMode.EXCLUSIVE, Duration.ofSeconds(10))).isEmpty();

        clock.advance(Duration.ofSeconds(1));
        LockLease b = coordination.tryLock(lock, "B", LockMode.EXCLUSIVE, Duration.ofSeconds(10)).orElseThrow();
        assertThat(b.fencingToken()).isGreaterThan(a.fencingToken());
        assertThat(coordination.unlock(a)).as("A's lease is gone").isFalse();
    }

    @Test
    void write_under_a_stale_fencing_token_is_refused_and_changes_nothing() {
        String lock = name("fenced");
        String key = name("resource");
        LockLease a = coordination.tryLock(lock, "A", LockMode.EXCLUSIVE, Duration.ofSeconds(10)).orElseThrow();
        coordination.setFenced(a, key, "written by A", null);
        a = coordination.renew(a, Duration.ofSeconds(10));

        clock.advance(Duration.ofSeconds(11));
        LockLease b = coordination.tryLock(lock, "B", LockMode.EXCLUSIVE, Duration.ofSeconds(10)).orElseThrow();
        coordination.setFenced(b, key, "written by B", null);

        LockLease stale = a;
        assertThatThrownBy(() -> coordination.setFenced(stale, key, "late write by A", null))
                .isInstanceOf(StaleFencingTokenException.class)
                .satisfies(e -> assertThat(((StaleFencingTokenException) e).fencingToken()).isEqualTo(stale.fencingToken()));
        assertThatThrownBy(() -> coordination.renew(stale, Duration.ofSeconds(10))).isInstanceOf(StaleFencingTokenException.class);
        assertThat(coordination.get(key)).contains("written by B");

        coordination.unlock(b);
        assertThatThrownBy(() -> coordination.setFenced(b, key, "after release", null)).isInstanceOf(StaleFencingTokenException.class);
    }

    @Test
    void blocking_lock_is_granted_as_soon_as_the_holder_releases() throws Exception {
        String lock = name("wait");
        LockLease a = coordination.tryLock(lock, "A", LockMode.EXCLUSIVE, LONG_TTL).orElseThrow();
        Future<LockLease> b = threads.submit(() -> coordination.lock(lock, "B", LockMode.EXCLUSIVE, LONG_TTL, Duration.ofSeconds(20)));
        await().atMost(Duration.ofSeconds(5)).until(() -> coordination.stats().waitingLockRequests() == 1);
        assertThat(b).isNotDone();

        coordination.unlock(a);

        LockLease granted = b.get(5, TimeUnit.SECONDS);
        assertThat(granted.owner()).isEqualTo("B");
        assertThat(granted.fencingToken()).isGreaterThan(a.fencingToken());
        assertThat(coordination.stats().waitingLockRequests()).isZero();
    }

    @Test
    void blocking_lock_gives_up_with_a_timeout_exception_and_withdraws_its_request() {
        String lock = name("timeout");
        coordination.tryLock(lock, "A", LockMode.EXCLUSIVE, LONG_TTL).orElseThrow();

        assertThatThrownBy(() -> coordination.lock(lock, "B", LockMode.SHARED, LONG_TTL, Duration.ofMillis(200)))
                .isInstanceOf(LockTimeoutException.class)
                .satisfies(e -> assertThat(((LockTimeoutException) e).lockName()).isEqualTo(lock));
        assertThat(coordination.stats().waitingLockRequests()).isZero();
    }

    @Test
    void two_parties_waiting_for_each_other_get_one_deadlock_exception_promptly_and_the_other_proceeds() throws Exception {
        String x = name("x");
        String y = name("y");
        coordination.tryLock(x, "A", LockMode.EXCLUSIVE, LONG_TTL).orElseThrow();
        LockLease bHoldsY = coordination.tryLock(y, "B", LockMode.EXCLUSIVE, LONG_TTL).orElseThrow();
        Future<LockLease> aWantsY = threads.submit(() -> coordination.lock(y, "A", LockMode.EXCLUSIVE, LONG_TTL, Duration.ofSeconds(20)));
        await().atMost(Duration.ofSeconds(5)).until(() -> coordination.stats().waitingLockRequests() == 1);

        long start = System.nanoTime();
        assertThatThrownBy(() -> coordination.lock(x, "B", LockMode.EXCLUSIVE, LONG_TTL, Duration.ofSeconds(20)))
                .isInstanceOf(DeadlockException.class)
                .satisfies(e -> {
                    DeadlockException d = (DeadlockException) e;
                    assertThat(d.lockName()).isEqualTo(x);
                    assertThat(d.owner()).isEqualTo("B");
                    assertThat(d.cycle()).containsExactly("B", "A", "B");
                });
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));

        // the victim releases what it holds; the other party gets its lock
        coordination.unlock(bHoldsY);
        assertThat(aWantsY.get(5, TimeUnit.SECONDS).owner()).isEqualTo("A");
    }

    @Test
    void shared_waiters_do_not_deadlock_with_each_other() throws Exception {
        String x = name("x");
        String y = name("y");
        LockLease ax = coordination.tryLock(x, "A", LockMode.SHARED, LONG_TTL).orElseThrow();
        coordination.tryLock(y, "B", LockMode.SHARED, LONG_TTL).orElseThrow();

        assertThat(coordination.lock(y, "A", LockMode.SHARED, LONG_TTL, Duration.ofSeconds(1))).isNotNull();
        assertThat(coordination.lock(x, "B", LockMode.SHARED, LONG_TTL, Duration.ofSeconds(1))).isNotNull();
        assertThat(coordination.unlock(ax)).isTrue();
    }

    // ---- nodes

    private NodeInfo node(String id, NodeRole role, Duration heartbeat) {
        return new NodeInfo(id, role, role == NodeRole.WORKER ? List.of("fulfillment", "inventory") : List.of(),
                "host-" + id, "1.2.3", clock.instant(), heartbeat, Map.of("zone", "a"));
    }

    @Test
    void node_registers_heartbeats_and_is_listed_with_its_role_and_config_version() {
        String id = name("worker");
        NodeInfo info = node(id, NodeRole.WORKER, Duration.ofSeconds(5));
        coordination.register(info, 3);

        ClusterNode listed = coordination.node(id).orElseThrow();
        assertThat(listed.info()).isEqualTo(info);
        assertThat(listed.status()).isEqualTo(NodeStatus.ACTIVE);
        assertThat(listed.configVersion()).isEqualTo(3);
        assertThat(listed.heartbeatAt()).isEqualTo(clock.instant());

        clock.advance(Duration.ofSeconds(5));
        assertThat(coordination.heartbeat(id, 4)).isEqualTo(NodeStatus.ACTIVE);
        assertThat(coordination.node(id).orElseThrow().configVersion()).isEqualTo(4);
        assertThat(coordination.node(id).orElseThrow().heartbeatAt()).isEqualTo(clock.instant());

        assertThat(coordination.updateMetadata(id, Map.of("zone", "b", "pod", "p-1"))).isTrue();
        assertThat(coordination.node(id).orElseThrow().info().metadata()).containsExactlyInAnyOrderEntriesOf(Map.of("zone", "b", "pod", "p-1"));
        assertThat(coordination.nodes()).extracting(ClusterNode::id).contains(id);
    }

    @Test
    void node_that_stops_cleanly_drains_then_leaves() {
        String id = name("orchestrator");
        coordination.register(node(id, NodeRole.ORCHESTRATOR, Duration.ofSeconds(5)), 0);

        assertThat(coordination.drain(id)).isTrue();
        assertThat(coordination.node(id).orElseThrow().status()).isEqualTo(NodeStatus.DRAINING);
        assertThat(coordination.heartbeat(id, 0)).as("draining nodes keep beating").isEqualTo(NodeStatus.DRAINING);

        assertThat(coordination.deregister(id)).isTrue();
        assertThat(coordination.node(id)).isEmpty();
        assertThat(coordination.heartbeat(id, 0)).as("unknown node must register again").isEqualTo(NodeStatus.DOWN);
        assertThat(coordination.deregister(id)).isFalse();
    }

    @Test
    void leader_marks_nodes_suspect_after_two_missed_heartbeats_and_down_after_three_and_publishes_it() {
        Leadership leader = lead(name("leader"));
        List<String> announced = new CopyOnWriteArrayList<>();
        coordination.subscribe(Coordination.NODE_STATUS_CHANNEL, announced::add);
        String quiet = name("quiet");
        String lively = name("lively");
        coordination.register(node(quiet, NodeRole.WORKER, Duration.ofSeconds(1)), 0);
        coordination.register(node(lively, NodeRole.DLQ, Duration.ofSeconds(1)), 0);

        clock.advance(Duration.ofMillis(2000));
        assertThat(mine(coordination.markStaleNodes(leader.term()))).as("exactly 2 intervals is not yet 2 missed").isEmpty();

        clock.advance(Duration.ofMillis(500));
        coordination.heartbeat(lively, 0);
        assertThat(mine(coordination.markStaleNodes(leader.term()))).containsExactly(new NodeStatusChange(quiet, NodeStatus.SUSPECT));

        clock.advance(Duration.ofMillis(1000));
        assertThat(mine(coordination.markStaleNodes(leader.term()))).containsExactly(new NodeStatusChange(quiet, NodeStatus.DOWN));
        assertThat(coordination.node(quiet).orElseThrow().status()).isEqualTo(NodeStatus.DOWN);
        assertThat(coordination.node(lively).orElseThrow().status()).isEqualTo(NodeStatus.ACTIVE);
        assertThat(coordination.activeNodes()).extracting(ClusterNode::id).contains(lively).doesNotContain(quiet);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(announced)
                .anySatisfy(p -> assertThat(p).contains(quiet).contains("\"suspect\""))
                .anySatisfy(p -> assertThat(p).contains(quiet).contains("\"down\"").contains("\"term\": " + leader.term())));

        assertThat(coordination.heartbeat(quiet, 0)).as("a down node stays down").isEqualTo(NodeStatus.DOWN);
        coordination.register(node(quiet, NodeRole.WORKER, Duration.ofSeconds(1)), 0);
        assertThat(coordination.node(quiet).orElseThrow().status()).isEqualTo(NodeStatus.ACTIVE);
    }

    @Test
    void suspect_node_that_heartbeats_again_is_active() {
        Leadership leader = lead(name("leader"));
        String id = name("flaky");
        coordination.register(node(id, NodeRole.WORKER, Duration.ofSeconds(1)), 0);
        clock.advance(Duration.ofMillis(2500));
        assertThat(mine(coordination.markStaleNodes(leader.term()))).containsExactly(new NodeStatusChange(id, NodeStatus.SUSPECT));

        assertThat(coordination.heartbeat(id, 0)).isEqualTo(NodeStatus.ACTIVE);
        assertThat(mine(coordination.markStaleNodes(leader.term()))).isEmpty();
    }

    private List<NodeStatusChange> mine(List<NodeStatusChange> changes) {
        return changes.stream().filter(c -> c.nodeId().startsWith(prefix)).toList();
    }

    // ---- leader election

    @Test
    void one_node_leads_at_a_time_and_every_election_increments_the_term() {
        String n1 = name("n1");
        String n2 = name("n2");
        Leadership first = lead(n1);
        assertThat(first.nodeId()).isEqualTo(n1);
        assertThat(first.since()).isEqualTo(clock.instant());
        assertThat(coordination.tryAcquireLeadership(n2)).isEmpty();
        assertThat(coordination.tryAcquireLeadership(n1)).as("no new election while it leads").contains(first);
        assertThat(coordination.leader()).contains(first);
        assertThat(coordination.holdsLeadership(first)).isTrue();

        coordination.releaseLeadership(first);
        assertThat(coordination.holdsLeadership(first)).isFalse();
        assertThat(coordination.leader()).isEmpty();

        Leadership second = lead(n2);
        assertThat(second.term()).isEqualTo(first.term() + 1);
        assertThat(coordination.leader()).contains(second);
        assertThat(coordination.holdsLeadership(first)).as("an old term never comes back").isFalse();

        coordination.releaseLeadership(second);
        Leadership third = lead(n1);
        assertThat(third.term()).isEqualTo(second.term() + 1);
    }

    @Test
    void leader_duty_under_a_stale_term_is_refused() {
        Leadership old = lead(name("old"));
        coordination.releaseLeadership(old);
        assertThatThrownBy(() -> coordination.markStaleNodes(old.term()))
                .as("nobody leads").isInstanceOf(StaleTermException.class);

        Leadership current = lead(name("new"));
        assertThatThrownBy(() -> coordination.markStaleNodes(old.term()))
                .isInstanceOf(StaleTermException.class)
                .satisfies(e -> assertThat(((StaleTermException) e).term()).isEqualTo(old.term()));
        assertThat(coordination.markStaleNodes(current.term())).isNotNull();
    }

    // ---- health and stats

    @Test
    void health_is_up_and_stats_count_live_keys_locks_and_nodes() {
        assertThat(coordination.health().up()).isTrue();
        CoordinationStats before = coordination.stats();

        coordination.set(name("k1"), "v");
        coordination.set(name("k2"), "v", Duration.ofSeconds(1));
        coordination.tryLock(name("l"), "A", LockMode.SHARED, Duration.ofSeconds(1));
        coordination.tryLock(name("l"), "B", LockMode.SHARED, LONG_TTL);
        coordination.register(node(name("n"), NodeRole.WORKER, Duration.ofHours(1)), 0);
        Subscription s = coordination.subscribe("test.stats", p -> { });

        CoordinationStats after = coordination.stats();
        assertThat(after.liveKeys() - before.liveKeys()).isEqualTo(2);
        assertThat(after.heldLocks() - before.heldLocks()).isEqualTo(2);
        assertThat(after.nodes() - before.nodes()).isEqualTo(1);
        assertThat(after.subscriptions() - before.subscriptions()).isEqualTo(1);

        clock.advance(Duration.ofSeconds(1));
        CoordinationStats later = coordination.stats();
        assertThat(later.liveKeys() - before.liveKeys()).isEqualTo(1);
        assertThat(later.heldLocks() - before.heldLocks()).isEqualTo(1);

        coordination.publish("test.stats", "x");
        assertThat(coordination.stats().published()).isEqualTo(before.published() + 1);
        s.close();
    }

    @Test
    void invalid_arguments_are_refused_before_anything_changes() {
        assertThatThrownBy(() -> coordination.set("", "v")).isInstanceOf(InvalidInputException.class);
        assertThatThrownBy(() -> coordination.set(name("k"), "v", Duration.ZERO)).isInstanceOf(InvalidInputException.class);
        assertThatThrownBy(() -> coordination.tryLock(name("l"), "A", LockMode.EXCLUSIVE, Duration.ofSeconds(-1)))
                .isInstanceOf(InvalidInputException.class);
        assertThatThrownBy(() -> coordination.tryLock(name("l"), "A", null, LONG_TTL)).isInstanceOf(InvalidInputException.class);
        assertThatThrownBy(() -> new NodeInfo("bad id!", NodeRole.WORKER, List.of(), "h", "v", Instant.now(), Duration.ofSeconds(1), Map.of()))
                .isInstanceOf(InvalidInputException.class);
        assertThatThrownBy(() -> new NodeInfo("ok", NodeRole.WORKER, List.of("Bad-NS"), "h", "v", Instant.now(), Duration.ofSeconds(1), Map.of()))
                .isInstanceOf(InvalidInputException.class);
        assertThat(coordination.get(name("k"))).isEmpty();
        assertThat(coordination.tryLock(name("l"), "B", LockMode.EXCLUSIVE, LONG_TTL)).isPresent();
    }
}

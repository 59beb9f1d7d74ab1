package io.ordo.coordination;

import io.ordo.testing.SettableClock;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The elector's own logic, on the in-memory coordination. */
class LeaderElectorTest {
    private static final Duration INTERVAL = Duration.ofMillis(100);

    private final InMemoryCoordination cluster = new InMemoryCoordination(SettableClock.startingNow());
    private final List<LeaderElector> electors = new ArrayList<>();
    private final List<String> runs = new CopyOnWriteArrayList<>();

    private LeaderElector elector(String nodeId) {
        LeaderElector e = new LeaderElector(cluster, nodeId, INTERVAL)
                .register(LeaderDuty.of("record", Duration.ofMillis(20), term -> runs.add(nodeId + "@" + term)));
        electors.add(e);
        return e;
    }

    @AfterEach
    void stop() {
        electors.forEach(LeaderElector::close);
        cluster.close();
    }

    @Test
    void of_two_electors_exactly_one_leads_and_runs_the_duties() {
        LeaderElector a = elector("a").start();
        LeaderElector b = elector("b").start();

        await().atMost(Duration.ofSeconds(5)).until(() -> runs.size() >= 3);
        assertThat(a.isLeader() ^ b.isLeader()).isTrue();
        LeaderElector leader = a.isLeader() ? a : b;
        Leadership l = leader.leadership().orElseThrow();
        assertThat(runs).allMatch(r -> r.equals(l.nodeId() + "@" + l.term()));
        assertThat(cluster.leader()).contains(l);
    }

    @Test
    void elector_that_loses_its_leadership_stops_its_duties_and_another_takes_over_under_a_new_term() {
        LeaderElector a = elector("a").start();
        await().atMost(Duration.ofSeconds(5)).until(a::isLeader);
        Leadership first = a.leadership().orElseThrow();
        LeaderElector b = elector("b").start();
        List<LeadershipEvent> events = new CopyOnWriteArrayList<>();
        a.onChange(events::add);

        cluster.loseLeadership();

        await().atMost(Duration.ofSeconds(2)).until(b::isLeader);
        assertThat(a.isLeader()).isFalse();
        assertThat(events).first().isInstanceOf(LeadershipEvent.Lost.class);
        Leadership second = b.leadership().orElseThrow();
        assertThat(second.term()).isEqualTo(first.term() + 1);
        await().atMost(Duration.ofSeconds(5)).until(() -> runs.contains("b@" + second.term()));
    }

    @Test
    void duty_refused_under_a_stale_term_makes_the_elector_step_down() {
        AtomicInteger refusals = new AtomicInteger();
        LeaderElector a = new LeaderElector(cluster, "a", INTERVAL).register(LeaderDuty.of("refused", Duration.ofMillis(10), term -> {
            refusals.incrementAndGet();
            throw new StaleTermException(term, "stale", null);
        }));
        electors.add(a);
        List<LeadershipEvent> events = new CopyOnWriteArrayList<>();
        a.onChange(events::add).start();

        await().atMost(Duration.ofSeconds(5)).until(() -> events.stream().anyMatch(e -> e instanceof LeadershipEvent.Lost));
        assertThat(events.getFirst()).isInstanceOf(LeadershipEvent.Elected.class);
        assertThat(((LeadershipEvent.Lost) events.get(1)).reason()).contains("refused");
        assertThat(refusals.get()).isEqualTo(1);
    }

    @Test
    void closing_the_leader_hands_the_leadership_to_the_other_elector() {
        LeaderElector a = elector("a").start();
        await().atMost(Duration.ofSeconds(5)).until(a::isLeader);
        LeaderElector b = elector("b").start();

        a.close();

        assertThat(a.isLeader()).isFalse();
        await().atMost(Duration.ofSeconds(2)).until(b::isLeader);
    }

    @Test
    void a_leader_that_steps_down_hands_over_at_once_rather_than_at_the_next_election() {
        Duration longInterval = Duration.ofSeconds(30);
        LeaderElector a = new LeaderElector(cluster, "a", longInterval).start();
        electors.add(a);
        await().atMost(Duration.ofSeconds(5)).until(a::isLeader);
        LeaderElector b = new LeaderElector(cluster, "b", longInterval).start();
        electors.add(b);
        // b has run once and lost: left to itself, it would run again in 30 s
        await().pollDelay(Duration.ofMillis(200)).atMost(Duration.ofSeconds(5)).until(() -> !b.isLeader());

        a.close();

        await().atMost(Duration.ofSeconds(3)).until(b::isLeader);
    }
}

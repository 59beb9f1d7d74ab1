package io.ordo.coordination;

import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** A node's membership: it registers, heartbeats its config version, drains and leaves; SQL lists active nodes. */
@ExtendWith(OrdoDatabaseExtension.class)
class NodeRegistryTest {
    private static TestDatabase db;
    private static DSLContext dsl;
    private PostgresCoordination coordination;

    @BeforeAll
    static void database(TestDatabase database) {
        db = database;
        dsl = database.dsl();
    }

    @BeforeEach
    void open() {
        dsl.execute("delete from ordo.node");
        coordination = new PostgresCoordination(db.database(), Clock.systemUTC());
    }

    @AfterEach
    void close() {
        coordination.close();
    }

    private static NodeInfo node(String id, NodeRole role, List<String> namespaces) {
        return new NodeInfo(id, role, namespaces, "host-1", "0.1.0", Instant.now(), Duration.ofMillis(100), Map.of("zone", "eu-1"));
    }

    @Test
    void joined_nodes_are_listed_by_the_sql_view_with_role_namespaces_and_config_version() {
        try (NodeMembership orchestrator = NodeMembership.join(coordination, node("orch-1", NodeRole.ORCHESTRATOR, List.of()), () -> 4);
             NodeMembership worker = NodeMembership.join(coordination, node("worker-1", NodeRole.WORKER, List.of("fulfillment")), () -> 4);
             NodeMembership dlq = NodeMembership.join(coordination, node("dlq-1", NodeRole.DLQ, List.of()), () -> 3)) {
            List<Record> rows = dsl.fetch("select node_id, role, status, namespaces, config_version from ordo.active_nodes order by node_id");

            assertThat(rows).extracting(r -> r.get("node_id", String.class) + " " + r.get("role", String.class) + " "
                            + r.get("status", String.class) + " " + List.of(r.get("namespaces", String[].class)) + " "
                            + r.get("config_version", Long.class))
                    .containsExactly("dlq-1 dlq active [] 3", "orch-1 orchestrator active [] 4", "worker-1 worker active [fulfillment] 4");
            assertThat(orchestrator.status()).isEqualTo(NodeStatus.ACTIVE);
        }
        assertThat(dsl.fetchCount(dsl.selectFrom("ordo.active_nodes"))).as("all left cleanly").isZero();
    }

    @Test
    void heartbeat_reports_the_config_version_the_node_runs_in_one_statement_per_interval() {
        AtomicLong version = new AtomicLong(1);
        try (NodeMembership member = NodeMembership.join(coordination, node("beating", NodeRole.WORKER, List.of()), version::get)) {
            Instant registered = coordination.node("beating").orElseThrow().heartbeatAt();
            version.set(2);

            await().atMost(Duration.ofSeconds(5)).until(() -> coordination.node("beating").orElseThrow().configVersion() == 2);
            assertThat(coordination.node("beating").orElseThrow().heartbeatAt()).isAfter(registered);
            assertThat(member.status()).isEqualTo(NodeStatus.ACTIVE);
        }
    }

    @Test
    void node_that_stops_cleanly_drains_then_leaves_the_registry() {
        NodeMembership member = NodeMembership.join(coordination, node("leaving", NodeRole.WORKER, List.of()), () -> 0);
        member.drain();
        assertThat(coordination.node("leaving").orElseThrow().status()).isEqualTo(NodeStatus.DRAINING);

        member.close();
        assertThat(coordination.node("leaving")).isEmpty();
    }

    @Test
    void node_declared_down_registers_again_on_its_next_heartbeat() {
        try (NodeMembership member = NodeMembership.join(coordination, node("paused", NodeRole.WORKER, List.of()), () -> 0)) {
            dsl.execute("update ordo.node set status = 'down' where node_id = 'paused'");

            await().atMost(Duration.ofSeconds(5)).until(() -> coordination.node("paused").orElseThrow().status() == NodeStatus.ACTIVE);
            assertThat(member.status()).isEqualTo(NodeStatus.ACTIVE);
        }
    }
}

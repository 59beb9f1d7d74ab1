package io.ordo.config;

import io.ordo.coordination.Coordination;
import io.ordo.coordination.InMemoryCoordination;
import io.ordo.coordination.NodeInfo;
import io.ordo.coordination.NodeMembership;
import io.ordo.coordination.NodeRole;
import io.ordo.coordination.PostgresCoordination;
import io.ordo.db.Database;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;

/**
 * Guarantees of the distributed configuration: a bad value is refused with a message naming the key and
 * changes nothing; a change reaches every node, which applies it without restart; nodes report the version
 * they run and the drift check lists those behind.
 */
@ExtendWith(OrdoDatabaseExtension.class)
class DistributedConfigTest {
    private static TestDatabase db;
    private static DSLContext dsl;
    private static ConfigStore store;
    private final List<AutoCloseable> resources = new ArrayList<>();

    @BeforeAll
    static void database(TestDatabase database) {
        db = database;
        dsl = database.dsl();
        store = new ConfigStore(dsl);
    }

    @BeforeEach
    void clean() {
        // each test starts from an empty config; history and versions keep growing, as in production
        dsl.fetch("select ordo.reset_config(key, 'test-cleanup') from ordo.config");
        dsl.execute("delete from ordo.node");
    }

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable r : resources.reversed()) {
            r.close();
        }
    }

    private <T extends AutoCloseable> T keep(T resource) {
        resources.add(resource);
        return resource;
    }

    private Coordination coordination(String node) {
        Database database = keep(Database.connect(db.settings().withApplicationName(node).withMaxPoolSize(2)));
        return keep(new PostgresCoordination(database, Clock.systemUTC()));
    }

    @Test
    void set_config_stores_the_value_records_history_and_bumps_the_version() {
        long before = store.latestVersion();

        long v1 = store.set("election.interval", Duration.ofSeconds(2), "alice");
        long v2 = store.set("election.interval", Duration.ofSeconds(3), "bob");

        assertThat(v1).isGreaterThan(before);
        assertThat(v2).isGreaterThan(v1);
        assertThat(store.latestVersion()).isEqualTo(v2);
        ConfigSnapshot snapshot = store.snapshot();
        assertThat(snapshot.version()).isEqualTo(v2);
        assertThat(snapshot.entries()).singleElement().satisfies(e -> {
            assertThat(e.key()).isEqualTo("election.interval");
            assertThat(e.json()).isEqualTo("\"3s\"");
            assertThat(e.version()).isEqualTo(v2);
            assertThat(e.updatedBy()).isEqualTo("bob");
        });
        assertThat(store.history("election.interval", 2)).extracting(ConfigChange::version, ConfigChange::oldJson, ConfigChange::json,
                        ConfigChange::updatedBy)
                .containsExactly(
                        tuple(v2, "\"2s\"", "\"3s\"", "bob"),
                        tuple(v1, null, "\"2s\"", "alice"));

        assertThat(store.set("election.interval", Duration.ofSeconds(3), "carol")).as("same value: no change").isEqualTo(v2);
        assertThat(store.latestVersion()).isEqualTo(v2);
    }

    @Test
    void bad_value_is_refused_naming_the_key_and_what_is_allowed_and_nothing_changes() {
        store.set("worker.batch_size", 20, "setup");
        long version = store.latestVersion();
        long historyRows = dsl.fetchOne("select count(*) from ordo.config_history").get(0, Long.class);

        // the SQL API refuses on its own, whoever calls it
        assertRefusedBySql("worker.batch_size", "\"20\"", "config key \"worker.batch_size\" must be an integer between 1 and 10000, got \"20\"");
        assertRefusedBySql("worker.batch_size", "0", "config key \"worker.batch_size\" must be an integer between 1 and 10000, got 0");
        assertRefusedBySql("worker.batch_size", "2.5", "must be an integer between 1 and 10000, got 2.5");
        assertRefusedBySql("election.interval", "\"1h\"", "config key \"election.interval\" must be a duration (like 250ms, 5s, 2m, 1h) between 100ms and 5m, got \"1h\"");
        assertRefusedBySql("election.interval", "5000", "must be a duration");
        assertRefusedBySql("log.level", "\"LOUD\"", "config key \"log.level\" must be one of TRACE, DEBUG, INFO, WARN, ERROR, got \"LOUD\"");
        assertRefusedBySql("backpressure.fulfillment.critical", "0", "config key \"backpressure.fulfillment.critical\" must be an integer between 1 and 1000000000");
        assertRefusedBySql("backpressure.Fulfillment.critical", "10", "unknown config key \"backpressure.Fulfillment.critical\": known keys are");
        assertRefusedBySql("retention.days", "10", "known keys are archive.days_ahead, archive.maintenance_interval, archive.retention_days, backpressure.<namespace>.critical");

        // and so does the Java store, as InvalidConfigException carrying the key
        assertThatThrownBy(() -> store.set("worker.batch_size", 0, "eve"))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("config key \"worker.batch_size\" must be an integer between 1 and 10000, got 0")
                .satisfies(e -> assertThat(((InvalidConfigException) e).key()).isEqualTo("worker.batch_size"));
        assertThatThrownBy(() -> store.set("no.such.key", 1, "eve")).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("unknown config key \"no.such.key\"");
        assertThatThrownBy(() -> store.set("worker.batch_size", 5, "")).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("updated_by");

        assertThat(store.latestVersion()).isEqualTo(version);
        assertThat(dsl.fetchOne("select count(*) from ordo.config_history").get(0, Long.class)).isEqualTo(historyRows);
        assertThat(store.snapshot().entries()).singleElement().satisfies(e -> assertThat(e.json()).isEqualTo("20"));
    }

    private static void assertRefusedBySql(String key, String json, String message) {
        assertThatThrownBy(() -> dsl.fetch("select ordo.set_config(?, ?::jsonb, 'eve')", key, json))
                .isInstanceOf(DataAccessException.class)
                .hasMessageContaining(message)
                .satisfies(e -> assertThat(io.ordo.db.SqlErrors.sqlState(e)).isEqualTo("22023"));
    }

    @Test
    void java_registry_and_the_sql_config_key_table_agree() {
        List<String> sql = dsl.fetch("select pattern, type, min_value::bigint, max_value::bigint, allowed from ordo.config_key order by pattern")
                .map(DistributedConfigTest::describe);
        List<String> registry = ConfigKeys.ALL.stream()
                .sorted(Comparator.comparing(ConfigKey::pattern))
                .map(k -> k.pattern() + " " + k.type().sql() + " " + k.min() + " " + k.max() + " " + k.allowed())
                .toList();
        assertThat(sql).isEqualTo(registry);
        for (ConfigKey k : ConfigKeys.ALL) {
            String key = k.pattern().replace("*", "fulfillment");
            assertThat(dsl.fetchOne("select ordo.config_key_allows(ck) from ordo.config_key ck where pattern = ?", k.pattern()).get(0, String.class))
                    .as(key).isEqualTo(k.allows());
            // every default is accepted by the SQL validation too
            assertThat(dsl.fetchOne("select ordo.validate_config(?, ?::jsonb)::text", key, k.toJson(k.defaultValue()).toString()).get(0, String.class))
                    .isNotNull();
        }
    }

    @Test
    void backpressure_defaults_are_those_the_submission_sql_uses() {
        Backpressure java = Backpressure.defaults();
        assertThat(dsl.fetchOne("select ordo.backpressure_default('warning'), ordo.backpressure_default('critical'),"
                + " ordo.backpressure_default('shed_below_priority')").intoArray())
                .containsExactly(java.warning(), java.critical(), (long) java.shedBelowPriority());
    }

    private static String describe(Record r) {
        String[] allowed = r.get("allowed", String[].class);
        return r.get("pattern") + " " + r.get("type") + " " + r.get(2) + " " + r.get(3) + " "
                + (allowed == null ? null : List.of(allowed));
    }

    @Test
    void database_value_overrides_the_local_value_which_overrides_the_default() {
        LiveConfig config = keep(LiveConfig.start(store, coordination("layers"), Map.of(
                "election.interval", "2s", "lease.ttl", "45s", "backpressure.fulfillment.warning", "100")));
        assertThat(config.current().electionInterval()).isEqualTo(Duration.ofSeconds(2));
        assertThat(config.current().heartbeatInterval()).isEqualTo(Duration.ofSeconds(5));

        store.set("election.interval", Duration.ofMillis(700), "ops");
        config.refresh();

        assertThat(config.current().electionInterval()).isEqualTo(Duration.ofMillis(700));
        assertThat(config.current().leaseTtl()).isEqualTo(Duration.ofSeconds(45));
        assertThat(config.current().backpressure("fulfillment").warning()).isEqualTo(100);
        assertThat(config.value("backpressure.fulfillment.warning")).isEqualTo(100L);

        store.reset("election.interval", "ops");
        config.refresh();
        assertThat(config.current().electionInterval()).as("back to the local value").isEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void invalid_local_value_stops_the_node_from_starting_with_the_key_named() {
        Coordination coordination = coordination("bad-local");
        assertThatThrownBy(() -> LiveConfig.start(store, coordination, Map.of("node.heartbeat_interval", "1ms")))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("node.heartbeat_interval")
                .hasMessageContaining("between 100ms and 5m");
        assertThatThrownBy(() -> LiveConfig.start(store, coordination, Map.of("node.heartbeat", "1s")))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("unknown config key \"node.heartbeat\"");
    }

    @Test
    void a_change_reaches_every_node_which_applies_it_without_restart() {
        LiveConfig one = keep(LiveConfig.start(store, coordination("node-1"), Map.of()));
        LiveConfig two = keep(LiveConfig.start(store, coordination("node-2"), Map.of()));
        List<Set<String>> seenByTwo = new CopyOnWriteArrayList<>();
        two.onChange((previous, current, changed) -> seenByTwo.add(changed));

        long version = store.set("backpressure.fulfillment.critical", 900, "ops");

        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertThat(one.version()).isEqualTo(version);
            assertThat(two.version()).isEqualTo(version);
        });
        assertThat(one.current().backpressure("fulfillment").critical()).isEqualTo(900);
        assertThat(two.current().backpressure("fulfillment").critical()).isEqualTo(900);
        assertThat(seenByTwo).containsExactly(Set.of("backpressure.fulfillment.critical"));

        long next = store.set("log.level", "DEBUG", "ops");
        await().atMost(Duration.ofSeconds(5)).until(() -> two.version() == next);
        assertThat(two.current().logLevel()).isEqualTo("DEBUG");
        assertThat(seenByTwo).last().isEqualTo(Set.of("log.level"));
    }

    @Test
    void a_missed_notification_is_caught_up_by_polling() {
        // an in-memory coordination never hears PostgreSQL's NOTIFY: only the poll can bring the change
        InMemoryCoordination deaf = keep(new InMemoryCoordination(Clock.systemUTC()));
        LiveConfig config = keep(LiveConfig.start(store, deaf, Map.of(), Duration.ofMillis(100)));

        long version = store.set("orchestrator.batch_size", 250, "ops");

        await().atMost(Duration.ofSeconds(5)).until(() -> config.version() == version);
        assertThat(config.current().orchestratorBatchSize()).isEqualTo(250);
    }

    @Test
    void nodes_report_the_config_version_they_run_and_the_drift_check_lists_those_behind() {
        Coordination coordination = coordination("drift");
        store.set("worker.batch_size", 5, "ops");
        LiveConfig live = keep(LiveConfig.start(store, coordination, Map.of()));
        NodeMembership current = keep(NodeMembership.join(coordination, node("current"), live::version));
        live.onChange((previous, now, changed) -> current.heartbeatNow());
        // a node that stopped following config changes: it keeps reporting the version it started with
        long stale = live.version();
        NodeMembership lagging = keep(NodeMembership.join(coordination, node("lagging"), () -> stale));
        assertThat(store.drift()).isEmpty();

        long latest = store.set("worker.batch_size", 6, "ops");
        store.set("worker.batch_size", 7, "ops");
        long newest = store.latestVersion();

        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(store.drift())
                .extracting(NodeDrift::nodeId, NodeDrift::configVersion, NodeDrift::latestVersion, NodeDrift::changesBehind)
                .containsExactly(tuple("lagging", stale, newest, 2L)));
        assertThat(latest).isLessThan(newest);
        assertThat(coordination.node("current").orElseThrow().configVersion()).isEqualTo(newest);
        assertThat(dsl.fetchOne("select config_version from ordo.active_nodes where node_id = 'current'").get(0, Long.class))
                .isEqualTo(newest);
        assertThat(lagging.status()).isNotNull();
    }

    private static NodeInfo node(String id) {
        return new NodeInfo(id, NodeRole.WORKER, List.of("fulfillment"), "localhost", "test", Instant.now(),
                Duration.ofMillis(100), Map.of());
    }
}

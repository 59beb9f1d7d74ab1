package io.ordo.worker;

import io.ordo.config.ConfigStore;
import io.ordo.coordination.PostgresCoordination;
import io.ordo.db.Database;
import io.ordo.db.DatabaseSettings;
import io.ordo.engine.EngineDuties;
import io.ordo.engine.Orchestrator;
import io.ordo.engine.OrchestratorSettings;
import io.ordo.queue.QueueListener;
import io.ordo.task.TaskClient;
import io.ordo.task.TaskStatus;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Least privilege: a worker's database role reaches only its own namespace's queue, through the worker functions.
 * Login roles are unique to the run and dropped afterwards (roles are shared by the whole server).
 */
@ExtendWith(OrdoDatabaseExtension.class)
class WorkerRoleIsolationTest {
    private static final String SUFFIX = UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    private static final String INVENTORY_WORKER = "ordo_t_" + SUFFIX + "_inv";
    private static final String SUBMITTER = "ordo_t_" + SUFFIX + "_sub";
    private static final String ORCHESTRATOR = "ordo_t_" + SUFFIX + "_orch";
    private static TestDatabase db;
    private static Cluster cluster;

    @BeforeAll
    static void start(TestDatabase database) {
        db = database;
        cluster = new Cluster(database);
        cluster.register("fulfillment", "ship", "pack pack -");
        cluster.register("inventory", "count", "count count -");
        DSLContext admin = database.dsl();
        admin.execute("create role " + INVENTORY_WORKER + " login in role ordo_worker_inventory");
        admin.execute("create role " + SUBMITTER + " login in role ordo_submitter");
        admin.execute("create role " + ORCHESTRATOR + " login in role ordo_orchestrator");
        // the orchestrator and the leader's duties run as a member of ordo_orchestrator only
        Database orchestratorPool = cluster.track(Database.connect(as(ORCHESTRATOR, "role-orch")));
        QueueListener listener = cluster.track(new QueueListener(orchestratorPool));
        Orchestrator orchestrator = Orchestrator.start(orchestratorPool, OrchestratorSettings.defaults("role-orch"), listener,
                Clock.systemUTC());
        cluster.track(() -> orchestrator.stop(Duration.ofSeconds(2)));
        new EngineDuties(orchestratorPool.dsl()).runAll();
    }

    @AfterAll
    static void stop() {
        cluster.close();
        for (String role : List.of(INVENTORY_WORKER, SUBMITTER, ORCHESTRATOR)) {
            db.dsl().execute("drop role if exists " + role);
        }
    }

    @Test
    void namespaces_get_a_nologin_worker_role_of_their_own() {
        Record r = db.dsl().fetchOne("select rolcanlogin, pg_has_role(oid, 'ordo_worker', 'MEMBER') from pg_roles where rolname = ?",
                "ordo_worker_fulfillment");
        assertThat(r).isNotNull();
        assertThat(r.get(0, Boolean.class)).isFalse();
        assertThat(r.get(1, Boolean.class)).isTrue();
        db.dsl().fetch("select ordo.create_namespace('fulfillment')"); // again: nothing to do
    }

    @Test
    void a_worker_role_cannot_read_extend_release_or_complete_another_namespaces_steps_nor_touch_the_tables() throws SQLException {
        long taskId = cluster.tasks.submit("fulfillment", "ship", "{}");
        await().atMost(Duration.ofSeconds(10)).until(() -> "enqueued".equals(
                db.dsl().fetchOne("select status from ordo.step where task_id = ?", taskId).get(0, String.class)));
        Record step = db.dsl().fetchOne("select id, msg_id from ordo.step where task_id = ?", taskId);
        long stepId = step.get(0, Long.class);
        long msgId = step.get(1, Long.class);
        String result = "{\"msg_id\":" + msgId + ",\"task_id\":" + taskId + ",\"step_id\":" + stepId
                + ",\"attempt\":1,\"status\":\"succeeded\",\"result\":{}}";

        Map<String, String> refused = new LinkedHashMap<>();
        refused.put("select * from ordo.read_steps('fulfillment', 30, 10)", "may not work namespace fulfillment");
        refused.put("select ordo.extend_steps('fulfillment', array[" + msgId + "]::bigint[], 0)", "may not work namespace fulfillment");
        refused.put("select ordo.release_steps('fulfillment', array[" + msgId + "]::bigint[], array[1])", "may not work namespace fulfillment");
        refused.put("select ordo.complete_steps('fulfillment', array['" + result + "'::jsonb])", "may not work namespace fulfillment");
        refused.put("select ordo.complete_steps('inventory', array['" + result + "'::jsonb])", "not a step of namespace inventory");
        refused.put("select * from ordo.complete_and_read_steps('fulfillment', array['" + result + "'::jsonb], 30, 10)",
                "may not work namespace fulfillment");
        refused.put("select * from ordo.complete_and_read_steps('inventory', array['" + result + "'::jsonb], 30, 10)",
                "not a step of namespace inventory");
        refused.put("select * from ordo.read('ns_fulfillment', 30, 10)", "permission denied for function read");
        refused.put("select * from ordo.pop('ns_fulfillment', 10)", "permission denied for function pop");
        refused.put("select ordo.delete('ns_fulfillment', array[" + msgId + "]::bigint[])", "permission denied for function delete");
        refused.put("select ordo.set_vt('ns_fulfillment', array[" + msgId + "]::bigint[], 0)", "permission denied for function set_vt");
        refused.put("select ordo.send('orchestration', '{}')", "permission denied for function send");
        refused.put("select * from ordo.message", "permission denied for table message");
        refused.put("select * from ordo.q_ns_fulfillment", "permission denied for table q_ns_fulfillment");
        refused.put("delete from ordo.q_ns_fulfillment", "permission denied for table q_ns_fulfillment");
        refused.put("select * from ordo.task", "permission denied for table task");
        refused.put("update ordo.step set status = 'complete'", "permission denied for table step");
        refused.put("insert into ordo.transition (task_id, to_state, actor) values (1, 'complete', 'me')", "permission denied for table transition");
        refused.put("select * from ordo.dead_letter", "permission denied for table dead_letter");
        refused.put("select ordo.submit_task('fulfillment', 'ship')", "permission denied for function submit_task");
        refused.put("select ordo.create_namespace('sneaky')", "permission denied for function create_namespace");
        refused.put("select ordo.register_node('n1', 'orchestrator', '{}', 'h', 'v', now(), 0, '1s')", "may only act on worker nodes");
        refused.put("select ordo.register_node('n1', 'worker', '{fulfillment}', 'h', 'v', now(), 0, '1s')", "may not work namespace fulfillment");
        try (Connection c = db.connect(INVENTORY_WORKER, null)) {
            for (var e : refused.entrySet()) {
                assertThatThrownBy(() -> execute(c, e.getKey())).as(e.getKey())
                        .isInstanceOfSatisfying(SQLException.class, s -> assertThat(s.getSQLState()).as(e.getKey()).isEqualTo("42501"))
                        .hasMessageContaining(e.getValue());
            }
            // its own namespace is fine
            execute(c, "select * from ordo.read_steps('inventory', 30, 10)");
        }
        // untouched: still enqueued, never read, message in place
        assertThat(db.dsl().fetchOne("select read_ct from ordo.message where msg_id = ?", msgId).get(0, Integer.class)).isZero();
        assertThat(db.dsl().fetchOne("select status from ordo.step where id = ?", stepId).get(0, String.class)).isEqualTo("enqueued");
        assertThat(db.dsl().fetchOne("select count(*) from ordo.message where queue_name = 'orchestration'"
                + " and message->>'type' like 'step_result%'").get(0, Integer.class)).isZero();
        assertThat(db.dsl().fetchOne("select ordo.cancel_task(?)", taskId).get(0, Boolean.class)).isTrue();
    }

    @Test
    void a_worker_for_a_namespace_its_role_may_not_work_refuses_to_start() {
        Database pool = cluster.track(Database.connect(as(INVENTORY_WORKER, "wrong-ns")));
        OrdoWorker worker = OrdoWorker.builder(pool.dataSource()).namespace("fulfillment")
                .handler("pack", step -> StepOutcome.success()).build();
        assertThatThrownBy(worker::start).isInstanceOfSatisfying(NamespaceAccessDeniedException.class,
                e -> assertThat(e.namespace()).isEqualTo("fulfillment")).hasMessageContaining("ordo_worker_fulfillment");
        assertThat(worker.state()).isEqualTo(OrdoWorker.State.STOPPED);
    }

    @Test
    void submitter_orchestrator_and_worker_roles_each_do_their_part_of_a_task() {
        Database workerPool = cluster.track(Database.connect(as(INVENTORY_WORKER, "role-worker")));
        PostgresCoordination registry = cluster.track(new PostgresCoordination(workerPool, Clock.systemUTC()));
        OrdoWorker worker = cluster.start(OrdoWorker.builder(workerPool.dataSource()).namespace("inventory").nodeId("role-worker-1")
                .nodeRegistry(registry, new ConfigStore(workerPool.dsl())::latestVersion).polling(Duration.ofMillis(20), Duration.ofMillis(200))
                .handler("count", step -> StepOutcome.success(Map.of("counted", 42))));
        assertThat(db.dsl().fetchOne("select status from ordo.node where node_id = 'role-worker-1'").get(0, String.class))
                .isEqualTo("active");

        Database submitterPool = cluster.track(Database.connect(as(SUBMITTER, "role-submitter")));
        TaskClient submitter = new TaskClient(submitterPool.dsl());
        long id = submitter.submit("inventory", "count", "{\"sku\":\"X-1\"}");
        await().atMost(Duration.ofSeconds(15)).until(() -> submitter.get(id).orElseThrow().status() == TaskStatus.COMPLETE);
        assertThat(submitter.get(id).orElseThrow().step("count").result()).contains("42");
        assertThatThrownBy(() -> submitterPool.dsl().fetch("select * from ordo.read_steps('inventory', 30, 1)"))
                .hasMessageContaining("permission denied for function read_steps");
        assertThatThrownBy(() -> submitterPool.dsl().fetch("select * from ordo.complete_and_read_steps('inventory', '{}', 30, 1)"))
                .hasMessageContaining("permission denied for function complete_and_read_steps");
        assertThatThrownBy(() -> submitterPool.dsl().fetch("select * from ordo.message"))
                .hasMessageContaining("permission denied for table message");

        worker.stop();
        assertThat(db.dsl().fetchOne("select count(*) from ordo.node where node_id = 'role-worker-1'").get(0, Integer.class)).isZero();
    }

    /** Settings to log in as {@code role} (trust authentication in tests) on the test database. */
    private static DatabaseSettings as(String role, String applicationName) {
        String url = db.settings().jdbcUrl().replaceAll("([?&])user=[^&]*&?", "$1").replaceAll("[?&]$", "");
        return new DatabaseSettings(url, role, null, 4, applicationName);
    }

    private static void execute(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }
}

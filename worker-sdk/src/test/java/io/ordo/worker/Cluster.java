package io.ordo.worker;

import io.ordo.db.Database;
import io.ordo.engine.EngineDuties;
import io.ordo.engine.Orchestrator;
import io.ordo.engine.OrchestratorSettings;
import io.ordo.queue.QueueListener;
import io.ordo.task.TaskClient;
import io.ordo.task.TaskView;
import io.ordo.template.TemplateRegistry;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import static org.awaitility.Awaitility.await;

/** An orchestrator, the leader's duties and workers on one test database, each node on a pool of its own. */
final class Cluster implements AutoCloseable {
    final TestDatabase db;
    final DSLContext dsl;
    final TaskClient tasks;
    final TemplateRegistry templates;
    private final List<AutoCloseable> open = new ArrayList<>();

    Cluster(TestDatabase db) {
        this.db = db;
        this.dsl = db.dsl();
        this.tasks = new TaskClient(dsl);
        this.templates = new TemplateRegistry(dsl);
    }

    /** A pool whose sessions carry {@code applicationName}, so that they can be found and terminated. */
    Database pool(String applicationName, int size) {
        Database pool = Database.connect(db.settings().withMaxPoolSize(size).withApplicationName(applicationName));
        open.add(pool);
        return pool;
    }

    Cluster withOrchestrator() {
        return withOrchestrator(io.opentelemetry.api.OpenTelemetry.noop());
    }

    Cluster withOrchestrator(io.opentelemetry.api.OpenTelemetry otel) {
        Database pool = pool("orchestrator", 4);
        QueueListener listener = track(new QueueListener(pool));
        Orchestrator o = Orchestrator.start(pool, OrchestratorSettings.defaults("orch-1").withLeaseTtl(Duration.ofSeconds(5)),
                listener, Clock.systemUTC(), otel);
        open.add(() -> o.stop(Duration.ofSeconds(2)));
        return this;
    }

    /** Runs the leader's duties (step timeouts, overdue retries, expired leases) every {@code every}. */
    Cluster withDuties(Duration every) {
        EngineDuties duties = new EngineDuties(dsl);
        Thread t = Thread.ofPlatform().daemon().name("test-duties").start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    duties.runAll();
                    Thread.sleep(every);
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException ignored) {
                    // busy or restarting database: next round
                }
            }
        });
        open.add(t::interrupt);
        return this;
    }

    /** A worker builder on a pool of its own named {@code name}, polling fast; the worker is stopped on close. */
    OrdoWorker.Builder worker(String name, String namespace) {
        return OrdoWorker.builder(pool(name, 6).dataSource()).namespace(namespace).nodeId(name)
                .polling(Duration.ofMillis(20), Duration.ofMillis(200)).shutdownGrace(Duration.ofSeconds(5));
    }

    OrdoWorker start(OrdoWorker.Builder builder) {
        OrdoWorker worker = builder.build();
        open.add(() -> worker.stop(Duration.ofSeconds(1)));
        return worker.start();
    }

    <T extends AutoCloseable> T track(T resource) {
        open.add(resource);
        return resource;
    }

    /** A template of one step per line: "name handler dep1,dep2 {extra json fields}". */
    void register(String namespace, String name, String... steps) {
        List<String> json = new ArrayList<>();
        for (String line : steps) {
            String[] parts = line.split(" ", 4);
            String deps = parts.length > 2 && !parts[2].equals("-") ? "\"" + String.join("\",\"", parts[2].split(",")) + "\"" : "";
            json.add("{\"name\":\"" + parts[0] + "\",\"handler\":\"" + parts[1] + "\",\"depends_on\":[" + deps + "]"
                    + (parts.length > 3 ? "," + parts[3] : "") + "}");
        }
        templates.register("{\"namespace\":\"" + namespace + "\",\"name\":\"" + name + "\",\"version\":\"1\",\"steps\":["
                + String.join(",", json) + "]}");
    }

    TaskView task(long id) {
        return tasks.get(id).orElseThrow();
    }

    void awaitFinished(Collection<Long> ids, Duration atMost) {
        Long[] array = ids.toArray(Long[]::new);
        await().atMost(atMost).pollInterval(Duration.ofMillis(50)).until(() -> dsl.fetchOne(
                "select count(*) from ordo.task where id = any (?::bigint[]) and status in ('complete', 'failed', 'cancelled')",
                (Object) array).get(0, Integer.class) == array.length);
    }

    @Override
    public void close() {
        for (int i = open.size() - 1; i >= 0; i--) {
            try {
                open.get(i).close();
            } catch (Exception ignored) {
                // best effort
            }
        }
    }
}

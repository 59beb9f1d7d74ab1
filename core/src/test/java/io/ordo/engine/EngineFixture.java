package io.ordo.engine;

import io.ordo.db.Database;
import io.ordo.queue.QueueListener;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.StringJoiner;

/** Templates and orchestrator nodes for engine tests. */
final class EngineFixture implements AutoCloseable {
    private final TestDatabase db;
    private final List<AutoCloseable> open = new ArrayList<>();

    EngineFixture(TestDatabase db) {
        this.db = db;
    }

    /** An orchestrator with a pool of its own, named so its sessions can be found and terminated. */
    Orchestrator orchestrator(String nodeId, Duration leaseTtl) {
        Database pool = Database.connect(db.settings().withMaxPoolSize(4).withApplicationName("orch-" + nodeId));
        QueueListener listener = new QueueListener(pool);
        Orchestrator o = Orchestrator.start(pool, OrchestratorSettings.defaults(nodeId).withLeaseTtl(leaseTtl).withBatchSize(100),
                listener, Clock.systemUTC());
        open.add(pool);
        open.add(listener);
        open.add(() -> o.stop(Duration.ofSeconds(2)));
        return o;
    }

    /** Runs the engine's leader duties every interval until closed; returns the count of leases reclaimed. */
    java.util.concurrent.atomic.AtomicLong runDuties(DSLContext dsl, Duration every) {
        EngineDuties duties = new EngineDuties(dsl);
        java.util.concurrent.atomic.AtomicLong reclaimed = new java.util.concurrent.atomic.AtomicLong();
        Thread t = Thread.ofPlatform().daemon().start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    duties.enforceStepTimeouts();
                    duties.promoteDueRetries();
                    reclaimed.addAndGet(duties.reclaimExpiredLeases());
                    Thread.sleep(every);
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException ignored) {
                    // the database may be busy or restarting; try again next round
                }
            }
        });
        open.add(t::interrupt);
        return reclaimed;
    }

    <T extends AutoCloseable> T track(T resource) {
        open.add(resource);
        return resource;
    }

    static String step(String name, String handler, List<String> deps, String extra) {
        StringJoiner d = new StringJoiner("\",\"", "[\"", "\"]");
        deps.forEach(d::add);
        return "{\"name\":\"" + name + "\",\"handler\":\"" + handler + "\",\"depends_on\":" + (deps.isEmpty() ? "[]" : d.toString())
                + (extra == null ? "" : "," + extra) + "}";
    }

    static String template(String ns, String name, String version, List<String> steps) {
        return "{\"namespace\":\"" + ns + "\",\"name\":\"" + name + "\",\"version\":\"" + version + "\",\"steps\":["
                + String.join(",", steps) + "]}";
    }

    static String chain(String ns, String name, int n, String handler) {
        List<String> steps = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            steps.add(step("s" + i, handler, i == 0 ? List.of() : List.of("s" + (i - 1)), null));
        }
        return template(ns, name, "1", steps);
    }

    static String fanOut(String ns, String name, int width, String handler) {
        List<String> steps = new ArrayList<>();
        steps.add(step("start", handler, List.of(), null));
        List<String> mids = new ArrayList<>();
        for (int i = 0; i < width; i++) {
            steps.add(step("m" + i, handler, List.of("start"), null));
            mids.add("m" + i);
        }
        steps.add(step("end", handler, mids, null));
        return template(ns, name, "1", steps);
    }

    /** A random DAG: each step depends on a random subset of the earlier ones. */
    static String randomDag(String ns, String name, int steps, Random random, String handler) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < steps; i++) {
            List<String> deps = new ArrayList<>();
            for (int j = 0; j < i; j++) {
                if (random.nextInt(3) == 0) {
                    deps.add("s" + j);
                }
            }
            out.add(step("s" + i, handler, deps, null));
        }
        return template(ns, name, "1", out);
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

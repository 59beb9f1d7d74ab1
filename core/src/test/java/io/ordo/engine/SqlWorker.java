package io.ordo.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ordo.Json;
import org.jooq.DSLContext;
import org.jooq.Record;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

/**
 * A minimal worker over the worker SQL API (ordo.read_steps / ordo.complete_steps), for engine tests.
 * Handlers map a step to a result: a JSON result for success, or a {@link Fail}.
 */
final class SqlWorker implements AutoCloseable {
    record Step(long msgId, long taskId, long stepId, String name, String handler, int attempt, JsonNode context,
                JsonNode parentResults) {
    }

    /** Returned by a handler to fail the attempt. */
    record Fail(String message, boolean permanent) {
    }

    private final DSLContext dsl;
    private final String namespace;
    private final Map<String, Function<Step, Object>> handlers;
    private final List<Thread> threads = new ArrayList<>();
    private final AtomicBoolean running = new AtomicBoolean(true);
    final Map<Long, List<Step>> runsByStep = new ConcurrentHashMap<>();

    SqlWorker(DSLContext dsl, String namespace, Map<String, Function<Step, Object>> handlers, int threads) {
        this.dsl = dsl;
        this.namespace = namespace;
        this.handlers = handlers;
        for (int i = 0; i < threads; i++) {
            this.threads.add(Thread.ofPlatform().daemon().name("sql-worker-" + namespace + "-" + i).start(this::loop));
        }
    }

    private void loop() {
        while (running.get()) {
            try {
                List<Step> steps = read(Duration.ofSeconds(30), 20);
                if (steps.isEmpty()) {
                    Thread.sleep(10);
                    continue;
                }
                List<String> results = new ArrayList<>();
                for (Step s : steps) {
                    runsByStep.computeIfAbsent(s.stepId, k -> new java.util.concurrent.CopyOnWriteArrayList<>()).add(s);
                    results.add(run(s));
                }
                complete(results);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                if (running.get()) {
                    try {
                        Thread.sleep(50);
                    } catch (InterruptedException ie) {
                        return;
                    }
                }
            }
        }
    }

    List<Step> read(Duration vt, int qty) {
        List<Step> out = new ArrayList<>();
        for (Record r : dsl.fetch("select msg_id, task_id, step_id, step_name, handler, attempt, context::text,"
                + " parent_results::text from ordo.read_steps(?, ?, ?)", namespace, vt.toNanos() / 1e9, qty)) {
            out.add(new Step(r.get(0, Long.class), r.get(1, Long.class), r.get(2, Long.class), r.get(3, String.class),
                    r.get(4, String.class), r.get(5, Integer.class), Json.parse(r.get(6, String.class)),
                    Json.parse(r.get(7, String.class))));
        }
        return out;
    }

    String run(Step s) {
        Function<Step, Object> handler = handlers.get(s.handler);
        Object outcome;
        try {
            outcome = handler == null ? new Fail("no handler " + s.handler, true) : handler.apply(s);
        } catch (RuntimeException e) {
            outcome = new Fail(e.toString(), false);
        }
        ObjectNode r = Json.object().put("msg_id", s.msgId).put("task_id", s.taskId).put("step_id", s.stepId).put("attempt", s.attempt);
        if (outcome instanceof Fail f) {
            r.put("status", "failed").put("permanent", f.permanent());
            r.set("error", Json.object().put("class", "TestFailure").put("message", f.message()));
        } else {
            r.put("status", "succeeded");
            r.set("result", Json.MAPPER.valueToTree(outcome));
        }
        return r.toString();
    }

    /** Reads up to {@code qty} steps once, runs them and hands their results back; returns how many it ran. */
    int runOnce(int qty) {
        List<Step> steps = read(Duration.ofSeconds(30), qty);
        if (!steps.isEmpty()) {
            complete(steps.stream().map(this::run).toList());
        }
        return steps.size();
    }

    void complete(List<String> results) {
        dsl.fetch("select ordo.complete_steps(?, ?::jsonb[])", namespace, results.toArray(String[]::new));
    }

    @Override
    public void close() {
        running.set(false);
        for (Thread t : threads) {
            try {
                t.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}

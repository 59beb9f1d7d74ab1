package io.ordo.dlq;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ordo.Json;
import org.jooq.DSLContext;
import org.jooq.Record;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

/**
 * A namespace worker over the worker SQL API ({@code ordo.read_steps}, {@code ordo.complete_steps}) whose handlers
 * the tests swap at will, to fail a step until it is "fixed". A step whose handler is not registered fails
 * permanently with error class {@code UnknownHandler}, as the worker SDK reports it.
 */
final class TestWorker implements AutoCloseable {
    record Step(long stepId, long taskId, String name, String handler, int attempt, JsonNode input) {
    }

    sealed interface Outcome permits Succeeded, Failed {
    }

    record Succeeded(Object result) implements Outcome {
    }

    record Failed(String errorClass, String message, boolean permanent) implements Outcome {
    }

    private final DSLContext dsl;
    private final String namespace;
    private final Map<String, Function<Step, Outcome>> handlers;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Thread thread;

    TestWorker(DSLContext dsl, String namespace, Map<String, Function<Step, Outcome>> handlers) {
        this.dsl = dsl;
        this.namespace = namespace;
        this.handlers = handlers;
        this.thread = Thread.ofPlatform().daemon().name("test-worker-" + namespace).start(this::loop);
    }

    private void loop() {
        while (running.get()) {
            try {
                List<String> results = new ArrayList<>();
                for (Record r : dsl.fetch("select msg_id, task_id, step_id, step_name, handler, attempt, input::text"
                        + " from ordo.read_steps(?, 30, 200)", namespace)) {
                    Step s = new Step(r.get(2, Long.class), r.get(1, Long.class), r.get(3, String.class), r.get(4, String.class),
                            r.get(5, Integer.class), Json.parse(r.get(6, String.class)));
                    results.add(result(r.get(0, Long.class), s, run(s)));
                }
                if (results.isEmpty()) {
                    Thread.sleep(10);
                } else {
                    dsl.fetch("select ordo.complete_steps(?, ?::jsonb[])", namespace, results.toArray(String[]::new));
                }
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

    private Outcome run(Step s) {
        Function<Step, Outcome> handler = handlers.get(s.handler());
        if (handler == null) {
            return new Failed("UnknownHandler", "no handler " + s.handler() + " in this worker", true);
        }
        try {
            return handler.apply(s);
        } catch (RuntimeException e) {
            return new Failed(e.getClass().getName(), String.valueOf(e.getMessage()), false);
        }
    }

    private static String result(long msgId, Step s, Outcome outcome) {
        ObjectNode r = Json.object().put("msg_id", msgId).put("task_id", s.taskId()).put("step_id", s.stepId()).put("attempt", s.attempt());
        switch (outcome) {
            case Succeeded ok -> {
                r.put("status", "succeeded");
                r.set("result", Json.MAPPER.valueToTree(ok.result()));
            }
            case Failed f -> {
                r.put("status", "failed").put("permanent", f.permanent());
                r.set("error", Json.object().put("class", f.errorClass()).put("message", f.message())
                        .put("stack", "at " + s.handler() + "(TestWorker.java)"));
            }
        }
        return r.toString();
    }

    @Override
    public void close() {
        running.set(false);
        try {
            thread.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

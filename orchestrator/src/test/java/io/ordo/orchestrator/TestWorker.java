package io.ordo.orchestrator;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.ordo.Json;
import io.ordo.telemetry.Tracing;
import org.jooq.DSLContext;
import org.jooq.Record;

import java.util.ArrayList;
import java.util.List;

/**
 * A worker over the worker SQL API for tests: reads the steps of a namespace, opens a span for each as a child
 * of the trace context in its message headers (as the worker SDK does), and hands back a result.
 */
final class TestWorker {
    private final DSLContext dsl;
    private final String namespace;
    private final Tracer tracer;

    TestWorker(DSLContext dsl, String namespace, OpenTelemetry otel) {
        this.dsl = dsl;
        this.namespace = namespace;
        this.tracer = otel.getTracer("test-worker");
    }

    /** Runs every step that is ready now; returns how many. */
    int runOnce() {
        List<String> results = new ArrayList<>();
        for (Record r : dsl.fetch("select msg_id, task_id, step_id, step_name, attempt, headers::text from ordo.read_steps(?, 30, 50)",
                namespace)) {
            Span span = tracer.spanBuilder("step " + r.get(3, String.class))
                    .setParent(Tracing.fromHeaders(r.get(5, String.class)))
                    .setSpanKind(SpanKind.CONSUMER)
                    .startSpan();
            results.add(Json.object().put("msg_id", r.get(0, Long.class)).put("task_id", r.get(1, Long.class))
                    .put("step_id", r.get(2, Long.class)).put("attempt", r.get(4, Integer.class)).put("status", "succeeded")
                    .set("result", Json.object().put("step", r.get(3, String.class))).toString());
            span.end();
        }
        if (!results.isEmpty()) {
            dsl.fetch("select ordo.complete_steps(?, ?::jsonb[])", namespace, results.toArray(String[]::new));
        }
        return results.size();
    }
}

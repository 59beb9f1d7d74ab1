package io.ordo.engine;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.metrics.LongHistogram;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.ordo.engine.OrchestrationPass.StepState;
import io.ordo.engine.OrchestrationPass.TaskState;
import io.ordo.telemetry.Tracing;

import java.time.Duration;
import java.util.Collection;
import java.util.List;

/**
 * Spans and meters of the orchestration pass. Each task a pass works on gets a span, a child of the task's
 * trace context, and the steps it enqueues carry that span in their message headers, so a worker's span of a
 * step joins the task's trace. Meters are recorded only once the pass's transaction has committed.
 */
final class EngineTelemetry {
    static final AttributeKey<String> NAMESPACE = AttributeKey.stringKey("ordo.namespace");
    static final AttributeKey<String> TEMPLATE = AttributeKey.stringKey("ordo.template");
    static final AttributeKey<String> STEP = AttributeKey.stringKey("ordo.step");
    static final AttributeKey<Long> TASK_ID = AttributeKey.longKey("ordo.task.id");

    static final EngineTelemetry NOOP = new EngineTelemetry(OpenTelemetry.noop());

    private final Tracer tracer;
    private final LongCounter tasksCompleted;
    private final LongCounter tasksFailed;
    private final DoubleHistogram stepDuration;
    private final LongHistogram stepAttempts;

    EngineTelemetry(OpenTelemetry otel) {
        this.tracer = otel.getTracer(Tracing.SCOPE);
        Meter meter = otel.getMeter(Tracing.SCOPE);
        this.tasksCompleted = meter.counterBuilder("ordo.tasks.completed").setUnit("{task}")
                .setDescription("Tasks that completed").build();
        this.tasksFailed = meter.counterBuilder("ordo.tasks.failed").setUnit("{task}")
                .setDescription("Tasks that failed (a step was dead-lettered)").build();
        this.stepDuration = meter.histogramBuilder("ordo.step.duration").setUnit("s")
                .setDescription("Time from a step attempt's start to its result being applied").build();
        this.stepAttempts = meter.histogramBuilder("ordo.step.attempts").ofLongs().setUnit("{attempt}")
                .setDescription("Attempts a step used before it completed or failed").build();
    }

    /** Starts the span of one task's share of a pass and makes the steps it enqueues carry it. */
    Span startTask(TaskState task) {
        Span span = tracer.spanBuilder("ordo.orchestrate")
                .setParent(Tracing.fromTraceContext(task.traceContext))
                .setAttribute(TASK_ID, task.id)
                .setAttribute(NAMESPACE, task.namespace)
                .setAttribute(TEMPLATE, task.template)
                .startSpan();
        String own = Tracing.traceContextJson(Context.root().with(span));
        if (own != null) {
            task.stepTraceContext = own;
        }
        return span;
    }

    /** Ends the spans and records the meters of a pass that committed. */
    void committed(List<Span> spans, Collection<TaskState> tasks, List<StepDone> steps) {
        spans.forEach(Span::end);
        for (TaskState t : tasks) {
            if (t.finished) {
                Attributes a = Attributes.of(NAMESPACE, t.namespace, TEMPLATE, t.template);
                switch (t.status) {
                    case "complete" -> tasksCompleted.add(1, a);
                    case "failed" -> tasksFailed.add(1, a);
                    default -> { }
                }
            }
        }
        for (StepDone s : steps) {
            Attributes a = Attributes.of(NAMESPACE, s.task().namespace, TEMPLATE, s.task().template, STEP, s.step().name);
            stepAttempts.record(s.step().attempt, a);
            if (s.duration() != null) {
                stepDuration.record(s.duration().toNanos() / 1e9, a);
            }
        }
    }

    /** Ends the spans of a pass that failed; nothing it decided was written. */
    void failed(List<Span> spans, RuntimeException error) {
        for (Span span : spans) {
            span.recordException(error);
            span.setStatus(StatusCode.ERROR, "orchestration pass rolled back");
            span.end();
        }
    }

    /** A step attempt whose result a pass applied: it completed, or failed for good. */
    record StepDone(TaskState task, StepState step, Duration duration) {
    }
}

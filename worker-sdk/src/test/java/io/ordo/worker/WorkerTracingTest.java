package io.ordo.worker;

import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

@ExtendWith(OrdoDatabaseExtension.class)
class WorkerTracingTest {

    @Test
    void each_step_execution_is_a_span_in_its_tasks_trace_child_of_what_enqueued_it(TestDatabase db) {
        InMemorySpanExporter spans = InMemorySpanExporter.create();
        OpenTelemetrySdk otel = OpenTelemetrySdk.builder()
                .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build())
                .build();
        try (Cluster cluster = new Cluster(db).withOrchestrator(otel)) {
            cluster.register("traced", "chain", "first noop -", "second noop first");
            cluster.start(cluster.worker("traced-worker", "traced").openTelemetry(otel)
                    .handler("noop", step -> StepOutcome.success(Map.of("ok", true))));
            // the application submits inside a span of its own, whose context the task carries
            io.opentelemetry.api.trace.Span submit = otel.getTracer("app").spanBuilder("submit order").startSpan();
            String traceparent = "00-" + submit.getSpanContext().getTraceId() + "-" + submit.getSpanContext().getSpanId() + "-01";
            long id = cluster.tasks.submit("traced", "chain", null, "{}",
                    io.ordo.task.SubmitOptions.DEFAULT.withTraceParent(traceparent));
            submit.end();
            cluster.awaitFinished(List.of(id), Duration.ofSeconds(30));
            await().atMost(Duration.ofSeconds(5)).until(() -> spans.getFinishedSpanItems().stream()
                    .filter(s -> s.getName().startsWith("ordo.step")).count() == 2);
        }
        List<SpanData> all = spans.getFinishedSpanItems();
        List<SpanData> steps = all.stream().filter(s -> s.getName().startsWith("ordo.step")).toList();
        assertThat(steps).extracting(SpanData::getName).containsExactlyInAnyOrder("ordo.step first", "ordo.step second");
        assertThat(steps).allSatisfy(s -> assertThat(s.getKind()).isEqualTo(SpanKind.CONSUMER));
        Set<String> traces = steps.stream().map(SpanData::getTraceId).collect(Collectors.toSet());
        assertThat(traces).as("both steps are in the task's one trace").hasSize(1);
        Set<String> spanIds = all.stream().map(SpanData::getSpanId).collect(Collectors.toSet());
        for (SpanData step : steps) {
            SpanData parent = all.stream().filter(s -> s.getSpanId().equals(step.getParentSpanId())).findFirst().orElse(null);
            assertThat(parent).as("the parent of %s was exported", step.getName()).isNotNull();
            assertThat(parent.getName()).as("a step's parent is what enqueued it: the submission for the first step, a pass after")
                    .isEqualTo(step.getName().equals("ordo.step first") ? "submit order" : "ordo.orchestrate");
            assertThat(spanIds).contains(step.getParentSpanId());
        }
    }
}

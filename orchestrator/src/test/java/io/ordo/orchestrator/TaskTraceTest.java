package io.ordo.orchestrator;

import com.fasterxml.jackson.databind.JsonNode;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.ordo.Json;
import io.ordo.http.HttpSettings;
import io.ordo.http.auth.Role;
import io.ordo.http.telemetry.Telemetry;
import io.ordo.telemetry.JsonLogFormatter;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** One task, one trace: the HTTP submit, each orchestration pass and each worker step span are connected. */
@ExtendWith(OrdoDatabaseExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TaskTraceTest {
    private static final String CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String CALLER_SPAN = "00f067aa0ba902b7";

    private final InMemorySpanExporter spans = InMemorySpanExporter.create();
    private ApiFixture api;

    @BeforeAll
    void start(TestDatabase db) {
        api = new ApiFixture(db, Telemetry.inMemory(spans), HttpSettings.defaults(0));
        assertThat(api.put("/v1/templates", Role.OPERATOR, ApiFixture.template("traced", "flow", "1", "first", "second"))
                .statusCode()).isEqualTo(201);
    }

    @AfterAll
    void stop() {
        api.close();
    }

    @Test
    void a_tasks_spans_form_one_connected_trace_across_submit_orchestration_passes_and_worker_steps() {
        // the other tests of the class complete tasks of the same template: its metrics are compared before and after
        String metricsBefore = api.get("/metrics", null).body();
        HttpResponse<String> submitted = api.send("POST", "/v1/tasks", api.tokens.get(Role.SUBMITTER),
                "{\"namespace\":\"traced\",\"template\":\"flow\"}", Map.of("traceparent", "00-" + CALLER_TRACE + "-" + CALLER_SPAN + "-01"));
        assertThat(submitted.statusCode()).isEqualTo(201);
        long id = Json.parse(submitted.body()).get("id").asLong();
        TestWorker worker = new TestWorker(api.db.dsl(), "traced", api.telemetry.openTelemetry());
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> {
            worker.runOnce();
            return "complete".equals(api.db.dsl().fetchOne("select status from ordo.task where id = ?", id).get(0, String.class));
        });
        JsonNode stored = Json.parse(api.db.dsl().fetchOne("select trace_context::text from ordo.task where id = ?", id).get(0, String.class));
        assertThat(stored.get("traceparent").asText()).startsWith("00-" + CALLER_TRACE + "-");

        await().atMost(Duration.ofSeconds(5)).until(() -> spansOf(CALLER_TRACE).stream()
                .anyMatch(s -> s.getName().equals("ordo.orchestrate") && s.getParentSpanId().equals(serverSpan().getSpanId())
                        && passCount(id) >= 2));
        List<SpanData> trace = spansOf(CALLER_TRACE);
        SpanData server = serverSpan();
        assertThat(server.getName()).isEqualTo("POST /v1/tasks");
        assertThat(server.getParentSpanId()).isEqualTo(CALLER_SPAN);
        assertThat(server.getAttributes().get(AttributeKey.longKey("http.response.status_code"))).isEqualTo(201L);
        // one pass per step result, each a child of the submit span (the submission enqueued the first step)
        assertThat(passCount(id)).isGreaterThanOrEqualTo(2);
        List<SpanData> steps = trace.stream().filter(s -> s.getName().startsWith("step ")).toList();
        assertThat(steps).extracting(SpanData::getName).containsExactlyInAnyOrder("step first", "step second");
        Set<String> passIds = trace.stream().filter(s -> s.getName().equals("ordo.orchestrate")).map(SpanData::getSpanId)
                .collect(Collectors.toSet());
        for (SpanData step : steps) {
            if (step.getName().equals("step first")) {
                assertThat(step.getParentSpanId()).as("the first step is enqueued by the submission").isEqualTo(server.getSpanId());
            } else {
                assertThat(passIds).as("a later step's span is a child of the pass that enqueued it").contains(step.getParentSpanId());
            }
        }
        Set<String> known = trace.stream().map(SpanData::getSpanId).collect(Collectors.toSet());
        known.add(CALLER_SPAN);
        for (SpanData s : trace) {
            assertThat(known).as("parent of %s", s.getName()).contains(s.getParentSpanId());
        }
        String metricsAfter = api.get("/metrics", null).body();
        for (String series : List.of("ordo_tasks_submitted_total{ordo_namespace=\"traced\",ordo_template=\"flow\"}",
                "ordo_tasks_completed_total{ordo_namespace=\"traced\",ordo_template=\"flow\"}",
                "ordo_step_duration_seconds_count{ordo_namespace=\"traced\",ordo_step=\"first\",ordo_template=\"flow\"}",
                "ordo_step_attempts_sum{ordo_namespace=\"traced\",ordo_step=\"second\",ordo_template=\"flow\"}")) {
            assertThat(metric(metricsAfter, series) - metric(metricsBefore, series)).as(series).isEqualTo(1.0);
        }
    }

    @Test
    void a_task_submitted_through_sql_without_a_trace_gets_one_at_submission() {
        long id = new io.ordo.task.TaskClient(api.db.dsl()).submit("traced", "flow", "{}");
        String submittedWith = api.db.dsl().fetchOne("select trace_context ->> 'traceparent' from ordo.task where id = ?", id)
                .get(0, String.class);
        assertThat(submittedWith).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01");
        TestWorker worker = new TestWorker(api.db.dsl(), "traced", api.telemetry.openTelemetry());
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> {
            worker.runOnce();
            return "complete".equals(api.db.dsl().fetchOne("select status from ordo.task where id = ?", id).get(0, String.class));
        });
        String traceparent = Json.parse(api.db.dsl().fetchOne("select trace_context::text from ordo.task where id = ?", id)
                .get(0, String.class)).get("traceparent").asText();
        assertThat(traceparent).isEqualTo(submittedWith);
        String traceId = traceparent.split("-")[1];
        await().atMost(Duration.ofSeconds(5)).until(() -> passCount(traceId, id) >= 2);
        List<SpanData> trace = spansOf(traceId);
        assertThat(trace.stream().filter(s -> s.getName().startsWith("step "))).hasSize(2);
        assertThat(spans.getFinishedSpanItems().stream().filter(s -> s.getName().equals("ordo.orchestrate")
                && Long.valueOf(id).equals(s.getAttributes().get(AttributeKey.longKey("ordo.task.id"))))
                .map(SpanData::getTraceId).distinct()).containsExactly(traceId);
    }

    /** The value of a Prometheus series in {@code body}; 0 when it is not there yet. */
    private static double metric(String body, String series) {
        return body.lines().filter(l -> l.startsWith(series + " ")).mapToDouble(l -> Double.parseDouble(l.substring(series.length() + 1)))
                .findFirst().orElse(0);
    }

    private long passCount(String traceId, long taskId) {
        return spansOf(traceId).stream().filter(s -> s.getName().equals("ordo.orchestrate")
                && Long.valueOf(taskId).equals(s.getAttributes().get(AttributeKey.longKey("ordo.task.id")))).count();
    }

    private SpanData serverSpan() {
        return spansOf(CALLER_TRACE).stream().filter(s -> s.getKind() == SpanKind.SERVER).findFirst().orElseThrow();
    }

    private long passCount(long taskId) {
        return spansOf(CALLER_TRACE).stream().filter(s -> s.getName().equals("ordo.orchestrate")
                && Long.valueOf(taskId).equals(s.getAttributes().get(AttributeKey.longKey("ordo.task.id")))).count();
    }

    private List<SpanData> spansOf(String traceId) {
        return spans.getFinishedSpanItems().stream().filter(s -> s.getTraceId().equals(traceId)).toList();
    }

    @Test
    void json_logs_carry_the_task_and_trace_ids_and_never_the_task_context() {
        Logger logger = Logger.getLogger("io.ordo.orchestrator.api.TaskService");
        List<LogRecord> records = new ArrayList<>();
        Handler capture = new Handler() {
            private final JsonLogFormatter json = new JsonLogFormatter();

            @Override
            public void publish(LogRecord record) {
                record.setMessage(json.format(record)); // formatted on the logging thread, like a console handler
                records.add(record);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Level previous = logger.getLevel();
        logger.setLevel(Level.FINE);
        logger.addHandler(capture);
        try {
            HttpResponse<String> res = api.post("/v1/tasks", Role.SUBMITTER,
                    "{\"namespace\":\"traced\",\"template\":\"flow\",\"context\":{\"card\":\"4111-secret\"}}");
            assertThat(res.statusCode()).isEqualTo(201);
            long id = Json.parse(res.body()).get("id").asLong();
            assertThat(records).isNotEmpty();
            JsonNode line = Json.parse(records.getFirst().getMessage());
            assertThat(line.get("task_id").asText()).isEqualTo(Long.toString(id));
            assertThat(line.get("trace_id").asText()).hasSize(32);
            assertThat(line.get("level").asText()).isEqualTo("FINE");
            assertThat(records).allSatisfy(r -> assertThat(r.getMessage()).doesNotContain("4111-secret"));
        } finally {
            logger.removeHandler(capture);
            logger.setLevel(previous);
        }
    }
}

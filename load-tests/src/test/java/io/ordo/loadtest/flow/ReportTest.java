package io.ordo.loadtest.flow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ordo.loadtest.BenchDatabase;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code ./ordo bench report} in miniature against a real database: every run it plans is made, every task it offers
 * finishes, the steady run is offered half of what the saturating run sustained, and each figure is written as a JSON
 * line and checked against its target. What the figures are is the benchmark's business, not this test's.
 */
@ExtendWith(OrdoDatabaseExtension.class)
class ReportTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void the_report_makes_every_run_finishes_every_task_and_writes_each_figure(TestDatabase db) throws Exception {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int exit;
        try (BenchDatabase bench = BenchDatabase.open(Ceiling.THREADS + 4, db.settings().jdbcUrl());
             PrintStream out = new PrintStream(captured, true, StandardCharsets.UTF_8)) {
            exit = FlowBenchmark.run(FlowBenchmark.Scenario.REPORT, new String[] {"--tasks", "300", "--steps", "240", "--seconds", "2",
                    "--latency-tasks", "5", "--warmup-steps", "0", "--ceiling-seconds", "1", "--out", "target/report-test.jsonl"},
                    bench, out, System.err);
        }
        String printed = captured.toString(StandardCharsets.UTF_8);
        assertThat(exit).as(printed).isZero();

        List<JsonNode> runs = new ArrayList<>();
        JsonNode ceiling = null;
        for (String line : printed.lines().filter(l -> l.startsWith("{")).toList()) {
            JsonNode figure = JSON.readTree(line);
            assertThat(figure.path("scenario").asText()).isEqualTo("report");
            switch (figure.path("figure").asText()) {
                case "ceiling" -> ceiling = figure;
                case "run" -> runs.add(figure);
                default -> assertThat(figure.path("figure").asText()).isEqualTo("environment");
            }
        }
        assertThat(ceiling).isNotNull();
        assertThat(ceiling.path("claim_delete_per_sec").asDouble()).isPositive();
        double before = ceiling.path("claim_delete_per_sec_before").asDouble();
        double after = ceiling.path("claim_delete_per_sec_after").asDouble();
        assertThat(ceiling.path("claim_delete_drift").asDouble())
                .isCloseTo(Math.abs(before - after) / ((before + after) / 2), org.assertj.core.data.Offset.offset(0.0001));
        double drift = ceiling.path("claim_delete_drift").asDouble();
        if (Math.abs(drift - Ceiling.DRIFT_NOTED) > 0.001) { // the JSON figure is rounded; the report judged the exact one
            assertThat(printed.contains("the claim+delete ceiling moved")).as(printed).isEqualTo(drift > Ceiling.DRIFT_NOTED);
        }
        assertThat(runs).extracting(r -> r.path("shape").asText() + " " + r.path("load").asText().replaceAll("[0-9,]+", "N"))
                .containsExactly("one burn-down N", "one saturating for N s", "one steady N/s for N s", "fanout burn-down N",
                        "chain3 sequential N");
        for (JsonNode r : runs) {
            assertThat(r.path("unfinished").asInt()).as(r.toString()).isZero();
            assertThat(r.path("complete").asInt()).as(r.toString()).isEqualTo(r.path("tasks").asInt()).isPositive();
            assertThat(r.path("steps").asLong()).as(r.toString()).isEqualTo(r.path("tasks").asLong() * r.path("steps_per_task").asLong());
            assertThat(r.path("steps_ratio").asDouble()).as(r.toString())
                    .isCloseTo(r.path("steps_per_sec").asDouble() / ceiling.path("claim_delete_per_sec").asDouble(),
                            org.assertj.core.data.Offset.offset(0.0001));
            assertThat(r.path("first_start_ms").path("p99").asDouble()).as(r.toString())
                    .isGreaterThanOrEqualTo(r.path("first_start_ms").path("p50").asDouble());
        }
        assertThat(runs.get(0).path("tasks").asInt()).isEqualTo(300);
        JsonNode saturating = runs.get(1);
        JsonNode steady = runs.get(2);
        assertThat(saturating.path("saturating").asBoolean()).isTrue();
        // half of what the saturating run sustained (its JSON figure is rounded to a tenth)
        assertThat(steady.path("offered_per_sec").asDouble())
                .isCloseTo(Math.max(1, Math.floor(saturating.path("tasks_per_sec").asDouble() / 2)), org.assertj.core.data.Offset.offset(1.0));
        // the steady run counts the tasks of its 2 measured seconds, not those of its ramp (submitted and drained first)
        assertThat(steady.path("ramp_seconds_not_measured").asInt()).isEqualTo(3);
        assertThat(steady.path("tasks").asLong()).isEqualTo(Math.round(steady.path("offered_per_sec").asDouble() * 2));
        // the submitting sessions' CPU is counted apart from the nodes', and so is the submitting threads' (they end
        // before the run is measured, and the JVM cannot be asked about them then)
        if (steady.has("cpu_s_db_orchestrators")) {
            assertThat(steady.path("cpu_s_db_submitters").asDouble()).as(steady.toString()).isPositive();
            assertThat(printed).contains("db submitting", "CPU µs per task");
        }
        assertThat(steady.path("cpu_s_jvm_submitters").asDouble()).as(steady.toString()).isPositive();
        assertThat(runs.get(3).path("tasks").asInt()).isEqualTo(20); // 240 steps of 1 -> 10 -> 1
        assertThat(runs.get(4).path("tasks").asInt()).isEqualTo(5);
        assertThat(printed).contains("targets:", "burn-down 1-step tasks/s >= 10% of claim+delete ceiling",
                "fan-out 1->10->1 steps/s >= 20%", "submit->first step start p99 <= 25 ms", "idle chain of 3",
                "transactions per 1-step task at saturation");
    }
}

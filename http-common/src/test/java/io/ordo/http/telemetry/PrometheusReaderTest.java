package io.ordo.http.telemetry;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class PrometheusReaderTest {
    @Test
    void counters_gauges_and_histograms_render_in_the_prometheus_text_format() {
        PrometheusReader reader = new PrometheusReader();
        try (SdkMeterProvider provider = SdkMeterProvider.builder().registerMetricReader(reader).build()) {
            Meter meter = provider.get("test");
            Attributes ns = Attributes.of(AttributeKey.stringKey("ordo.namespace"), "shop\"\n");
            meter.counterBuilder("ordo.tasks.completed").setDescription("Tasks that completed").build().add(3, ns);
            meter.gaugeBuilder("ordo.queue.oldest_age").setUnit("s").buildWithCallback(m -> m.record(1.5));
            meter.histogramBuilder("ordo.step.duration").setUnit("s").build().record(0.2);
            String text = reader.scrape();
            assertThat(text)
                    .contains("# HELP ordo_tasks_completed_total Tasks that completed\n")
                    .contains("# TYPE ordo_tasks_completed_total counter\n")
                    .contains("ordo_tasks_completed_total{ordo_namespace=\"shop\\\"\\n\"} 3\n")
                    .contains("# TYPE ordo_queue_oldest_age_seconds gauge\nordo_queue_oldest_age_seconds 1.5\n")
                    .contains("# TYPE ordo_step_duration_seconds histogram\n")
                    .contains("ordo_step_duration_seconds_bucket{le=\"+Inf\"} 1\n")
                    .contains("ordo_step_duration_seconds_count 1\n");
        }
    }
}

package io.ordo.http.telemetry;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;

import java.util.HashMap;
import java.util.Map;

/**
 * The OpenTelemetry SDK of one Ordo process. Configured by the standard {@code OTEL_*} environment variables
 * (autoconfigure), with Ordo's defaults: the service name given here, and no exporter at all unless an OTLP
 * endpoint or an exporter is set, so a demo sends nothing anywhere. Meters are always readable through the
 * {@code /metrics} scrape ({@link #prometheus()}); {@code OTEL_SDK_DISABLED=true} turns everything off, that too.
 */
public final class Telemetry implements AutoCloseable {
    private final OpenTelemetrySdk sdk;
    private final OpenTelemetry api;
    private final PrometheusReader prometheus;

    private Telemetry(OpenTelemetrySdk sdk, OpenTelemetry api, PrometheusReader prometheus) {
        this.sdk = sdk;
        this.api = api;
        this.prometheus = prometheus;
    }

    /** From the environment ({@code OTEL_*}); {@code serviceName} unless {@code OTEL_SERVICE_NAME} says otherwise. */
    public static Telemetry fromEnvironment(String serviceName, Map<String, String> env) {
        PrometheusReader prometheus = new PrometheusReader();
        AutoConfiguredOpenTelemetrySdk auto = AutoConfiguredOpenTelemetrySdk.builder()
                .addPropertiesSupplier(() -> defaults(serviceName, env))
                .addMeterProviderCustomizer((builder, config) -> builder.registerMetricReader(prometheus))
                .disableShutdownHook()
                .build();
        OpenTelemetrySdk sdk = auto.getOpenTelemetrySdk();
        return new Telemetry(sdk, sdk, prometheus);
    }

    static Map<String, String> defaults(String serviceName, Map<String, String> env) {
        Map<String, String> d = new HashMap<>();
        d.put("otel.service.name", serviceName);
        boolean otlp = env.containsKey("OTEL_EXPORTER_OTLP_ENDPOINT");
        d.put("otel.traces.exporter", otlp || env.containsKey("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") ? "otlp" : "none");
        d.put("otel.metrics.exporter", otlp || env.containsKey("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") ? "otlp" : "none");
        d.put("otel.logs.exporter", "none");
        return d;
    }

    /** Everything in memory: spans go to {@code spans} as soon as they end. For tests. */
    public static Telemetry inMemory(SpanExporter spans) {
        PrometheusReader prometheus = new PrometheusReader();
        OpenTelemetrySdk sdk = OpenTelemetrySdk.builder()
                .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans))
                        .setResource(Resource.getDefault()).build())
                .setMeterProvider(SdkMeterProvider.builder().registerMetricReader(prometheus).build())
                .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
                .build();
        return new Telemetry(sdk, sdk, prometheus);
    }

    public OpenTelemetry openTelemetry() {
        return api;
    }

    public PrometheusReader prometheus() {
        return prometheus;
    }

    @Override
    public void close() {
        sdk.close();
    }
}

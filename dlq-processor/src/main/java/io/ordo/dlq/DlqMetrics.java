package io.ordo.dlq;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.metrics.Meter;

import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of one dlq-processor node since it started. Each is also an OpenTelemetry counter (meter
 * {@code io.ordo.dlq}): {@code ordo.dlq.classified}, {@code ordo.dlq.auto_requeued}, {@code ordo.dlq.alerts} (by
 * namespace and kind) and {@code ordo.dlq.purged}, on the {@code /metrics} scrape and wherever the SDK exports.
 */
public final class DlqMetrics {
    private static final AttributeKey<String> NAMESPACE = AttributeKey.stringKey("namespace");
    private static final AttributeKey<String> KIND = AttributeKey.stringKey("kind");
    private static final AttributeKey<String> CLASSIFICATION = AttributeKey.stringKey("classification");

    private final LongAdder classified = new LongAdder();
    private final LongAdder autoRequeued = new LongAdder();
    private final LongAdder alerts = new LongAdder();
    private final LongAdder webhookFailures = new LongAdder();
    private final LongAdder purged = new LongAdder();
    private final LongAdder errors = new LongAdder();
    private final LongCounter classifiedCounter;
    private final LongCounter autoRequeuedCounter;
    private final LongCounter alertCounter;
    private final LongCounter purgedCounter;

    DlqMetrics(OpenTelemetry otel) {
        Meter meter = otel.getMeter("io.ordo.dlq");
        classifiedCounter = meter.counterBuilder("ordo.dlq.classified").setDescription("dead letters classified").build();
        autoRequeuedCounter = meter.counterBuilder("ordo.dlq.auto_requeued").setDescription("dead letters requeued automatically").build();
        alertCounter = meter.counterBuilder("ordo.dlq.alerts").setDescription("dead-letter alerts raised").build();
        purgedCounter = meter.counterBuilder("ordo.dlq.purged").setDescription("resolved dead letters deleted by retention").build();
    }

    void classified(Classification c) {
        classified.increment();
        classifiedCounter.add(1, Attributes.of(CLASSIFICATION, c.label()));
    }

    void autoRequeued(String namespace) {
        autoRequeued.increment();
        autoRequeuedCounter.add(1, Attributes.of(NAMESPACE, namespace));
    }

    void alert(DeadLetterAlert alert) {
        alerts.increment();
        alertCounter.add(1, Attributes.of(NAMESPACE, alert.namespace(), KIND, alert.kind().label()));
    }

    void webhookFailed() {
        webhookFailures.increment();
    }

    void purged(int n) {
        purged.add(n);
        purgedCounter.add(n);
    }

    void error() {
        errors.increment();
    }

    /** Dead letters this node classified. */
    public long classified() {
        return classified.sum();
    }

    public long autoRequeued() {
        return autoRequeued.sum();
    }

    /** Alerts this node raised. */
    public long alerts() {
        return alerts.sum();
    }

    /** Alert webhooks that failed or answered with an error status. */
    public long webhookFailures() {
        return webhookFailures.sum();
    }

    /** Resolved letters this node deleted at retention. */
    public long purged() {
        return purged.sum();
    }

    /** Rounds of work that failed (they are retried). */
    public long errors() {
        return errors.sum();
    }
}

package io.ordo.orchestrator;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.api.metrics.ObservableMeasurement;
import io.ordo.engine.EngineMetrics;
import io.ordo.telemetry.Tracing;

import java.util.ArrayList;
import java.util.List;

/**
 * The meters of an orchestrator node besides the engine's own (which the orchestration pass records):
 * submissions, cancellations and backpressure refusals through the API, leader changes, claim conflicts and
 * lease takeovers, and gauges of queue depth, oldest message age, dead letters and backpressure state.
 */
final class NodeMetrics implements AutoCloseable {
    static final AttributeKey<String> NAMESPACE = AttributeKey.stringKey("ordo.namespace");
    static final AttributeKey<String> TEMPLATE = AttributeKey.stringKey("ordo.template");
    static final AttributeKey<String> QUEUE = AttributeKey.stringKey("ordo.queue");
    static final AttributeKey<String> EVENT = AttributeKey.stringKey("ordo.event");

    private final LongCounter submitted;
    private final LongCounter cancelled;
    private final LongCounter backpressureRefusals;
    private final LongCounter leaderChanges;
    private final List<AutoCloseable> callbacks = new ArrayList<>();

    NodeMetrics(OpenTelemetry otel, EngineMetrics engine, ClusterStats stats) {
        Meter meter = otel.getMeter(Tracing.SCOPE);
        submitted = meter.counterBuilder("ordo.tasks.submitted").setUnit("{task}")
                .setDescription("Tasks created through this node's API (idempotent repeats not counted)").build();
        cancelled = meter.counterBuilder("ordo.tasks.cancelled").setUnit("{task}")
                .setDescription("Tasks cancelled through this node's API").build();
        backpressureRefusals = meter.counterBuilder("ordo.backpressure.refusals").setUnit("{request}")
                .setDescription("Submissions refused because the namespace was saturated").build();
        leaderChanges = meter.counterBuilder("ordo.leader.changes").setUnit("{change}")
                .setDescription("Times this node became leader or lost the leadership").build();
        callbacks.add(meter.counterBuilder("ordo.claim.conflicts").setUnit("{message}")
                .setDescription("Orchestration messages deferred because another node held their task")
                .buildWithCallback(m -> m.record(engine.claimConflicts())));
        callbacks.add(meter.counterBuilder("ordo.lease.takeovers").setUnit("{task}")
                .setDescription("Tasks this node claimed after another node's lease expired")
                .buildWithCallback(m -> m.record(engine.leaseTakeovers())));
        var depth = meter.gaugeBuilder("ordo.queue.depth").ofLongs().setUnit("{message}")
                .setDescription("Messages in the queue").buildObserver();
        var visible = meter.gaugeBuilder("ordo.queue.visible_depth").ofLongs().setUnit("{message}")
                .setDescription("Messages a read would return now").buildObserver();
        var oldest = meter.gaugeBuilder("ordo.queue.oldest_age").setUnit("s")
                .setDescription("Age of the oldest message in the queue").buildObserver();
        var deadLetters = meter.gaugeBuilder("ordo.dead_letters.open").ofLongs().setUnit("{dead_letter}")
                .setDescription("Open dead letters of the namespace").buildObserver();
        var backpressure = meter.gaugeBuilder("ordo.namespace.backpressure").ofLongs()
                .setDescription("Backpressure state of the namespace: 0 ok, 1 warning, 2 critical").buildObserver();
        List<ObservableMeasurement> observed = List.of(depth, visible, oldest, deadLetters, backpressure);
        callbacks.add(meter.batchCallback(() -> {
            ClusterStats.Sample s = stats.cached();
            if (s == null) {
                return;
            }
            for (ClusterStats.QueueStat q : s.queues()) {
                Attributes a = Attributes.of(QUEUE, q.queue());
                depth.record(q.depth(), a);
                visible.record(q.visibleDepth(), a);
                oldest.record(q.oldestAge() == null ? 0 : q.oldestAge().toNanos() / 1e9, a);
                if (q.namespace() != null) {
                    Attributes ns = Attributes.of(NAMESPACE, q.namespace());
                    deadLetters.record(q.openDeadLetters(), ns);
                    backpressure.record(switch (String.valueOf(q.backpressure())) {
                        case "warning" -> 1L;
                        case "critical" -> 2L;
                        default -> 0L;
                    }, ns);
                }
            }
        }, observed.getFirst(), observed.subList(1, observed.size()).toArray(ObservableMeasurement[]::new)));
    }

    void submitted(String namespace, String template) {
        submitted.add(1, Attributes.of(NAMESPACE, namespace, TEMPLATE, template));
    }

    void cancelled(String namespace, String template) {
        cancelled.add(1, Attributes.of(NAMESPACE, namespace, TEMPLATE, template));
    }

    void backpressureRefused(String namespace) {
        backpressureRefusals.add(1, Attributes.of(NAMESPACE, namespace));
    }

    void leaderChanged(String event) {
        leaderChanges.add(1, Attributes.of(EVENT, event));
    }

    @Override
    public void close() {
        for (AutoCloseable c : callbacks) {
            try {
                c.close();
            } catch (Exception ignored) {
                // closing a callback cannot fail in the SDK
            }
        }
    }
}

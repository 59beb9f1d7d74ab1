package io.ordo.loadtest.flow;

import io.ordo.loadtest.cluster.Topology;

/**
 * One run of a scenario.
 *
 * @param scenario   the scenario it belongs to ({@code burn-down}, {@code steady}, ...)
 * @param shape      the template's DAG
 * @param load       how tasks are offered
 * @param topology   the nodes that work them
 * @param sleepMillis what each step's handler does: 0 is a no-op, else it sleeps that long
 */
record RunSpec(String scenario, Shape shape, Load load, Topology topology, int sleepMillis) {

    String handlerLabel() {
        return sleepMillis == 0 ? "noop" : "sleep " + sleepMillis + "ms";
    }

    /** The task context: tells {@code BenchHandlers} what to do. */
    String context() {
        return sleepMillis == 0 ? "{}" : "{\"sleep_ms\":" + sleepMillis + "}";
    }

    String label() {
        return shape.key() + ", " + load.label() + ", " + topology.label() + ", " + handlerLabel();
    }
}

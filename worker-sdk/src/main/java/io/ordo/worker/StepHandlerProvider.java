package io.ordo.worker;

import java.util.Map;

/**
 * Service-provider interface through which a worker container ({@code ./ordo worker --namespace NAME}) finds
 * handlers: implement it, list the class in {@code META-INF/services/io.ordo.worker.StepHandlerProvider}, and put
 * the jar on the container's classpath. The container runs the handlers of every provider of its namespace.
 */
public interface StepHandlerProvider {
    /** The namespace these handlers serve. */
    String namespace();

    /** Handlers by the name templates use in a step's {@code handler} field. */
    Map<String, StepHandler> handlers();
}

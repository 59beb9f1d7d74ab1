package io.ordo.loadtest.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import io.ordo.worker.StepHandler;
import io.ordo.worker.StepHandlerProvider;
import io.ordo.worker.StepOutcome;

import java.util.Map;

/**
 * The benchmark's one handler, {@value #HANDLER}, for the namespace named by {@code ORDO_BENCH_NAMESPACE}
 * (default {@value #DEFAULT_NAMESPACE}). What it does is read from the task context, so one worker serves every
 * scenario: {@code sleep_ms} (sleep that long, default 0: a no-op) and {@code fail} (the name of a step that fails
 * permanently, which dead-letters it and fails the task). {@code ./ordo worker --namespace bench} finds it through
 * {@code META-INF/services}; benchmark and chaos worker processes are such workers.
 */
public final class BenchHandlers implements StepHandlerProvider {
    public static final String HANDLER = "bench";
    public static final String NAMESPACE_VARIABLE = "ORDO_BENCH_NAMESPACE";
    public static final String DEFAULT_NAMESPACE = "bench";

    @Override
    public String namespace() {
        String ns = System.getenv(NAMESPACE_VARIABLE);
        return ns == null || ns.isBlank() ? DEFAULT_NAMESPACE : ns;
    }

    @Override
    public Map<String, StepHandler> handlers() {
        return Map.of(HANDLER, BenchHandlers::handle);
    }

    /** Sleeps {@code sleep_ms} of the task context, then succeeds, unless the context's {@code fail} names this step. */
    public static StepOutcome handle(io.ordo.worker.StepContext step) throws InterruptedException {
        JsonNode context = step.context();
        long sleep = context == null ? 0 : context.path("sleep_ms").asLong(0);
        if (sleep > 0) {
            Thread.sleep(sleep);
        }
        if (context != null && step.stepName().equals(context.path("fail").asText(null))) {
            return StepOutcome.fail("planted failure of step " + step.stepName());
        }
        return StepOutcome.success();
    }
}

package io.ordo.deploy;

import io.ordo.worker.StepHandler;
import io.ordo.worker.StepHandlerProvider;
import io.ordo.worker.StepOutcome;

import java.util.Map;

/**
 * The handler of namespace {@code drain} that {@link GracefulShutdownTest}'s worker processes run: it takes
 * {@code ORDO_TEST_STEP_MILLIS} (default 400) and succeeds with its attempt number, so that a stop always catches
 * steps running and a step that ran twice shows.
 */
public final class DrainTestHandlers implements StepHandlerProvider {
    @Override
    public String namespace() {
        return "drain";
    }

    @Override
    public Map<String, StepHandler> handlers() {
        long millis = Long.parseLong(System.getenv().getOrDefault("ORDO_TEST_STEP_MILLIS", "400"));
        return Map.of("work", step -> {
            Thread.sleep(millis);
            return StepOutcome.success(Map.of("attempt", step.attempt()));
        });
    }
}

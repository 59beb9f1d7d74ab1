package io.ordo.worker;

/**
 * Runs one attempt of a step. Called on a virtual thread, so blocking I/O is fine. A handler runs at least
 * once per attempt (a worker can die after the work but before the hand-off), so make its effects idempotent,
 * for example with {@link StepContext#idempotencyKey()}. Throwing is a {@link StepOutcome.RetryableFailure}.
 */
@FunctionalInterface
public interface StepHandler {
    StepOutcome handle(StepContext step) throws Exception;

    /**
     * A handler that receives the task context mapped to {@code inputType} (see {@link StepContext#input(Class)}).
     * A context that does not map is a {@link StepOutcome.PermanentFailure}: retrying cannot fix it.
     */
    static <T> StepHandler typed(Class<T> inputType, TypedStepHandler<T> handler) {
        if (inputType == null || handler == null) {
            throw new IllegalArgumentException("typed handler needs an input type and a handler");
        }
        return step -> {
            T input;
            try {
                input = step.input(inputType);
            } catch (StepInputException e) {
                return new StepOutcome.PermanentFailure(new StepError("StepInputException", e.getMessage()));
            }
            return handler.handle(input, step);
        };
    }
}

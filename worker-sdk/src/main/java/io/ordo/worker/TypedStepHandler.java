package io.ordo.worker;

/** A {@link StepHandler} that receives the task context mapped to a Java type, typically a record. */
@FunctionalInterface
public interface TypedStepHandler<T> {
    StepOutcome handle(T input, StepContext step) throws Exception;
}

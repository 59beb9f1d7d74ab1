/**
 * The Java worker SDK: run step handlers of one namespace.
 * <p>
 * Build a worker with {@link io.ordo.worker.OrdoWorker#builder(javax.sql.DataSource)}, register a
 * {@link io.ordo.worker.StepHandler} per handler name (or a typed one, {@link io.ordo.worker.TypedStepHandler}),
 * {@link io.ordo.worker.OrdoWorker#start() start} it and {@link io.ordo.worker.OrdoWorker#stop() stop} it on
 * shutdown. Handlers get a {@link io.ordo.worker.StepContext} and return a sealed
 * {@link io.ordo.worker.StepOutcome}: {@code Succeeded}, {@code RetryableFailure} or {@code PermanentFailure}.
 * <p>
 * Guarantees: a handler runs at least once per attempt and its result counts only for the step's current attempt, so
 * handlers should be idempotent ({@link io.ordo.worker.StepContext#idempotencyKey()}). A worker that dies loses its
 * steps only until their visibility timeout; they then run again, on a new attempt, on another worker.
 * <p>
 * Worker containers ({@code ./ordo worker}, {@code io.ordo.worker.container.WorkerMain} in the worker-container
 * module) find handlers through the {@link io.ordo.worker.StepHandlerProvider} service interface and are configured by
 * {@code io.ordo.worker.container.WorkerConfig}.
 */
package io.ordo.worker;

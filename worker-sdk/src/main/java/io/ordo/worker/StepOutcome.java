package io.ordo.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import io.ordo.Json;

import java.time.Duration;
import java.util.Optional;

/**
 * What a handler reports for one attempt of a step. Handle it with a pattern-matching {@code switch}:
 * <pre>{@code
 * switch (outcome) {
 *     case StepOutcome.Succeeded s -> ...
 *     case StepOutcome.RetryableFailure r -> ...
 *     case StepOutcome.PermanentFailure p -> ...
 * }
 * }</pre>
 * A handler that throws reports a {@link RetryableFailure} carrying the exception's class and message.
 */
public sealed interface StepOutcome {

    /** The step is done; {@code result} (any JSON, {@code null} for none) is handed to the steps that depend on it. */
    record Succeeded(JsonNode result) implements StepOutcome {
        public Succeeded {
            result = result == null ? NullNode.getInstance() : result;
        }
    }

    /**
     * This attempt failed and another may succeed. The orchestrator retries after the step's backoff, or after
     * {@code retryAfter} when present (capped by the step's maximum backoff), until the step's attempts run out;
     * then the step is dead-lettered.
     */
    record RetryableFailure(StepError error, Optional<Duration> retryAfter) implements StepOutcome {
        public RetryableFailure {
            error = error == null ? new StepError(null, null) : error;
            retryAfter = retryAfter == null ? Optional.empty() : retryAfter;
            if (retryAfter.isPresent() && retryAfter.get().isNegative()) {
                throw new IllegalArgumentException("retryAfter must not be negative, got " + retryAfter.get());
            }
        }
    }

    /** The step cannot succeed (bad input, a business rule): it is dead-lettered at once, without retries. */
    record PermanentFailure(StepError error) implements StepOutcome {
        public PermanentFailure {
            error = error == null ? new StepError(null, null) : error;
        }
    }

    /** Success with no result. */
    static StepOutcome success() {
        return new Succeeded(NullNode.getInstance());
    }

    /** Success; {@code result} is turned into JSON with {@link Json#MAPPER} (a record, a map, a JsonNode, ...). */
    static StepOutcome success(Object result) {
        return new Succeeded(result instanceof JsonNode node ? node : Json.MAPPER.valueToTree(result));
    }

    /** A retryable failure, retried after the step's backoff. */
    static StepOutcome retry(String message) {
        return new RetryableFailure(new StepError("RetryableFailure", message), Optional.empty());
    }

    /** A retryable failure, retried after {@code after} (for example a rate limit's Retry-After). */
    static StepOutcome retryAfter(String message, Duration after) {
        return new RetryableFailure(new StepError("RetryableFailure", message), Optional.of(after));
    }

    /** A permanent failure: no retries. */
    static StepOutcome fail(String message) {
        return new PermanentFailure(new StepError("PermanentFailure", message));
    }
}

package io.ordo.worker;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ordo.Json;

/**
 * Why an attempt failed, as recorded on the step, in its dead letter and in the transition log:
 * {@code {"class": type, "message": message}}.
 *
 * @param type     a short classification, e.g. an exception class name or {@code "PaymentDeclined"}
 * @param message  what went wrong, for people
 */
public record StepError(String type, String message) {
    /** Longest message kept; longer ones are cut, so one failure cannot bloat the step row. */
    public static final int MAX_MESSAGE_LENGTH = 4000;

    public StepError {
        type = type == null || type.isBlank() ? "StepFailure" : type;
        message = message == null ? "" : message;
        if (message.length() > MAX_MESSAGE_LENGTH) {
            message = message.substring(0, MAX_MESSAGE_LENGTH) + "...";
        }
    }

    /** The exception's class name and message (its {@code toString()} when it has no message). */
    public static StepError of(Throwable e) {
        return new StepError(e.getClass().getName(), e.getMessage() == null ? e.toString() : e.getMessage());
    }

    ObjectNode toJson() {
        return Json.object().put("class", type).put("message", message);
    }
}

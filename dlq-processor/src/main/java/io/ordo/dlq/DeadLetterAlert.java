package io.ordo.dlq;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ordo.Json;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/**
 * A namespace's dead letters passed a threshold of the {@link DlqPolicy}.
 *
 * @param observed   new letters within the window (RATE) or open letters (COUNT)
 * @param threshold  the threshold that was passed
 * @param window     the rate's window
 * @param raisedBy   the node that raised it
 */
public record DeadLetterAlert(String namespace, Kind kind, long observed, long threshold, Duration window, Instant at,
                              String raisedBy) {
    public enum Kind {
        /** Too many new dead letters within the window. */
        RATE,
        /** Too many open dead letters. */
        COUNT;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** What is logged and POSTed to the webhook. */
    public String toJson() {
        ObjectNode o = Json.object();
        o.put("event", "ordo.dlq.alert");
        o.put("namespace", namespace);
        o.put("alert", kind.label());
        o.put("observed", observed);
        o.put("threshold", threshold);
        if (kind == Kind.RATE) {
            o.put("window_ms", window.toMillis());
        }
        o.put("at", at.toString());
        o.put("raised_by", raisedBy);
        return o.toString();
    }

    public String describe() {
        return kind == Kind.RATE
                ? observed + " new dead letters in namespace " + namespace + " within " + window + ", threshold " + threshold
                : observed + " open dead letters in namespace " + namespace + ", threshold " + threshold;
    }
}

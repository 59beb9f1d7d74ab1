package io.ordo.dlq;

import io.ordo.InvalidInputException;

import java.util.Locale;

/** Where a dead letter stands: waiting for a decision, or resolved by a requeue or a discard. */
public enum DeadLetterStatus {
    OPEN,
    REQUEUED,
    DISCARDED;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static DeadLetterStatus of(String label) {
        for (DeadLetterStatus s : values()) {
            if (s.label().equals(label)) {
                return s;
            }
        }
        throw new InvalidInputException("status must be open, requeued or discarded, got " + quote(label));
    }

    static String quote(String s) {
        return s == null ? "null" : "'" + s + "'";
    }
}

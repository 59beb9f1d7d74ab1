package io.ordo.dlq;

import io.ordo.InvalidInputException;

import java.util.Locale;

/**
 * What a dlq-processor decided about a dead letter from its error class: worth retrying later, never going to
 * succeed as it is, or not known.
 */
public enum Classification {
    TRANSIENT,
    PERMANENT,
    UNKNOWN;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Classification of(String label) {
        for (Classification c : values()) {
            if (c.label().equals(label)) {
                return c;
            }
        }
        throw new InvalidInputException("classification must be transient, permanent or unknown, got " + DeadLetterStatus.quote(label));
    }
}

package io.ordo.dlq.http;

import io.ordo.InvalidInputException;

import java.util.Locale;

/** Roles of API tokens; each includes the ones before it. Reading dead letters needs a reader, changing them an operator. */
public enum Role {
    READER,
    SUBMITTER,
    OPERATOR,
    ADMIN;

    public boolean includes(Role other) {
        return ordinal() >= other.ordinal();
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Role of(String label) {
        for (Role r : values()) {
            if (r.label().equals(label)) {
                return r;
            }
        }
        throw new InvalidInputException("unknown role '" + label + "'; one of reader, submitter, operator, admin");
    }
}

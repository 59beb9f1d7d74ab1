package io.ordo.http.auth;

import io.ordo.InvalidInputException;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Roles of API tokens. Each includes the ones before it: a submitter may read, an operator may submit,
 * an admin may do everything.
 */
public enum Role {
    /** Reads tasks, templates, queues, cluster state and config. */
    READER,
    /** Also submits tasks. */
    SUBMITTER,
    /** Also cancels tasks, registers templates, changes config and handles dead letters. */
    OPERATOR,
    /** Also manages API tokens. */
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
        throw new InvalidInputException("unknown role " + (label == null ? "null" : "'" + label + "'") + "; one of "
                + Arrays.stream(values()).map(Role::label).collect(Collectors.joining(", ")));
    }
}

package io.ordo.http;

import io.ordo.InvalidInputException;

/** A request was refused because of one field: a body field, a path or query parameter, or a header. */
public class InvalidFieldException extends InvalidInputException {
    private final String field;

    public InvalidFieldException(String field, String message) {
        super(message);
        this.field = field;
    }

    public InvalidFieldException(String field, String message, Throwable cause) {
        super(message, cause);
        this.field = field;
    }

    /** The field at fault, such as {@code namespace}, {@code options.priority} or {@code id}. */
    public String field() {
        return field;
    }
}

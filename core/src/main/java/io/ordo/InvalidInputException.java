package io.ordo;

/** Input was refused before anything changed: a bad name, malformed JSON, an out-of-range value. */
public class InvalidInputException extends OrdoException {
    public InvalidInputException(String message) {
        super(message);
    }

    public InvalidInputException(String message, Throwable cause) {
        super(message, cause);
    }
}

package io.ordo;

/**
 * Base of every failure Ordo reports. Unchecked; subclasses carry the context a caller may act on.
 */
public class OrdoException extends RuntimeException {
    public OrdoException(String message) {
        super(message);
    }

    public OrdoException(String message, Throwable cause) {
        super(message, cause);
    }
}

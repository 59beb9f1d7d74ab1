package io.ordo;

/** A namespace, template, version or task that does not exist. */
public class NotFoundException extends OrdoException {
    public NotFoundException(String message, Throwable cause) {
        super(message, cause);
    }
}

package io.ordo.http;

import io.ordo.OrdoException;

/** The request conflicts with the resource's current state, e.g. cancelling a task that already completed (HTTP 409). */
public class ConflictException extends OrdoException {
    public ConflictException(String message) {
        super(message);
    }
}

package io.ordo.template;

import io.ordo.OrdoException;

/** The template version is already registered with a different body; register a new version instead. */
public class TemplateConflictException extends OrdoException {
    public TemplateConflictException(String message, Throwable cause) {
        super(message, cause);
    }
}

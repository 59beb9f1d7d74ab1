package io.ordo.worker;

import io.ordo.OrdoException;

/**
 * The database role the worker connects as may not work this namespace: it must be a member of
 * {@code ordo_worker_<namespace>} (or of {@code ordo_orchestrator}).
 */
public class NamespaceAccessDeniedException extends OrdoException {
    private final String namespace;

    public NamespaceAccessDeniedException(String namespace, String message, Throwable cause) {
        super(message, cause);
        this.namespace = namespace;
    }

    public String namespace() {
        return namespace;
    }
}

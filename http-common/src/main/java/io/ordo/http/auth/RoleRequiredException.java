package io.ordo.http.auth;

import io.ordo.OrdoException;

/** The request's token is valid but its role does not include the one the route needs (HTTP 403). */
public class RoleRequiredException extends OrdoException {
    private final Role required;
    private final Role actual;

    public RoleRequiredException(Role required, Role actual) {
        super("this route needs the role " + required.label() + " (or one that includes it); the token has the role "
                + actual.label());
        this.required = required;
        this.actual = actual;
    }

    public Role required() {
        return required;
    }

    public Role actual() {
        return actual;
    }
}

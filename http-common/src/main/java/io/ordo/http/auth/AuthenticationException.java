package io.ordo.http.auth;

import io.ordo.OrdoException;

/** A request to a protected route came without a valid API token (HTTP 401). */
public class AuthenticationException extends OrdoException {
    public AuthenticationException(String message) {
        super(message);
    }
}

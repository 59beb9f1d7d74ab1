package io.ordo.dlq.http;

import java.util.Optional;

/**
 * Who presents an API token. {@link DatabaseTokenVerifier} checks tokens against {@code ordo.api_token}; a server
 * that verifies tokens its own way passes its own.
 */
@FunctionalInterface
public interface TokenVerifier {
    /**
     * A verified caller.
     *
     * @param name  the token's name, recorded as the actor of what the caller changes ({@code api:<name>})
     */
    record Caller(String name, Role role) {
    }

    /** The caller of a bearer token, or empty when the token is unknown or revoked. */
    Optional<Caller> verify(String token);
}

package io.ordo.http.auth;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.ordo.http.auth.ApiTokens.Principal;

import java.util.Optional;

/**
 * Who may call which route. Every route is registered through {@link #require}, {@link #open} or
 * {@link #observability}, so that its rule is part of the route ({@link Guarded#role()}) and tests can check
 * every route's rule.
 */
public final class Access {
    private final ApiTokens tokens;
    private final boolean observabilityOpen;

    /**
     * @param tokens             the token store, or null for a service with open routes only (a worker's health port)
     * @param observabilityOpen  whether health and metrics routes need no token
     */
    public Access(ApiTokens tokens, boolean observabilityOpen) {
        this.tokens = tokens;
        this.observabilityOpen = observabilityOpen;
    }

    /** Access for a port that serves only open routes (health and metrics of a worker). */
    public static Access openOnly() {
        return new Access(null, true);
    }

    /** A handler that runs only for a token whose role includes {@code role}. */
    public Guarded require(Role role, Handler handler) {
        if (role == null) {
            throw new IllegalArgumentException("role is required; use open(..) for an open route");
        }
        return new Guarded(role, handler, this);
    }

    /** A handler anyone may call. */
    public Guarded open(Handler handler) {
        return new Guarded(null, handler, this);
    }

    /** A health or metrics handler: open, or for readers when the server is configured so. */
    public Guarded observability(Handler handler) {
        return observabilityOpen ? open(handler) : require(Role.READER, handler);
    }

    /** The caller of a request that passed a guarded route with a role. */
    public static Optional<Principal> principal(ServerRequest req) {
        return req.context().get(Principal.class);
    }

    /** A short name of the caller for audit columns: {@code api:<token name>} or {@code api:anonymous}. */
    public static String actor(ServerRequest req) {
        return "api:" + principal(req).map(Principal::name).orElse("anonymous");
    }

    private Principal authenticate(ServerRequest req) {
        Optional<String> header = req.headers().first(HeaderNames.AUTHORIZATION);
        if (header.isEmpty()) {
            throw new AuthenticationException("this route needs an API token: send 'Authorization: Bearer <token>'");
        }
        String value = header.get().trim();
        if (value.length() < 7 || !value.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new AuthenticationException("the Authorization header must be 'Bearer <token>'");
        }
        if (tokens == null) {
            throw new AuthenticationException("this server accepts no API tokens");
        }
        return tokens.verify(value.substring(7).trim())
                .orElseThrow(() -> new AuthenticationException("the API token is unknown or revoked"));
    }

    /** A route handler with the role it needs; null means open. */
    public record Guarded(Role role, Handler handler, Access access) implements Handler {
        @Override
        public void handle(ServerRequest req, ServerResponse res) throws Exception {
            if (role != null) {
                Principal principal = access.authenticate(req);
                if (!principal.role().includes(role)) {
                    throw new RoleRequiredException(role, principal.role());
                }
                req.context().register(principal);
            }
            handler.handle(req, res);
        }
    }
}

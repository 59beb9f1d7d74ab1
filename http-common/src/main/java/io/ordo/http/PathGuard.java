package io.ordo.http;

import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;

/**
 * Refuses request paths that routing would otherwise reinterpret: matrix parameters ({@code /v1/tasks/1;drop}
 * would route as {@code /v1/tasks/1}), control characters and encoded NULs. The refusal is a 400 problem.
 */
public final class PathGuard implements Filter {
    @Override
    public void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        String raw = req.prologue().uriPath().rawPath();
        if (raw.indexOf(';') >= 0) {
            throw new InvalidFieldException("path", "the path must not contain ';' (path parameters are not accepted): "
                    + Requests.shorten(raw));
        }
        String decoded = req.path().path();
        if (decoded.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw new InvalidFieldException("path", "the path must not contain control characters");
        }
        chain.proceed();
    }
}

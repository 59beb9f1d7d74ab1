package io.ordo.orchestrator.api;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.ordo.InvalidInputException;
import io.ordo.NotFoundException;
import io.ordo.http.InvalidFieldException;
import io.ordo.http.Requests;
import io.ordo.http.auth.Access;
import io.ordo.http.auth.ApiTokens;
import io.ordo.http.auth.Role;

import java.time.Instant;
import java.util.Map;

/** {@code /v1/tokens} (admin): list tokens (never their secrets), create one (its secret is shown once), revoke one. */
public final class TokenService implements HttpService {
    private final Access access;
    private final ApiTokens tokens;
    private final Requests requests;

    public TokenService(Access access, ApiTokens tokens, Requests requests) {
        this.access = access;
        this.tokens = tokens;
        this.requests = requests;
    }

    /** Body of {@code POST /v1/tokens}. */
    record CreateRequest(String role, String name) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Token(long id, String name, String role, Instant createdAt, String createdBy, Instant revokedAt) {
        static Token of(ApiTokens.Token t) {
            return new Token(t.id(), t.name(), t.role().label(), t.createdAt(), t.createdBy(), t.revokedAt());
        }
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Created(Token token, String secret) {
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", access.require(Role.ADMIN, this::list))
                .post("/", access.require(Role.ADMIN, this::create))
                .delete("/{id}", access.require(Role.ADMIN, this::revoke));
    }

    private void list(ServerRequest req, ServerResponse res) {
        Responses.ok(res, Map.of("items", tokens.list().stream().map(Token::of).toList()));
    }

    private void create(ServerRequest req, ServerResponse res) {
        CreateRequest body = requests.json(req, CreateRequest.class);
        Role role;
        try {
            role = Role.of(body.role());
        } catch (InvalidInputException e) {
            throw new InvalidFieldException("role", e.getMessage(), e);
        }
        ApiTokens.Created created;
        try {
            created = tokens.create(role, body.name());
        } catch (InvalidInputException e) {
            throw new InvalidFieldException("name", e.getMessage(), e);
        }
        res.header(HeaderNames.LOCATION, "/v1/tokens/" + created.token().id());
        Responses.json(res, Status.CREATED_201, new Created(Token.of(created.token()), created.secret()));
    }

    private void revoke(ServerRequest req, ServerResponse res) {
        long id = Requests.id(req, "id");
        if (!tokens.revoke(id)) {
            throw new NotFoundException("no active token " + id, null);
        }
        res.status(Status.NO_CONTENT_204).send();
    }
}

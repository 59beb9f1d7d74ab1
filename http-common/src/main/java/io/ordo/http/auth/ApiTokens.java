package io.ordo.http.auth;

import io.ordo.InvalidInputException;
import org.jooq.DSLContext;
import org.jooq.Record;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * API tokens: 32 random bytes, shown once when created; the database keeps only their SHA-256
 * ({@code ordo.api_token}).
 */
public final class ApiTokens {
    private static final String PREFIX = "ordo_";
    private static final int MAX_TOKEN_CHARS = 200;
    private static final String NAME_PATTERN = "[A-Za-z0-9_.@:-]{1,100}";
    private static final DateTimeFormatter NAME_TIME = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);

    private final DSLContext dsl;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();

    public ApiTokens(DSLContext dsl, Clock clock) {
        this.dsl = dsl;
        this.clock = clock;
    }

    /** A token as listed: never its secret. */
    public record Token(long id, String name, Role role, Instant createdAt, String createdBy, Instant revokedAt) {
    }

    /** A new token and its secret, which is not stored and cannot be shown again. */
    public record Created(Token token, String secret) {
    }

    /** Who a request comes from. */
    public record Principal(long tokenId, String name, Role role) {
    }

    /** Creates a token; {@code name} null gives one made of the role and the time. */
    public Created create(Role role, String name) {
        if (role == null) {
            throw new InvalidInputException("a token needs a role");
        }
        String effectiveName = name == null ? role.label() + "-" + NAME_TIME.format(clock.instant()) : name;
        if (!effectiveName.matches(NAME_PATTERN)) {
            throw new InvalidInputException("token name must be 1-100 characters of [A-Za-z0-9_.@:-], got '"
                    + effectiveName.substring(0, Math.min(effectiveName.length(), 100)) + "'");
        }
        byte[] bytes = new byte[32];
        random.nextBytes(bytes);
        String secret = PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
        Record r = dsl.fetchOne("insert into ordo.api_token (name, role, token_sha256) values (?, ?, ?)"
                + " returning id, name, role, created_at, created_by, revoked_at", effectiveName, role.label(), sha256(secret));
        return new Created(toToken(r), secret);
    }

    /** The principal of a token, or empty when the token is unknown or revoked. */
    public Optional<Principal> verify(String secret) {
        if (secret == null || secret.isEmpty() || secret.length() > MAX_TOKEN_CHARS) {
            return Optional.empty();
        }
        return dsl.fetchOptional("select id, name, role from ordo.api_token where token_sha256 = ? and revoked_at is null",
                        sha256(secret))
                .map(r -> new Principal(r.get(0, Long.class), r.get(1, String.class), Role.of(r.get(2, String.class))));
    }

    public List<Token> list() {
        return dsl.fetch("select id, name, role, created_at, created_by, revoked_at from ordo.api_token order by id")
                .map(ApiTokens::toToken);
    }

    /** Revokes a token; returns false if there is no such active token. */
    public boolean revoke(long id) {
        return dsl.execute("update ordo.api_token set revoked_at = now() where id = ? and revoked_at is null", id) == 1;
    }

    /** Whether any token that is not revoked exists. */
    public boolean anyActive() {
        return dsl.fetchExists(dsl.selectOne().from("ordo.api_token").where("revoked_at is null"));
    }

    static String sha256(String secret) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    private static Token toToken(Record r) {
        OffsetDateTime revoked = r.get(5, OffsetDateTime.class);
        return new Token(r.get(0, Long.class), r.get(1, String.class), Role.of(r.get(2, String.class)),
                r.get(3, OffsetDateTime.class).toInstant(), r.get(4, String.class), revoked == null ? null : revoked.toInstant());
    }
}

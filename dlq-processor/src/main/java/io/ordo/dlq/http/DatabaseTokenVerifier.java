package io.ordo.dlq.http;

import io.ordo.db.SqlErrors;
import org.jooq.DSLContext;
import org.jooq.exception.DataAccessException;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;

/**
 * Verifies API tokens against {@code ordo.api_token}, which keeps only the SHA-256 (hex) of each token with its
 * name, role and revocation time. Without that table no token is valid.
 */
public final class DatabaseTokenVerifier implements TokenVerifier {
    private static final System.Logger LOG = System.getLogger(DatabaseTokenVerifier.class.getName());
    private static final int MAX_TOKEN_CHARS = 200;

    private final DSLContext dsl;

    public DatabaseTokenVerifier(DSLContext dsl) {
        this.dsl = dsl;
    }

    @Override
    public Optional<Caller> verify(String token) {
        if (token == null || token.isEmpty() || token.length() > MAX_TOKEN_CHARS) {
            return Optional.empty();
        }
        try {
            return dsl.fetchOptional("select name, role from ordo.api_token where token_sha256 = ? and revoked_at is null",
                    sha256(token)).map(r -> new Caller(r.get(0, String.class), Role.of(r.get(1, String.class))));
        } catch (DataAccessException e) {
            if ("42P01".equals(SqlErrors.sqlState(e))) {
                LOG.log(System.Logger.Level.WARNING, "no table ordo.api_token: every API token is refused");
                return Optional.empty();
            }
            throw e;
        }
    }

    /** The hex SHA-256 of a token, as {@code ordo.api_token.token_sha256} holds it. */
    public static String sha256(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}

package io.ordo.http;

import io.ordo.InvalidInputException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Settings of one HTTP port.
 *
 * @param host               address to bind, {@code 0.0.0.0} for all
 * @param port               port, 0 for any free one
 * @param maxBodyBytes       largest request body accepted; larger ones get 413
 * @param tlsKeystore        a PKCS12 keystore with the server's key and certificate chain; null serves plain HTTP
 * @param tlsKeystorePassword password of the keystore (from the environment, never from a file or flag)
 * @param observabilityOpen  whether health and metrics need no token
 */
public record HttpSettings(String host, int port, long maxBodyBytes, Path tlsKeystore, String tlsKeystorePassword,
                           boolean observabilityOpen) {
    public static final long DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;

    public HttpSettings {
        if (host == null || host.isBlank()) {
            throw new InvalidInputException("ORDO_HTTP_HOST must not be empty");
        }
        if (port < 0 || port > 65535) {
            throw new InvalidInputException("ORDO_HTTP_PORT must be between 0 and 65535, got " + port);
        }
        if (maxBodyBytes < 1024 || maxBodyBytes > 1024L * 1024 * 1024) {
            throw new InvalidInputException("ORDO_HTTP_MAX_BODY_BYTES must be between 1024 and 1073741824, got " + maxBodyBytes);
        }
        if (tlsKeystore != null && !Files.isReadable(tlsKeystore)) {
            throw new InvalidInputException("ORDO_HTTP_TLS_KEYSTORE: cannot read " + tlsKeystore);
        }
        if (tlsKeystore != null && tlsKeystorePassword == null) {
            throw new InvalidInputException("ORDO_HTTP_TLS_KEYSTORE is set, so ORDO_HTTP_TLS_KEYSTORE_PASSWORD must be too");
        }
    }

    public static HttpSettings defaults(int port) {
        return new HttpSettings("0.0.0.0", port, DEFAULT_MAX_BODY_BYTES, null, null, true);
    }

    /**
     * From {@code ORDO_HTTP_HOST}, {@code ORDO_HTTP_PORT}, {@code ORDO_HTTP_MAX_BODY_BYTES}, {@code ORDO_HTTP_TLS_KEYSTORE},
     * {@code ORDO_HTTP_TLS_KEYSTORE_PASSWORD} and {@code ORDO_HTTP_OPEN_OBSERVABILITY}; {@code port} wins over the
     * environment when not null.
     */
    public static HttpSettings fromEnvironment(Map<String, String> env, Integer port, int defaultPort) {
        String keystore = blankToNull(env.get("ORDO_HTTP_TLS_KEYSTORE"));
        return new HttpSettings(
                env.getOrDefault("ORDO_HTTP_HOST", "0.0.0.0"),
                port != null ? port : integer(env, "ORDO_HTTP_PORT", defaultPort),
                integer(env, "ORDO_HTTP_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
                keystore == null ? null : Path.of(keystore),
                env.get("ORDO_HTTP_TLS_KEYSTORE_PASSWORD"),
                bool(env, "ORDO_HTTP_OPEN_OBSERVABILITY", true));
    }

    public HttpSettings withPort(int newPort) {
        return new HttpSettings(host, newPort, maxBodyBytes, tlsKeystore, tlsKeystorePassword, observabilityOpen);
    }

    public HttpSettings withMaxBodyBytes(long bytes) {
        return new HttpSettings(host, port, bytes, tlsKeystore, tlsKeystorePassword, observabilityOpen);
    }

    public HttpSettings withTls(Path keystore, String password) {
        return new HttpSettings(host, port, maxBodyBytes, keystore, password, observabilityOpen);
    }

    public HttpSettings withObservabilityOpen(boolean open) {
        return new HttpSettings(host, port, maxBodyBytes, tlsKeystore, tlsKeystorePassword, open);
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    private static int integer(Map<String, String> env, String key, long defaultValue) {
        String raw = blankToNull(env.get(key));
        try {
            return raw == null ? (int) defaultValue : Integer.parseInt(raw.trim());
        } catch (NumberFormatException e) {
            throw new InvalidInputException(key + " must be a whole number, got '" + raw + "'");
        }
    }

    private static boolean bool(Map<String, String> env, String key, boolean defaultValue) {
        String raw = blankToNull(env.get(key));
        if (raw == null) {
            return defaultValue;
        }
        return switch (raw.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new InvalidInputException(key + " must be true or false, got '" + raw + "'");
        };
    }
}

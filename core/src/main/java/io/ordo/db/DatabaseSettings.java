package io.ordo.db;

import io.ordo.InvalidInputException;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

/**
 * Where the database is and how many connections to keep.
 *
 * @param jdbcUrl          a {@code jdbc:postgresql:} URL
 * @param user             user, or null when the URL carries it
 * @param password         password, or null
 * @param maxPoolSize      upper bound of the connection pool
 * @param applicationName  reported to PostgreSQL as application_name
 */
public record DatabaseSettings(String jdbcUrl, String user, String password, int maxPoolSize, String applicationName) {

    public DatabaseSettings {
        if (jdbcUrl == null || !jdbcUrl.startsWith("jdbc:postgresql:")) {
            throw new InvalidInputException("database URL must start with jdbc:postgresql: or postgres://, got " + jdbcUrl);
        }
        if (maxPoolSize < 1 || maxPoolSize > 1000) {
            throw new InvalidInputException("maxPoolSize must be between 1 and 1000, got " + maxPoolSize);
        }
        if (applicationName == null || applicationName.isBlank()) {
            applicationName = "ordo";
        }
    }

    /**
     * Accepts {@code jdbc:postgresql://host/db?user=..} or {@code postgres://user:pass@host:port/db?..}.
     */
    public static DatabaseSettings fromUrl(String url) {
        if (url == null || url.isBlank()) {
            throw new InvalidInputException("database URL is empty");
        }
        if (url.startsWith("jdbc:")) {
            return new DatabaseSettings(url, null, null, 10, "ordo");
        }
        if (!url.startsWith("postgres://") && !url.startsWith("postgresql://")) {
            throw new InvalidInputException("database URL must start with jdbc:postgresql: or postgres://, got " + url);
        }
        URI uri = URI.create(url);
        String user = null;
        String password = null;
        if (uri.getRawUserInfo() != null) {
            String[] parts = uri.getRawUserInfo().split(":", 2);
            user = URLDecoder.decode(parts[0], StandardCharsets.UTF_8);
            password = parts.length > 1 ? URLDecoder.decode(parts[1], StandardCharsets.UTF_8) : null;
        }
        String host = uri.getHost() == null ? "localhost" : uri.getHost();
        int port = uri.getPort() < 0 ? 5432 : uri.getPort();
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/postgres" : uri.getRawPath();
        String query = uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery();
        return new DatabaseSettings("jdbc:postgresql://" + host + ":" + port + path + query, user, password, 10, "ordo");
    }

    /** The same server and parameters, another database. */
    public DatabaseSettings withDatabase(String database) {
        if (!database.matches("[A-Za-z0-9_]+")) {
            throw new InvalidInputException("invalid database name: " + database);
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("^(jdbc:postgresql://[^/?]*)(/[^?]*)?(\\?.*)?$").matcher(jdbcUrl);
        if (!m.matches()) {
            throw new InvalidInputException("cannot find the database in URL " + jdbcUrl);
        }
        String query = m.group(3) == null ? "" : m.group(3);
        return new DatabaseSettings(m.group(1) + "/" + database + query, user, password, maxPoolSize, applicationName);
    }

    public DatabaseSettings withMaxPoolSize(int size) {
        return new DatabaseSettings(jdbcUrl, user, password, size, applicationName);
    }

    public DatabaseSettings withApplicationName(String name) {
        return new DatabaseSettings(jdbcUrl, user, password, maxPoolSize, name);
    }

    public DatabaseSettings withCredentials(String newUser, String newPassword) {
        return new DatabaseSettings(jdbcUrl, newUser, newPassword, maxPoolSize, applicationName);
    }

    @Override
    public String toString() {
        return "DatabaseSettings[" + jdbcUrl.replaceAll("password=[^&]*", "password=***") + ", user=" + user
                + ", maxPoolSize=" + maxPoolSize + "]";
    }
}

package io.ordo.orchestrator;

import io.ordo.InvalidInputException;
import io.ordo.config.ConfigKeys;
import io.ordo.http.HttpSettings;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;

/**
 * Settings of {@code ordo server}, from the environment and the command line; a bad value fails at start.
 *
 * @param databaseUrl      ORDO_DATABASE_URL, or null for an embedded PostgreSQL
 * @param embeddedDataDir  where the embedded PostgreSQL keeps its data (ORDO_EMBEDDED_DATA_DIR, default ~/.ordo/pg)
 * @param templatesDir     templates to register at start (--templates or ORDO_TEMPLATES_DIR), or null
 * @param http             the HTTP port (--port or ORDO_HTTP_PORT, default 8080) and its limits, TLS and access
 * @param nodeId           this node's id (ORDO_NODE_ID, default orchestrator-<random>)
 * @param configValues     cluster config from the environment ({@code ORDO_ELECTION_INTERVAL=2s} ...), key → raw value
 * @param statsInterval    how often queue statistics and rates are sampled (ORDO_STATS_INTERVAL_MS, default 5000)
 * @param liveTimeout      longest time the orchestration loop may go without a round before /health/live fails
 *                         (ORDO_LIVE_TIMEOUT_MS, default 60000)
 * @param migrate          whether the server applies pending migrations at start (ORDO_MIGRATE, default true); false
 *                         where a migration job runs {@code ordo migrate} first (an embedded PostgreSQL is always migrated)
 */
public record ServerSettings(String databaseUrl, Path embeddedDataDir, Path templatesDir, HttpSettings http, String nodeId,
                             Map<String, String> configValues, Duration statsInterval, Duration liveTimeout, boolean migrate) {
    public ServerSettings {
        if (templatesDir != null && !Files.isDirectory(templatesDir)) {
            throw new InvalidInputException("templates directory " + templatesDir + " does not exist or is not a directory");
        }
        if (statsInterval.compareTo(Duration.ofMillis(100)) < 0) {
            throw new InvalidInputException("ORDO_STATS_INTERVAL_MS must be at least 100, got " + statsInterval.toMillis());
        }
        if (liveTimeout.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new InvalidInputException("ORDO_LIVE_TIMEOUT_MS must be at least 1000, got " + liveTimeout.toMillis());
        }
        configValues = Map.copyOf(configValues);
    }

    /** Settings for a node on an existing database, as tests and embedding applications use it. */
    public static ServerSettings forNode(String nodeId, HttpSettings http) {
        return new ServerSettings(null, null, null, http, nodeId, Map.of(), Duration.ofSeconds(5), Duration.ofSeconds(60), true);
    }

    public ServerSettings withStatsInterval(Duration interval) {
        return new ServerSettings(databaseUrl, embeddedDataDir, templatesDir, http, nodeId, configValues, interval, liveTimeout, migrate);
    }

    public ServerSettings withConfigValues(Map<String, String> values) {
        return new ServerSettings(databaseUrl, embeddedDataDir, templatesDir, http, nodeId, values, statsInterval, liveTimeout, migrate);
    }

    /** {@code --port N} and {@code --templates DIR} win over the environment. */
    public static ServerSettings parse(String[] args, Map<String, String> env) {
        Integer port = null;
        String templates = env.get("ORDO_TEMPLATES_DIR");
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--port" -> port = integer("--port", value(args, ++i, arg));
                case "--templates" -> templates = value(args, ++i, arg);
                default -> {
                    if (arg.startsWith("--port=")) {
                        port = integer("--port", arg.substring(7));
                    } else if (arg.startsWith("--templates=")) {
                        templates = arg.substring(12);
                    } else {
                        throw new InvalidInputException("unknown option " + arg + "; ordo server takes --port N and --templates DIR");
                    }
                }
            }
        }
        String url = env.get("ORDO_DATABASE_URL");
        String dataDir = env.get("ORDO_EMBEDDED_DATA_DIR");
        return new ServerSettings(
                url == null || url.isBlank() ? null : url,
                dataDir == null || dataDir.isBlank() ? Path.of(System.getProperty("user.home"), ".ordo", "pg") : Path.of(dataDir),
                templates == null || templates.isBlank() ? null : Path.of(templates),
                HttpSettings.fromEnvironment(env, port, 8080),
                env.getOrDefault("ORDO_NODE_ID", "orchestrator-" + UUID.randomUUID().toString().substring(0, 8)),
                ConfigKeys.fromEnvironment(env),
                Duration.ofMillis(integer("ORDO_STATS_INTERVAL_MS", env.getOrDefault("ORDO_STATS_INTERVAL_MS", "5000"))),
                Duration.ofMillis(integer("ORDO_LIVE_TIMEOUT_MS", env.getOrDefault("ORDO_LIVE_TIMEOUT_MS", "60000"))),
                bool("ORDO_MIGRATE", env.getOrDefault("ORDO_MIGRATE", "true")));
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new InvalidInputException(option + " needs a value");
        }
        return args[i];
    }

    private static boolean bool(String name, String raw) {
        return switch (raw.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new InvalidInputException(name + " must be true or false, got '" + raw + "'");
        };
    }

    private static int integer(String name, String raw) {
        try {
            return Integer.parseInt(raw.trim());
        } catch (NumberFormatException e) {
            throw new InvalidInputException(name + " must be a whole number, got '" + raw + "'");
        }
    }
}

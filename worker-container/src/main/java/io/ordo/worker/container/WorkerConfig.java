package io.ordo.worker.container;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.ordo.InvalidInputException;
import io.ordo.OrdoException;
import io.ordo.db.DatabaseSettings;
import io.ordo.worker.WorkerSettings;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Configuration of a worker container, from (highest first) the command line, environment variables, an optional
 * config file and the defaults of {@link WorkerSettings#defaults}.
 * <p>
 * Keys, as spelled in the config file (a {@code .properties} file or flat {@code .yaml}/{@code .yml}), with their
 * environment variables:
 * <table>
 *   <tr><td>{@code database_url}</td><td>{@code ORDO_DATABASE_URL}</td><td>required: {@code jdbc:postgresql://..} or {@code postgres://user:pass@host/db}</td></tr>
 *   <tr><td>{@code database_user}, {@code database_password}</td><td>{@code ORDO_DATABASE_USER}, {@code ORDO_DATABASE_PASSWORD}</td><td>when the URL does not carry them</td></tr>
 *   <tr><td>{@code namespace}</td><td>{@code ORDO_WORKER_NAMESPACE}</td><td>required (or {@code --namespace})</td></tr>
 *   <tr><td>{@code concurrency}</td><td>{@code ORDO_WORKER_CONCURRENCY}</td><td>or {@code --concurrency}</td></tr>
 *   <tr><td>{@code batch_size}, {@code visibility_timeout}, {@code heartbeat_interval}, {@code poll_min}, {@code poll_max},
 *       {@code shutdown_grace}, {@code hand_off_batch}, {@code hand_off_linger}, {@code node_id}</td>
 *       <td>{@code ORDO_WORKER_} + the key in capitals</td><td>see {@link WorkerSettings}</td></tr>
 *   <tr><td>{@code health_port}</td><td>{@code ORDO_WORKER_HEALTH_PORT}</td><td>port of {@code /health/live} and
 *       {@code /health/ready}; -1 (the default) for none, 0 for any free one</td></tr>
 * </table>
 * The file is named by {@code --config FILE} or {@code ORDO_WORKER_CONFIG}. Durations are written {@code 500ms},
 * {@code 30s}, {@code 5m}, {@code 1h} or ISO-8601 ({@code PT30S}).
 *
 * @param database    where the worker connects
 * @param worker      the worker's settings
 * @param healthPort  port of the health endpoints, -1 for none, 0 for any free one
 */
public record WorkerConfig(DatabaseSettings database, WorkerSettings worker, int healthPort) {
    /** Every key a config file may hold. */
    public static final List<String> KEYS = List.of("database_url", "database_user", "database_password", "namespace",
            "concurrency", "batch_size", "visibility_timeout", "heartbeat_interval", "poll_min", "poll_max", "shutdown_grace",
            "hand_off_batch", "hand_off_linger", "node_id", "health_port");
    private static final Pattern DURATION = Pattern.compile("^([0-9]{1,9})(ms|s|m|h)$");

    public WorkerConfig {
        if (database == null || worker == null) {
            throw new InvalidInputException("a worker configuration needs database settings and worker settings");
        }
        if (healthPort < -1 || healthPort > 65535) {
            throw new InvalidInputException("health_port must be a port number (0 for any free one) or -1 for none, got " + healthPort);
        }
    }

    /** The environment variable of a key. */
    public static String environmentVariable(String key) {
        return key.startsWith("database_") ? "ORDO_" + key.toUpperCase(Locale.ROOT) : "ORDO_WORKER_" + key.toUpperCase(Locale.ROOT);
    }

    /**
     * Loads the configuration.
     *
     * @param args  the command line after {@code worker}: {@code --namespace NAME}, {@code --concurrency N},
     *              {@code --config FILE}
     * @param env   the environment, usually {@link System#getenv()}
     * @throws InvalidInputException naming the key, where it came from and what is allowed
     */
    public static WorkerConfig load(List<String> args, Map<String, String> env) {
        Map<String, Sourced> values = new LinkedHashMap<>();
        Map<String, String> cli = parseArgs(args);
        String file = cli.containsKey("config") ? cli.remove("config") : env.get("ORDO_WORKER_CONFIG");
        if (file != null && !file.isBlank()) {
            readFile(Path.of(file)).forEach((k, v) -> values.put(k, new Sourced(v, file)));
        }
        for (String key : KEYS) {
            String v = env.get(environmentVariable(key));
            if (v != null && !v.isBlank()) {
                values.put(key, new Sourced(v.trim(), environmentVariable(key)));
            }
        }
        cli.forEach((k, v) -> values.put(k, new Sourced(v, "--" + k.replace('_', '-'))));

        Sourced url = values.get("database_url");
        if (url == null) {
            throw new InvalidInputException("database_url is not set: set ORDO_DATABASE_URL (or database_url in the config file)");
        }
        DatabaseSettings database = parse(url, DatabaseSettings::fromUrl);
        if (values.containsKey("database_user") || values.containsKey("database_password")) {
            database = database.withCredentials(
                    values.containsKey("database_user") ? values.get("database_user").value() : database.user(),
                    values.containsKey("database_password") ? values.get("database_password").value() : database.password());
        }
        Sourced ns = values.get("namespace");
        if (ns == null) {
            throw new InvalidInputException("namespace is not set: pass --namespace NAME or set ORDO_WORKER_NAMESPACE");
        }
        WorkerSettings d = parse(ns, WorkerSettings::defaults);
        Duration vt = duration(values, "visibility_timeout", d.visibilityTimeout());
        Duration heartbeat = values.containsKey("heartbeat_interval") ? duration(values, "heartbeat_interval", null)
                : values.containsKey("visibility_timeout") ? null : d.heartbeatInterval();
        WorkerSettings worker;
        try {
            worker = new WorkerSettings(ns.value(),
                    integer(values, "concurrency", d.concurrency()), integer(values, "batch_size", d.batchSize()), vt, heartbeat,
                    duration(values, "poll_min", d.pollMin()), duration(values, "poll_max", d.pollMax()),
                    duration(values, "shutdown_grace", d.shutdownGrace()), integer(values, "hand_off_batch", d.handOffBatch()),
                    duration(values, "hand_off_linger", d.handOffLinger()),
                    values.containsKey("node_id") ? values.get("node_id").value() : null);
        } catch (InvalidInputException e) {
            // settings' messages start with the key they are about
            Sourced culprit = values.get(e.getMessage().split(" ", 2)[0]);
            throw culprit == null ? e : new InvalidInputException(e.getMessage() + " (from " + culprit.source() + ")", e);
        }
        int healthPort = integer(values, "health_port", -1);
        try {
            return new WorkerConfig(database.withApplicationName("ordo-worker-" + worker.namespace()), worker, healthPort);
        } catch (InvalidInputException e) {
            throw new InvalidInputException(e.getMessage() + " (from " + values.get("health_port").source() + ")", e);
        }
    }

    /** A value and where it came from (a file, a variable or an option), for error messages. */
    private record Sourced(String value, String source) {
    }

    private static Map<String, String> parseArgs(List<String> args) {
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            String name;
            String value;
            if (arg.startsWith("--") && arg.contains("=")) {
                name = arg.substring(2, arg.indexOf('='));
                value = arg.substring(arg.indexOf('=') + 1);
            } else if (arg.startsWith("--") && i + 1 < args.size()) {
                name = arg.substring(2);
                value = args.get(++i);
            } else {
                throw new InvalidInputException("unexpected argument '" + arg + "'; usage: ordo worker --namespace NAME"
                        + " [--concurrency N] [--config FILE]");
            }
            String key = name.replace('-', '_');
            if (!List.of("namespace", "concurrency", "config").contains(key)) {
                throw new InvalidInputException("unknown option --" + name + "; options are --namespace, --concurrency and --config"
                        + " (other settings go in the config file or ORDO_WORKER_* variables)");
            }
            out.put(key, value);
        }
        return out;
    }

    private static Map<String, String> readFile(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        Map<String, String> out = new LinkedHashMap<>();
        try {
            if (name.endsWith(".properties")) {
                Properties props = new Properties();
                try (Reader reader = Files.newBufferedReader(file)) {
                    props.load(reader);
                }
                props.stringPropertyNames().forEach(k -> out.put(k.trim(), props.getProperty(k).trim()));
            } else if (name.endsWith(".yaml") || name.endsWith(".yml")) {
                JsonNode tree = new YAMLMapper().readTree(file.toFile());
                if (tree == null || tree.isMissingNode() || tree.isNull()) {
                    return out;
                }
                if (!tree.isObject()) {
                    throw new InvalidInputException(file + ": must be a YAML mapping of key: value");
                }
                for (var e : tree.properties()) {
                    if (!e.getValue().isValueNode()) {
                        throw new InvalidInputException(file + ": " + e.getKey() + " must be a plain value, not a list or mapping");
                    }
                    out.put(e.getKey(), e.getValue().asText());
                }
            } else {
                throw new InvalidInputException("config file " + file + " must end in .properties, .yaml or .yml");
            }
        } catch (IOException e) {
            throw new InvalidInputException("cannot read config file " + file + ": " + e.getMessage(), e);
        }
        for (String key : out.keySet()) {
            if (!KEYS.contains(key)) {
                throw new InvalidInputException(file + ": unknown key '" + key + "'; known keys: " + String.join(", ", KEYS));
            }
        }
        return out;
    }

    private static int integer(Map<String, Sourced> values, String key, int fallback) {
        Sourced s = values.get(key);
        if (s == null) {
            return fallback;
        }
        try {
            return Integer.parseInt(s.value());
        } catch (NumberFormatException e) {
            throw new InvalidInputException(key + " must be a whole number, got '" + s.value() + "' (from " + s.source() + ")");
        }
    }

    private static Duration duration(Map<String, Sourced> values, String key, Duration fallback) {
        Sourced s = values.get(key);
        if (s == null) {
            return fallback;
        }
        Matcher m = DURATION.matcher(s.value());
        if (m.matches()) {
            long n = Long.parseLong(m.group(1));
            return switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                default -> Duration.ofHours(n);
            };
        }
        try {
            return Duration.parse(s.value());
        } catch (DateTimeParseException e) {
            throw new InvalidInputException(key + " must be a duration like 500ms, 30s, 5m, 1h or PT30S, got '" + s.value()
                    + "' (from " + s.source() + ")");
        }
    }

    private static <T> T parse(Sourced s, Function<String, T> parser) {
        try {
            return parser.apply(s.value());
        } catch (OrdoException e) {
            throw new InvalidInputException(e.getMessage() + " (from " + s.source() + ")", e);
        }
    }
}

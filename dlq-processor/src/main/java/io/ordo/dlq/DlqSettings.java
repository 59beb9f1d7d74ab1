package io.ordo.dlq;

import io.helidon.config.Config;
import io.ordo.InvalidInputException;
import io.ordo.config.ConfigKey;
import io.ordo.http.HttpSettings;

import java.time.Duration;
import java.util.Map;

/**
 * Settings of one dlq-processor node. What the nodes share comes from the config table instead: the
 * {@link DlqPolicy} (rules, thresholds, retention), and the polling and heartbeat intervals
 * ({@link io.ordo.config.ClusterConfig}).
 *
 * @param nodeId             unique id of this node in the registry ({@code ORDO_NODE_ID})
 * @param http               the admin endpoints' port ({@code ORDO_HTTP_*}, with {@code ORDO_DLQ_PORT} winning over
 *                           {@code ORDO_HTTP_PORT}; default 8082), or null for none ({@code ORDO_DLQ_PORT=-1})
 * @param alertInterval      how often alert thresholds are checked ({@code ordo.dlq.alert.interval})
 * @param retentionInterval  how often resolved letters past retention are deleted ({@code ordo.dlq.retention.interval})
 */
public record DlqSettings(String nodeId, HttpSettings http, Duration alertInterval, Duration retentionInterval) {
    public static final int DEFAULT_PORT = 8082;

    public DlqSettings {
        if (nodeId == null || !nodeId.matches("^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")) {
            throw new InvalidInputException("ORDO_NODE_ID must be 1-100 characters of [A-Za-z0-9_.:-], got " + nodeId);
        }
        positive("ordo.dlq.alert.interval", alertInterval);
        positive("ordo.dlq.retention.interval", retentionInterval);
    }

    public static DlqSettings defaults(String nodeId) {
        return new DlqSettings(nodeId, HttpSettings.defaults(DEFAULT_PORT), Duration.ofSeconds(10), Duration.ofMinutes(1));
    }

    /**
     * Reads the settings from Helidon config (which includes the environment: {@code ORDO_DLQ_PORT} sets
     * {@code ordo.dlq.port}) and the {@code ORDO_HTTP_*} variables. A missing key keeps its default; a bad one fails
     * with a message naming it.
     */
    public static DlqSettings from(Config config, Map<String, String> env, String defaultNodeId) {
        String nodeId = config.get("ordo.node.id").asString().orElse(defaultNodeId);
        String port = config.get("ordo.dlq.port").asString().orElse(null);
        HttpSettings http;
        if (port == null) {
            http = HttpSettings.fromEnvironment(env, null, DEFAULT_PORT);
        } else {
            int p = integer("ORDO_DLQ_PORT", port);
            http = p == -1 ? null : HttpSettings.fromEnvironment(env, p, DEFAULT_PORT);
        }
        return new DlqSettings(nodeId, http,
                duration(config, "ordo.dlq.alert.interval", Duration.ofSeconds(10)),
                duration(config, "ordo.dlq.retention.interval", Duration.ofMinutes(1)));
    }

    /** The same settings with admin endpoints on {@code port} (0: any free one), or none for -1. */
    public DlqSettings withPort(int port) {
        HttpSettings base = http == null ? HttpSettings.defaults(DEFAULT_PORT) : http;
        return new DlqSettings(nodeId, port == -1 ? null : base.withPort(port), alertInterval, retentionInterval);
    }

    public DlqSettings withIntervals(Duration alerts, Duration retention) {
        return new DlqSettings(nodeId, http, alerts, retention);
    }

    private static int integer(String key, String text) {
        try {
            return Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            throw new InvalidInputException(key + " must be a port number, or -1 for no admin endpoints, got '" + text + "'");
        }
    }

    private static Duration duration(Config config, String key, Duration fallback) {
        String text = config.get(key).asString().orElse(null);
        if (text == null) {
            return fallback;
        }
        Duration d = ConfigKey.parseDuration(text.trim());
        if (d == null) {
            throw new InvalidInputException(key + " must be a duration like 250ms, 5s, 2m or 1h, got '" + text + "'");
        }
        return d;
    }

    private static void positive(String key, Duration d) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new InvalidInputException(key + " must be a positive duration, got " + d);
        }
    }
}

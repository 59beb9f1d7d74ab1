package io.ordo.dlq;

import io.helidon.config.Config;
import io.ordo.InvalidInputException;
import io.ordo.config.ConfigKey;

import java.time.Duration;

/**
 * Settings of one dlq-processor node, from Helidon {@link Config}, which includes the environment
 * ({@code ORDO_DLQ_PORT} sets {@code ordo.dlq.port}). What the nodes share comes from the config table instead:
 * the {@link DlqPolicy} (rules, thresholds, retention), and the polling and heartbeat intervals
 * ({@link io.ordo.config.ClusterConfig}).
 *
 * @param nodeId             unique id of this node in the registry ({@code ordo.node.id})
 * @param host               address the admin endpoints listen on ({@code ordo.dlq.host})
 * @param port               their port, 0 for any free one, -1 for no HTTP server ({@code ordo.dlq.port})
 * @param alertInterval      how often alert thresholds are checked ({@code ordo.dlq.alert.interval})
 * @param retentionInterval  how often resolved letters past retention are deleted ({@code ordo.dlq.retention.interval})
 */
public record DlqSettings(String nodeId, String host, int port, Duration alertInterval, Duration retentionInterval) {

    public DlqSettings {
        if (nodeId == null || !nodeId.matches("^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")) {
            throw new InvalidInputException("ordo.node.id must be 1-100 characters of [A-Za-z0-9_.:-], got " + nodeId);
        }
        if (host == null || host.isBlank()) {
            throw new InvalidInputException("ordo.dlq.host must not be empty");
        }
        if (port < -1 || port > 65535) {
            throw new InvalidInputException("ordo.dlq.port must be a port (0 for any free one, -1 for none), got " + port);
        }
        positive("ordo.dlq.alert.interval", alertInterval);
        positive("ordo.dlq.retention.interval", retentionInterval);
    }

    public static DlqSettings defaults(String nodeId) {
        return new DlqSettings(nodeId, "0.0.0.0", 8082, Duration.ofSeconds(10), Duration.ofMinutes(1));
    }

    /** Reads the settings; a missing key keeps its default, a bad one fails with a message naming it. */
    public static DlqSettings from(Config config, String defaultNodeId) {
        DlqSettings d = defaults(config.get("ordo.node.id").asString().orElse(defaultNodeId));
        return new DlqSettings(d.nodeId,
                config.get("ordo.dlq.host").asString().orElse(d.host),
                integer(config, "ordo.dlq.port", d.port),
                duration(config, "ordo.dlq.alert.interval", d.alertInterval),
                duration(config, "ordo.dlq.retention.interval", d.retentionInterval));
    }

    public DlqSettings withPort(int newPort) {
        return new DlqSettings(nodeId, host, newPort, alertInterval, retentionInterval);
    }

    public DlqSettings withIntervals(Duration alerts, Duration retention) {
        return new DlqSettings(nodeId, host, port, alerts, retention);
    }

    private static int integer(Config config, String key, int fallback) {
        String text = config.get(key).asString().orElse(null);
        if (text == null) {
            return fallback;
        }
        try {
            return Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            throw new InvalidInputException(key + " must be an integer, got '" + text + "'");
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

package io.ordo.dlq;

import io.helidon.config.Config;
import io.ordo.InvalidInputException;

import java.time.Duration;

/**
 * Settings of one dlq-processor node, from Helidon {@link Config} (which includes the environment: {@code ORDO_DLQ_PORT}
 * sets {@code ordo.dlq.port}). What all nodes share (rules, thresholds, retention) is in the config table: see
 * {@link DlqPolicy}.
 *
 * @param nodeId             unique id of this node in the registry ({@code ordo.node.id})
 * @param host               address the admin endpoints listen on ({@code ordo.dlq.host})
 * @param port               their port, 0 for any free one, -1 for no HTTP server ({@code ordo.dlq.port})
 * @param pollMin            first polling interval when idle; new letters wake it sooner ({@code ordo.dlq.poll.min})
 * @param pollMax            longest polling interval when idle ({@code ordo.dlq.poll.max})
 * @param heartbeatInterval  how often the node heartbeats ({@code ordo.dlq.heartbeat})
 * @param alertInterval      how often alert thresholds are checked ({@code ordo.dlq.alert.interval})
 * @param retentionInterval  how often resolved letters past retention are deleted ({@code ordo.dlq.retention.interval})
 * @param policyRefresh      how often the policy is re-read even without a config notification ({@code ordo.dlq.policy.refresh})
 */
public record DlqSettings(String nodeId, String host, int port, Duration pollMin, Duration pollMax, Duration heartbeatInterval,
                          Duration alertInterval, Duration retentionInterval, Duration policyRefresh) {

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
        positive("ordo.dlq.poll.min", pollMin);
        positive("ordo.dlq.poll.max", pollMax);
        if (pollMax.compareTo(pollMin) < 0) {
            throw new InvalidInputException("ordo.dlq.poll.max must be at least ordo.dlq.poll.min, got " + pollMax + " < " + pollMin);
        }
        positive("ordo.dlq.heartbeat", heartbeatInterval);
        positive("ordo.dlq.alert.interval", alertInterval);
        positive("ordo.dlq.retention.interval", retentionInterval);
        positive("ordo.dlq.policy.refresh", policyRefresh);
    }

    public static DlqSettings defaults(String nodeId) {
        return new DlqSettings(nodeId, "0.0.0.0", 8082, Duration.ofMillis(50), Duration.ofSeconds(2), Duration.ofSeconds(5),
                Duration.ofSeconds(10), Duration.ofMinutes(1), Duration.ofSeconds(30));
    }

    /** Reads the settings; a missing key keeps its default, a bad one fails with a message naming it. */
    public static DlqSettings from(Config config, String defaultNodeId) {
        DlqSettings d = defaults(config.get("ordo.node.id").asString().orElse(defaultNodeId));
        return new DlqSettings(d.nodeId,
                config.get("ordo.dlq.host").asString().orElse(d.host),
                integer(config, "ordo.dlq.port", d.port),
                duration(config, "ordo.dlq.poll.min", d.pollMin),
                duration(config, "ordo.dlq.poll.max", d.pollMax),
                duration(config, "ordo.dlq.heartbeat", d.heartbeatInterval),
                duration(config, "ordo.dlq.alert.interval", d.alertInterval),
                duration(config, "ordo.dlq.retention.interval", d.retentionInterval),
                duration(config, "ordo.dlq.policy.refresh", d.policyRefresh));
    }

    public DlqSettings withPort(int newPort) {
        return new DlqSettings(nodeId, host, newPort, pollMin, pollMax, heartbeatInterval, alertInterval, retentionInterval,
                policyRefresh);
    }

    public DlqSettings withIntervals(Duration poll, Duration heartbeat, Duration alerts, Duration retention) {
        return new DlqSettings(nodeId, host, port, poll, pollMax.compareTo(poll) < 0 ? poll : pollMax, heartbeat, alerts,
                retention, policyRefresh);
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
        return text == null ? fallback : DlqPolicy.parseDuration(key, text.trim());
    }

    private static void positive(String key, Duration d) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new InvalidInputException(key + " must be a positive duration, got " + d);
        }
    }
}

package io.ordo.config;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The configuration a node runs: built-in defaults, overridden by the node's file/env values, overridden
 * by the database's {@code ordo.config}. Every field is checked against {@link ConfigKeys} here.
 *
 * @param version       the database config version it reflects (0 when the database has none)
 * @param backpressure  thresholds of the namespaces the config mentions; see {@link #backpressure(String)}
 */
public record ClusterConfig(long version, Duration pollIntervalMin, Duration pollIntervalMax, Duration queueStatsRefreshInterval,
                            int orchestratorBatchSize, int workerBatchSize, Duration leaseTtl, Duration electionInterval,
                            Duration heartbeatInterval, int archiveRetentionDays, int archiveDaysAhead,
                            Duration archiveMaintenanceInterval, String logLevel, Map<String, Backpressure> backpressure) {
    private static final Pattern BACKPRESSURE = Pattern.compile("^backpressure\\.([a-z][a-z0-9_]{0,39})\\.(warning|critical|shed_below_priority)$");

    public ClusterConfig {
        if (version < 0) {
            throw new InvalidConfigException("version", "config version must not be negative, got " + version);
        }
        check(ConfigKeys.POLL_INTERVAL_MIN, pollIntervalMin);
        check(ConfigKeys.POLL_INTERVAL_MAX, pollIntervalMax);
        check(ConfigKeys.QUEUE_STATS_REFRESH_INTERVAL, queueStatsRefreshInterval);
        check(ConfigKeys.ORCHESTRATOR_BATCH_SIZE, (long) orchestratorBatchSize);
        check(ConfigKeys.WORKER_BATCH_SIZE, (long) workerBatchSize);
        check(ConfigKeys.LEASE_TTL, leaseTtl);
        check(ConfigKeys.ELECTION_INTERVAL, electionInterval);
        check(ConfigKeys.HEARTBEAT_INTERVAL, heartbeatInterval);
        check(ConfigKeys.ARCHIVE_RETENTION_DAYS, (long) archiveRetentionDays);
        check(ConfigKeys.ARCHIVE_DAYS_AHEAD, (long) archiveDaysAhead);
        check(ConfigKeys.ARCHIVE_MAINTENANCE_INTERVAL, archiveMaintenanceInterval);
        check(ConfigKeys.LOG_LEVEL, logLevel);
        backpressure = Map.copyOf(new TreeMap<>(backpressure));
        backpressure.keySet().forEach(ns -> ConfigKeys.require("backpressure." + ns + ".warning"));
    }

    /** The defaults of every key. */
    public static ClusterConfig defaults() {
        return of(0, Map.of());
    }

    /** The thresholds of a namespace: what the config sets for it, the defaults for the rest. */
    public Backpressure backpressure(String namespace) {
        return backpressure.getOrDefault(namespace, Backpressure.defaults());
    }

    /**
     * Builds the record from typed values by key ({@code Long}, {@code Boolean}, {@code String},
     * {@code Duration}, as {@link ConfigKey#parse} returns them); keys not given take their defaults.
     */
    public static ClusterConfig of(long version, Map<String, Object> values) {
        Map<String, Map<String, Long>> byNamespace = new TreeMap<>();
        for (Map.Entry<String, Object> e : values.entrySet()) {
            Matcher m = BACKPRESSURE.matcher(e.getKey());
            if (m.matches()) {
                byNamespace.computeIfAbsent(m.group(1), ns -> new HashMap<>()).put(m.group(2), (Long) e.getValue());
            }
        }
        Backpressure dflt = Backpressure.defaults();
        Map<String, Backpressure> backpressure = new HashMap<>();
        byNamespace.forEach((ns, v) -> backpressure.put(ns, new Backpressure(
                v.getOrDefault("warning", dflt.warning()),
                v.getOrDefault("critical", dflt.critical()),
                v.getOrDefault("shed_below_priority", (long) dflt.shedBelowPriority()).intValue())));
        return new ClusterConfig(version,
                value(values, ConfigKeys.POLL_INTERVAL_MIN, Duration.class),
                value(values, ConfigKeys.POLL_INTERVAL_MAX, Duration.class),
                value(values, ConfigKeys.QUEUE_STATS_REFRESH_INTERVAL, Duration.class),
                value(values, ConfigKeys.ORCHESTRATOR_BATCH_SIZE, Long.class).intValue(),
                value(values, ConfigKeys.WORKER_BATCH_SIZE, Long.class).intValue(),
                value(values, ConfigKeys.LEASE_TTL, Duration.class),
                value(values, ConfigKeys.ELECTION_INTERVAL, Duration.class),
                value(values, ConfigKeys.HEARTBEAT_INTERVAL, Duration.class),
                value(values, ConfigKeys.ARCHIVE_RETENTION_DAYS, Long.class).intValue(),
                value(values, ConfigKeys.ARCHIVE_DAYS_AHEAD, Long.class).intValue(),
                value(values, ConfigKeys.ARCHIVE_MAINTENANCE_INTERVAL, Duration.class),
                value(values, ConfigKeys.LOG_LEVEL, String.class),
                backpressure);
    }

    private static <T> T value(Map<String, Object> values, String key, Class<T> type) {
        Object v = values.get(key);
        return type.cast(v != null ? v : ConfigKeys.require(key).defaultValue());
    }

    private static void check(String key, Object value) {
        if (value == null) {
            throw new InvalidConfigException(key, "config key \"" + key + "\" must be set");
        }
        ConfigKeys.require(key).check(key, value);
    }
}

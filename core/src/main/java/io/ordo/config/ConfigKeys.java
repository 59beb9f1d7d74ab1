package io.ordo.config;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The registry of known config keys, with their defaults. The same keys, types and ranges are rows of
 * {@code ordo.config_key} (migration V3), which {@code ordo.set_config} enforces on every write; a test
 * keeps the two equal.
 */
public final class ConfigKeys {
    public static final String POLL_INTERVAL_MIN = "queue.poll_interval_min";
    public static final String POLL_INTERVAL_MAX = "queue.poll_interval_max";
    public static final String QUEUE_STATS_REFRESH_INTERVAL = "queue.stats_refresh_interval";
    public static final String ORCHESTRATOR_BATCH_SIZE = "orchestrator.batch_size";
    public static final String WORKER_BATCH_SIZE = "worker.batch_size";
    public static final String LEASE_TTL = "lease.ttl";
    public static final String ELECTION_INTERVAL = "election.interval";
    public static final String HEARTBEAT_INTERVAL = "node.heartbeat_interval";
    public static final String ARCHIVE_RETENTION_DAYS = "archive.retention_days";
    public static final String ARCHIVE_DAYS_AHEAD = "archive.days_ahead";
    public static final String ARCHIVE_MAINTENANCE_INTERVAL = "archive.maintenance_interval";
    public static final String LOG_LEVEL = "log.level";
    public static final String BACKPRESSURE_WARNING = "backpressure.*.warning";
    public static final String BACKPRESSURE_CRITICAL = "backpressure.*.critical";
    public static final String BACKPRESSURE_SHED_BELOW_PRIORITY = "backpressure.*.shed_below_priority";
    // the dlq-processor's (migration V7)
    public static final String DLQ_RULES = "dlq.rules";
    public static final String DLQ_BATCH_SIZE = "dlq.batch_size";
    public static final String DLQ_AUTO_REQUEUE_MAX = "dlq.auto_requeue_max";
    public static final String DLQ_AUTO_REQUEUE_DELAY = "dlq.auto_requeue_delay";
    public static final String DLQ_ALERT_RATE = "dlq.alert.rate";
    public static final String DLQ_ALERT_COUNT = "dlq.alert.count";
    public static final String DLQ_ALERT_NAMESPACE_RATE = "dlq.alert.*.rate";
    public static final String DLQ_ALERT_NAMESPACE_COUNT = "dlq.alert.*.count";
    public static final String DLQ_ALERT_WINDOW = "dlq.alert.window";
    public static final String DLQ_ALERT_COOLDOWN = "dlq.alert.cooldown";
    public static final String DLQ_ALERT_WEBHOOK = "dlq.alert.webhook";
    public static final String DLQ_RETENTION = "dlq.retention";
    public static final String DLQ_RETENTION_BATCH = "dlq.retention_batch";

    public static final List<ConfigKey> ALL = List.of(
            duration(POLL_INTERVAL_MIN, 1, 60_000, "wait between polls of an idle queue, doubling up to the max; right after work, consumers re-check from 1 ms", Duration.ofMillis(50)),
            duration(POLL_INTERVAL_MAX, 1, 300_000, "longest wait between polls of an idle queue", Duration.ofSeconds(2)),
            duration(QUEUE_STATS_REFRESH_INTERVAL, 100, 3_600_000, "how often the leader refreshes queue statistics", Duration.ofSeconds(5)),
            integer(ORCHESTRATOR_BATCH_SIZE, 1, 10_000, "messages an orchestrator reads per batch", 100),
            integer(WORKER_BATCH_SIZE, 1, 10_000, "steps a worker reads per batch", 10),
            duration(LEASE_TTL, 1000, 3_600_000, "how long a claim lives without a heartbeat", Duration.ofSeconds(30)),
            duration(ELECTION_INTERVAL, 100, 300_000, "how often nodes try to become leader", Duration.ofSeconds(5)),
            duration(HEARTBEAT_INTERVAL, 100, 300_000, "how often nodes heartbeat; suspect after 2 missed, down after 3", Duration.ofSeconds(5)),
            integer(ARCHIVE_RETENTION_DAYS, 1, 3650, "days archived messages are kept", 7),
            integer(ARCHIVE_DAYS_AHEAD, 1, 366, "days of archive partitions created ahead", 7),
            duration(ARCHIVE_MAINTENANCE_INTERVAL, 1000, 86_400_000, "how often the leader maintains archive partitions", Duration.ofMinutes(10)),
            new ConfigKey(LOG_LEVEL, ConfigType.STRING, null, null, List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR"),
                    "log level of every node", "INFO"),
            integer(BACKPRESSURE_WARNING, 0, 1_000_000_000, "queue depth of a namespace that raises a warning", 50_000),
            integer(BACKPRESSURE_CRITICAL, 1, 1_000_000_000, "queue depth of a namespace above which submission is refused", 100_000),
            integer(BACKPRESSURE_SHED_BELOW_PRIORITY, -1000, 1000, "above warning depth, work below this priority is shed", 0),
            new ConfigKey(DLQ_RULES, ConfigType.STRING, null, null, null, "dead-letter classification rules tried before the"
                    + " built-in ones: a JSON array of {\"match\": \"<error class, * as wildcard>\", \"reason\": \"<optional>\","
                    + " \"as\": \"transient|permanent|unknown\"}; the first match wins", "[]"),
            integer(DLQ_BATCH_SIZE, 1, 10_000, "dead letters a dlq-processor classifies per transaction", 100),
            integer(DLQ_AUTO_REQUEUE_MAX, 0, 100,
                    "how many times a step whose dead letter is classified transient is requeued automatically (0: never)", 0),
            duration(DLQ_AUTO_REQUEUE_DELAY, 0, 86_400_000, "how long an automatically requeued step waits before it runs", Duration.ofSeconds(30)),
            integer(DLQ_ALERT_RATE, 1, 1_000_000_000, "new dead letters of a namespace within dlq.alert.window that raise an alert", 100),
            integer(DLQ_ALERT_COUNT, 1, 1_000_000_000, "open dead letters of a namespace that raise an alert", 1000),
            integer(DLQ_ALERT_NAMESPACE_RATE, 1, 1_000_000_000, "dlq.alert.rate for one namespace", 100),
            integer(DLQ_ALERT_NAMESPACE_COUNT, 1, 1_000_000_000, "dlq.alert.count for one namespace", 1000),
            duration(DLQ_ALERT_WINDOW, 1000, 86_400_000, "the window over which the dead-letter rate is counted", Duration.ofMinutes(1)),
            duration(DLQ_ALERT_COOLDOWN, 0, 86_400_000, "shortest time between two alerts of one kind for one namespace", Duration.ofMinutes(15)),
            new ConfigKey(DLQ_ALERT_WEBHOOK, ConfigType.STRING, null, null, null,
                    "http(s) URL that alerts are POSTed to as JSON; empty for none", ""),
            duration(DLQ_RETENTION, 3_600_000, 315_360_000_000L, "how long resolved (requeued or discarded) dead letters are kept",
                    Duration.ofDays(30)),
            integer(DLQ_RETENTION_BATCH, 1, 100_000, "resolved dead letters deleted per retention run", 1000));

    // the backpressure defaults are also those of ordo.backpressure_default() (V6)
    static {
        for (ConfigKey k : ALL) {
            k.check(k.pattern(), k.defaultValue());
        }
    }

    private ConfigKeys() {
    }

    /** The key's registry entry, if it is known. */
    public static Optional<ConfigKey> find(String key) {
        return ALL.stream().filter(k -> k.matches(key)).findFirst();
    }

    /** The key's registry entry; throws naming the key and listing the known ones if it is unknown. */
    public static ConfigKey require(String key) {
        return find(key).orElseThrow(() -> new InvalidConfigException(key, "unknown config key \"" + key + "\": known keys are "
                + String.join(", ", ALL.stream().map(k -> k.pattern().replace("*", "<namespace>")).sorted().toList())));
    }

    /** The typed value of a raw string for a key, validated. */
    public static Object parse(String key, String raw) {
        return require(key).parse(key, raw);
    }

    /**
     * Config values from environment variables: {@code ORDO_ELECTION_INTERVAL=2s} sets {@code election.interval},
     * {@code ORDO_BACKPRESSURE_FULFILLMENT_CRITICAL=900} sets {@code backpressure.fulfillment.critical}. Other
     * variables are ignored. Returns key → raw value.
     */
    public static Map<String, String> fromEnvironment(Map<String, String> environment) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : environment.entrySet()) {
            for (ConfigKey k : ALL) {
                String env = k.envName();
                if (!k.pattern().contains("*")) {
                    if (e.getKey().equals(env)) {
                        out.put(k.pattern(), e.getValue());
                    }
                    continue;
                }
                Matcher m = Pattern.compile("^" + Pattern.quote(env).replace("*", "\\E([A-Z][A-Z0-9_]{0,39})\\Q") + "$").matcher(e.getKey());
                if (m.matches()) {
                    out.put(k.pattern().replace("*", m.group(1).toLowerCase(java.util.Locale.ROOT)), e.getValue());
                }
            }
        }
        return out;
    }

    private static ConfigKey duration(String key, long minMillis, long maxMillis, String description, Duration dflt) {
        return new ConfigKey(key, ConfigType.DURATION, minMillis, maxMillis, null, description, dflt);
    }

    private static ConfigKey integer(String key, long min, long max, String description, long dflt) {
        return new ConfigKey(key, ConfigType.INTEGER, min, max, null, description, dflt);
    }
}

package io.ordo.dlq;

import io.ordo.InvalidInputException;
import io.ordo.config.ConfigKeys;
import io.ordo.config.InvalidConfigException;

import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the dlq-processors do, from the {@code dlq.*} config keys ({@link ConfigKeys}, migration V7). Every node
 * reads the same table, so every node applies the same policy, and a change applies without a restart.
 *
 * @param rules             how letters are classified: {@code dlq.rules}, then the built-in rules
 * @param batchSize         letters classified per transaction ({@code dlq.batch_size})
 * @param autoRequeueMax    times a transient step is requeued automatically; 0 never ({@code dlq.auto_requeue_max})
 * @param autoRequeueDelay  how long an automatically requeued step waits ({@code dlq.auto_requeue_delay})
 * @param alerts            thresholds of namespaces without their own ({@code dlq.alert.rate}, {@code dlq.alert.count})
 * @param namespaceAlerts   per-namespace thresholds ({@code dlq.alert.<namespace>.rate}, {@code .count})
 * @param alertWindow       the window of the rate ({@code dlq.alert.window})
 * @param alertCooldown     shortest time between two alerts of one kind for one namespace ({@code dlq.alert.cooldown})
 * @param webhook           where alerts are POSTed, or null ({@code dlq.alert.webhook})
 * @param retention         how long resolved letters are kept ({@code dlq.retention})
 * @param retentionBatch    resolved letters deleted per retention run ({@code dlq.retention_batch})
 * @param configVersion     the config version the policy reflects
 */
public record DlqPolicy(ClassificationRules rules, int batchSize, int autoRequeueMax, Duration autoRequeueDelay,
                        Thresholds alerts, Map<String, Thresholds> namespaceAlerts, Duration alertWindow,
                        Duration alertCooldown, URI webhook, Duration retention, int retentionBatch, long configVersion) {
    private static final Pattern NAMESPACE_KEY = Pattern.compile("^dlq\\.alert\\.([a-z][a-z0-9_]{0,39})\\.(rate|count)$");

    /**
     * When a namespace's dead letters raise an alert.
     *
     * @param rate   new letters within the alert window
     * @param count  open letters
     */
    public record Thresholds(long rate, long count) {
        public Thresholds {
            if (rate < 1 || count < 1) {
                throw new InvalidInputException("alert thresholds must be positive, got rate " + rate + " and count " + count);
            }
        }
    }

    public DlqPolicy {
        if (rules == null) {
            throw new InvalidConfigException(ConfigKeys.DLQ_RULES, "dlq.rules must not be null");
        }
        check(ConfigKeys.DLQ_BATCH_SIZE, (long) batchSize);
        check(ConfigKeys.DLQ_AUTO_REQUEUE_MAX, (long) autoRequeueMax);
        check(ConfigKeys.DLQ_AUTO_REQUEUE_DELAY, autoRequeueDelay);
        namespaceAlerts = Map.copyOf(namespaceAlerts);
        check(ConfigKeys.DLQ_ALERT_WINDOW, alertWindow);
        check(ConfigKeys.DLQ_ALERT_COOLDOWN, alertCooldown);
        if (webhook != null && !("http".equals(webhook.getScheme()) || "https".equals(webhook.getScheme()))) {
            throw new InvalidConfigException(ConfigKeys.DLQ_ALERT_WEBHOOK, "dlq.alert.webhook must be an http:// or https:// URL, got " + webhook);
        }
        check(ConfigKeys.DLQ_RETENTION, retention);
        check(ConfigKeys.DLQ_RETENTION_BATCH, (long) retentionBatch);
    }

    /** The policy when nothing is configured. */
    public static DlqPolicy defaults() {
        return of(0, Map.of());
    }

    /** The thresholds that apply to a namespace. */
    public Thresholds thresholds(String namespace) {
        return namespaceAlerts.getOrDefault(namespace, alerts);
    }

    /**
     * Builds the policy from typed config values by key, as {@link io.ordo.config.LiveConfig#values()} holds them
     * ({@code Long}, {@code String}, {@code Duration}); keys not given take their registry defaults.
     *
     * @throws InvalidConfigException naming the key, if a value is not usable
     */
    public static DlqPolicy of(long version, Map<String, Object> values) {
        Map<String, Long> rate = new HashMap<>();
        Map<String, Long> count = new HashMap<>();
        values.forEach((key, value) -> {
            Matcher m = NAMESPACE_KEY.matcher(key);
            if (m.matches()) {
                (m.group(2).equals("rate") ? rate : count).put(m.group(1), (Long) value);
            }
        });
        Thresholds global = new Thresholds(value(values, ConfigKeys.DLQ_ALERT_RATE, Long.class),
                value(values, ConfigKeys.DLQ_ALERT_COUNT, Long.class));
        Map<String, Thresholds> perNamespace = new HashMap<>();
        java.util.Set<String> namespaces = new java.util.HashSet<>(rate.keySet());
        namespaces.addAll(count.keySet());
        for (String ns : namespaces) {
            perNamespace.put(ns, new Thresholds(rate.getOrDefault(ns, global.rate()), count.getOrDefault(ns, global.count())));
        }
        String webhook = value(values, ConfigKeys.DLQ_ALERT_WEBHOOK, String.class);
        URI webhookUri;
        try {
            webhookUri = webhook.isBlank() ? null : URI.create(webhook.trim());
        } catch (IllegalArgumentException e) {
            throw new InvalidConfigException(ConfigKeys.DLQ_ALERT_WEBHOOK, "dlq.alert.webhook must be an http:// or https:// URL, got '"
                    + webhook + "'", e);
        }
        ClassificationRules custom;
        try {
            custom = ClassificationRules.parse(value(values, ConfigKeys.DLQ_RULES, String.class));
        } catch (InvalidInputException e) {
            throw new InvalidConfigException(ConfigKeys.DLQ_RULES, e.getMessage(), e);
        }
        return new DlqPolicy(custom.then(ClassificationRules.DEFAULT),
                value(values, ConfigKeys.DLQ_BATCH_SIZE, Long.class).intValue(),
                value(values, ConfigKeys.DLQ_AUTO_REQUEUE_MAX, Long.class).intValue(),
                value(values, ConfigKeys.DLQ_AUTO_REQUEUE_DELAY, Duration.class),
                global, perNamespace,
                value(values, ConfigKeys.DLQ_ALERT_WINDOW, Duration.class),
                value(values, ConfigKeys.DLQ_ALERT_COOLDOWN, Duration.class),
                webhookUri,
                value(values, ConfigKeys.DLQ_RETENTION, Duration.class),
                value(values, ConfigKeys.DLQ_RETENTION_BATCH, Long.class).intValue(),
                version);
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

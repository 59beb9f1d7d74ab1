package io.ordo.dlq;

import com.fasterxml.jackson.databind.JsonNode;
import io.ordo.InvalidInputException;
import io.ordo.Json;
import org.jooq.DSLContext;
import org.jooq.Record;

import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the dlq-processors do, from the config table ({@code dlq.*} keys, migration V7). Every node reads the same
 * rows, so every node applies the same policy; a change is picked up without a restart.
 *
 * @param rules             how letters are classified ({@code dlq.rules})
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
 * @param configVersion     the config version this policy was read at
 */
public record DlqPolicy(ClassificationRules rules, int batchSize, int autoRequeueMax, Duration autoRequeueDelay,
                        Thresholds alerts, Map<String, Thresholds> namespaceAlerts, Duration alertWindow,
                        Duration alertCooldown, URI webhook, Duration retention, int retentionBatch, long configVersion) {
    private static final Pattern NAMESPACE_KEY = Pattern.compile("^dlq\\.alert\\.([a-z][a-z0-9_]{0,39})\\.(rate|count)$");
    private static final Pattern DURATION = Pattern.compile("^([0-9]{1,12})(ms|s|m|h|d)$");

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

    public static final DlqPolicy DEFAULT = new DlqPolicy(ClassificationRules.DEFAULT, 100, 0, Duration.ofSeconds(30),
            new Thresholds(100, 1000), Map.of(), Duration.ofMinutes(1), Duration.ofMinutes(15), null, Duration.ofDays(30),
            1000, 0);

    public DlqPolicy {
        if (rules == null) {
            throw new InvalidInputException("dlq.rules must not be null");
        }
        if (batchSize < 1 || batchSize > 10_000) {
            throw new InvalidInputException("dlq.batch_size must be between 1 and 10000, got " + batchSize);
        }
        if (autoRequeueMax < 0 || autoRequeueMax > 100) {
            throw new InvalidInputException("dlq.auto_requeue_max must be between 0 and 100, got " + autoRequeueMax);
        }
        if (autoRequeueDelay.isNegative() || autoRequeueDelay.compareTo(Duration.ofDays(1)) > 0) {
            throw new InvalidInputException("dlq.auto_requeue_delay must be between 0s and 1d, got " + autoRequeueDelay);
        }
        namespaceAlerts = Map.copyOf(namespaceAlerts);
        if (alertWindow.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new InvalidInputException("dlq.alert.window must be at least 1s, got " + alertWindow);
        }
        if (alertCooldown.isNegative()) {
            throw new InvalidInputException("dlq.alert.cooldown must not be negative, got " + alertCooldown);
        }
        if (webhook != null && !("http".equals(webhook.getScheme()) || "https".equals(webhook.getScheme()))) {
            throw new InvalidInputException("dlq.alert.webhook must be an http:// or https:// URL, got " + webhook);
        }
        if (retention.compareTo(Duration.ofHours(1)) < 0) {
            throw new InvalidInputException("dlq.retention must be at least 1h, got " + retention);
        }
        if (retentionBatch < 1 || retentionBatch > 100_000) {
            throw new InvalidInputException("dlq.retention_batch must be between 1 and 100000, got " + retentionBatch);
        }
    }

    /** The thresholds that apply to a namespace. */
    public Thresholds thresholds(String namespace) {
        return namespaceAlerts.getOrDefault(namespace, alerts);
    }

    /** Reads the policy from the config table; keys without a value keep their default. */
    public static DlqPolicy load(DSLContext dsl) {
        long version = dsl.fetchOne("select ordo.config_version()").get(0, Long.class);
        Map<String, JsonNode> values = new HashMap<>();
        for (Record r : dsl.fetch("select key, value::text from ordo.config where key like 'dlq.%'")) {
            values.put(r.get(0, String.class), Json.parse(r.get(1, String.class)));
        }
        return from(values, version);
    }

    static DlqPolicy from(Map<String, JsonNode> values, long version) {
        DlqPolicy d = DEFAULT;
        Map<String, Long> rate = new HashMap<>();
        Map<String, Long> count = new HashMap<>();
        values.forEach((key, value) -> {
            Matcher m = NAMESPACE_KEY.matcher(key);
            if (m.matches()) {
                (m.group(2).equals("rate") ? rate : count).put(m.group(1), integer(key, value));
            }
        });
        Thresholds global = new Thresholds(
                values.containsKey("dlq.alert.rate") ? integer("dlq.alert.rate", values.get("dlq.alert.rate")) : d.alerts.rate,
                values.containsKey("dlq.alert.count") ? integer("dlq.alert.count", values.get("dlq.alert.count")) : d.alerts.count);
        Map<String, Thresholds> perNamespace = new HashMap<>();
        for (String ns : union(rate, count)) {
            perNamespace.put(ns, new Thresholds(rate.getOrDefault(ns, global.rate), count.getOrDefault(ns, global.count)));
        }
        String webhook = values.containsKey("dlq.alert.webhook") ? text("dlq.alert.webhook", values.get("dlq.alert.webhook")) : "";
        URI webhookUri;
        try {
            webhookUri = webhook.isBlank() ? null : URI.create(webhook);
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("dlq.alert.webhook must be an http:// or https:// URL, got '" + webhook + "'", e);
        }
        return new DlqPolicy(
                values.containsKey("dlq.rules") ? ClassificationRules.parse(text("dlq.rules", values.get("dlq.rules"))) : d.rules,
                (int) integerOr(values, "dlq.batch_size", d.batchSize),
                (int) integerOr(values, "dlq.auto_requeue_max", d.autoRequeueMax),
                durationOr(values, "dlq.auto_requeue_delay", d.autoRequeueDelay),
                global, perNamespace,
                durationOr(values, "dlq.alert.window", d.alertWindow),
                durationOr(values, "dlq.alert.cooldown", d.alertCooldown),
                webhookUri,
                durationOr(values, "dlq.retention", d.retention),
                (int) integerOr(values, "dlq.retention_batch", d.retentionBatch),
                version);
    }

    /** Parses a duration like 250ms, 5s, 2m, 1h or 1d. */
    public static Duration parseDuration(String key, String text) {
        Matcher m = text == null ? null : DURATION.matcher(text);
        if (m == null || !m.matches()) {
            throw new InvalidInputException(key + " must be a duration like 250ms, 5s, 2m, 1h or 1d, got '" + text + "'");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
        };
    }

    private static java.util.Set<String> union(Map<String, Long> a, Map<String, Long> b) {
        java.util.Set<String> out = new java.util.HashSet<>(a.keySet());
        out.addAll(b.keySet());
        return out;
    }

    private static long integerOr(Map<String, JsonNode> values, String key, long fallback) {
        return values.containsKey(key) ? integer(key, values.get(key)) : fallback;
    }

    private static Duration durationOr(Map<String, JsonNode> values, String key, Duration fallback) {
        return values.containsKey(key) ? parseDuration(key, text(key, values.get(key))) : fallback;
    }

    private static long integer(String key, JsonNode value) {
        if (value == null || !value.canConvertToLong() || !value.isIntegralNumber()) {
            throw new InvalidInputException(key + " must be an integer, got " + value);
        }
        return value.asLong();
    }

    private static String text(String key, JsonNode value) {
        if (value == null || !value.isTextual()) {
            throw new InvalidInputException(key + " must be a string, got " + value);
        }
        return value.asText();
    }
}

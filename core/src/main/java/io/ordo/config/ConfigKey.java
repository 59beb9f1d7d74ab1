package io.ordo.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.TextNode;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A known config key, mirrored by a row of {@code ordo.config_key} (which {@code ordo.set_config} enforces).
 *
 * @param pattern       the key; a {@code *} stands for a namespace name
 * @param type          what its values are
 * @param min           smallest allowed value (durations in milliseconds), or null
 * @param max           largest allowed value (durations in milliseconds), or null
 * @param allowed       the only allowed values, or null
 * @param description   what it controls
 * @param defaultValue  the value when neither the database nor the node's file/env sets one
 */
public record ConfigKey(String pattern, ConfigType type, Long min, Long max, List<String> allowed, String description,
                        Object defaultValue) {
    private static final Pattern DURATION = Pattern.compile("^([0-9]{1,12})(ms|s|m|h|d)$");
    private static final String NAMESPACE = "[a-z][a-z0-9_]{0,39}";

    public ConfigKey {
        allowed = allowed == null ? null : List.copyOf(allowed);
    }

    /** Whether {@code key} is this key (for a pattern, with any namespace in place of {@code *}). */
    public boolean matches(String key) {
        return key != null && key.matches(regex());
    }

    String regex() {
        return "^" + Pattern.quote(pattern).replace("*", "\\E" + NAMESPACE + "\\Q") + "$";
    }

    /** What this key accepts, in the words {@code ordo.config_key_allows} uses. */
    public String allows() {
        if (allowed != null) {
            return "one of " + String.join(", ", allowed);
        }
        return switch (type) {
            case BOOLEAN -> "true or false";
            case DURATION -> "a duration (like 250ms, 5s, 2m, 1h) between " + formatMillis(min) + " and " + formatMillis(max);
            case INTEGER -> "an integer" + (min != null && max != null ? " between " + min + " and " + max : "");
            case STRING -> "a string";
        };
    }

    /** The typed value of a JSON value: Long, Boolean, String or Duration. Throws naming the key otherwise. */
    public Object parse(String key, JsonNode json) {
        Object value = switch (type) {
            case INTEGER -> json.isIntegralNumber() || (json.isNumber() && json.decimalValue().stripTrailingZeros().scale() <= 0)
                    ? (Object) json.longValue() : null;
            case BOOLEAN -> json.isBoolean() ? json.booleanValue() : null;
            case STRING -> json.isTextual() ? json.textValue() : null;
            case DURATION -> json.isTextual() ? parseDuration(json.textValue()) : null;
        };
        if (value == null) {
            throw refused(key, json.toString());
        }
        return check(key, value);
    }

    /** The typed value of a raw string from a file or environment variable: {@code 100}, {@code true}, {@code 5s}, {@code INFO}. */
    public Object parse(String key, String raw) {
        if (raw == null) {
            throw refused(key, "null");
        }
        String text = raw.trim();
        Object value = switch (type) {
            case INTEGER -> text.matches("-?[0-9]{1,18}") ? (Object) Long.parseLong(text) : null;
            case BOOLEAN -> text.equalsIgnoreCase("true") ? Boolean.TRUE : text.equalsIgnoreCase("false") ? Boolean.FALSE : null;
            case STRING -> text;
            case DURATION -> parseDuration(text);
        };
        if (value == null) {
            throw refused(key, '"' + raw + '"');
        }
        return check(key, value);
    }

    /** Checks a typed value against range and allowed values; returns it. */
    public Object check(String key, Object value) {
        boolean ok = switch (type) {
            case INTEGER -> value instanceof Long l && inRange(l);
            case BOOLEAN -> value instanceof Boolean;
            case STRING -> value instanceof String s && (allowed == null || allowed.contains(s));
            case DURATION -> value instanceof Duration d && !d.isNegative() && inRange(d.toMillis()) && d.toNanos() % 1_000_000 == 0;
        };
        if (!ok) {
            throw refused(key, String.valueOf(value instanceof Duration d ? format(d) : value));
        }
        return value;
    }

    /** The JSON form of a typed value, as {@code ordo.set_config} takes it. */
    public JsonNode toJson(Object value) {
        return switch (value) {
            case Long l -> LongNode.valueOf(l);
            case Integer i -> LongNode.valueOf(i);
            case Boolean b -> BooleanNode.valueOf(b);
            case Duration d -> TextNode.valueOf(format(d));
            default -> TextNode.valueOf(String.valueOf(value));
        };
    }

    private boolean inRange(long v) {
        return (min == null || v >= min) && (max == null || v <= max);
    }

    private InvalidConfigException refused(String key, String got) {
        return new InvalidConfigException(key, "config key \"" + key + "\" must be " + allows() + ", got " + got);
    }

    /** A duration like {@code 250ms}, {@code 5s}, {@code 2m}, {@code 1h} or {@code 1d}; null if the text is not one. */
    public static Duration parseDuration(String text) {
        Matcher m = DURATION.matcher(text);
        if (!m.matches()) {
            return null;
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

    /** "250ms", "5s", "2m": the largest unit that divides the duration. */
    public static String format(Duration d) {
        return formatMillis(d.toMillis());
    }

    private static String formatMillis(Long ms) {
        if (ms == null) {
            return "?";
        }
        if (ms > 0 && ms % 86_400_000 == 0) {
            return ms / 86_400_000 + "d";
        }
        if (ms > 0 && ms % 3_600_000 == 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms > 0 && ms % 60_000 == 0) {
            return ms / 60_000 + "m";
        }
        if (ms > 0 && ms % 1000 == 0) {
            return ms / 1000 + "s";
        }
        return ms + "ms";
    }

    String envName() {
        return "ORDO_" + pattern.toUpperCase(Locale.ROOT).replace('.', '_');
    }
}

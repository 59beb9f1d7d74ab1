package io.ordo.config;

import java.util.Locale;

/**
 * The type of a config value. In JSON: integers are numbers, booleans are booleans, strings are strings,
 * and durations are strings like {@code "250ms"}, {@code "5s"}, {@code "2m"}, {@code "1h"}, {@code "1d"}.
 */
public enum ConfigType {
    INTEGER,
    BOOLEAN,
    STRING,
    DURATION;

    String sql() {
        return name().toLowerCase(Locale.ROOT);
    }
}

package io.ordo.config;

import java.time.Instant;

/**
 * A value stored in {@code ordo.config}.
 *
 * @param key        the key
 * @param json       its JSON value
 * @param version    the config version that set it
 * @param updatedBy  who set it
 * @param updatedAt  when
 */
public record ConfigEntry(String key, String json, long version, String updatedBy, Instant updatedAt) {
}

package io.ordo.config;

import java.time.Instant;

/**
 * One row of {@code ordo.config_history}.
 *
 * @param version    the config version this change created
 * @param key        the key changed
 * @param oldJson    the value before, or null if it had none
 * @param json       the value after, or null when the key was reset to its default
 * @param updatedBy  who changed it
 * @param updatedAt  when
 */
public record ConfigChange(long version, String key, String oldJson, String json, String updatedBy, Instant updatedAt) {
}

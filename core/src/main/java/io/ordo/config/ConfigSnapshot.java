package io.ordo.config;

import java.util.List;

/** Every stored value and the config version they make up, read in one statement. */
public record ConfigSnapshot(long version, List<ConfigEntry> entries) {
    public ConfigSnapshot {
        entries = List.copyOf(entries);
    }
}

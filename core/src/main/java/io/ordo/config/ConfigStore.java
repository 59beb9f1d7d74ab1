package io.ordo.config;

import com.fasterxml.jackson.databind.JsonNode;
import io.ordo.OrdoException;
import io.ordo.db.SqlErrors;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.jooq.exception.DataAccessException;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The distributed configuration in PostgreSQL: {@code ordo.config}, its history and the drift check. Writes go
 * through {@code ordo.set_config}, which validates against {@code ordo.config_key}, records the change and
 * notifies every node on channel {@code ordo.config}.
 */
public final class ConfigStore {
    private final DSLContext dsl;

    public ConfigStore(DSLContext dsl) {
        this.dsl = dsl;
    }

    /**
     * Sets a key. {@code value} is a Long/Integer, Boolean, String or {@link java.time.Duration}, or a
     * {@link JsonNode}. Returns the new config version.
     *
     * @throws InvalidConfigException if the key is unknown or the value does not fit it; nothing changes
     */
    public long set(String key, Object value, String updatedBy) {
        ConfigKey known = ConfigKeys.require(key);
        String json = (value instanceof JsonNode node ? node : known.toJson(value)).toString();
        return write(key, () -> dsl.fetchOne("select ordo.set_config(?, ?::jsonb, ?)", key, json, updatedBy).get(0, Long.class));
    }

    /** Removes a key's stored value, so nodes fall back to their file/env default. Returns the config version. */
    public long reset(String key, String updatedBy) {
        return write(key, () -> dsl.fetchOne("select ordo.reset_config(?, ?)", key, updatedBy).get(0, Long.class));
    }

    /** Every stored value and the latest version, consistently. */
    public ConfigSnapshot snapshot() {
        List<ConfigEntry> entries = new ArrayList<>();
        long version = 0;
        for (Record r : read(() -> dsl.fetch("""
                select v.latest, c.key, c.value::text as value, c.version, c.updated_by, c.updated_at
                from (select ordo.config_version() as latest) v
                left join ordo.config c on true
                order by c.key"""))) {
            version = r.get("latest", Long.class);
            if (r.get("key") != null) {
                entries.add(new ConfigEntry(r.get("key", String.class), r.get("value", String.class), r.get("version", Long.class),
                        r.get("updated_by", String.class), r.get("updated_at", OffsetDateTime.class).toInstant()));
            }
        }
        return new ConfigSnapshot(version, entries);
    }

    /** The latest config version: what every node should run. */
    public long latestVersion() {
        return read(() -> dsl.fetchOne("select ordo.config_version()").get(0, Long.class));
    }

    /** Changes, newest first, of one key or of all keys when {@code key} is null. */
    public List<ConfigChange> history(String key, int limit) {
        return read(() -> dsl.fetch("""
                        select version, key, old_value::text as old_value, value::text as value, updated_by, updated_at
                        from ordo.config_history where (?::text is null or key = ?) order by version desc limit ?""", key, key, limit)
                .map(r -> new ConfigChange(r.get("version", Long.class), r.get("key", String.class), r.get("old_value", String.class),
                        r.get("value", String.class), r.get("updated_by", String.class),
                        r.get("updated_at", OffsetDateTime.class).toInstant())));
    }

    /** Nodes (not down) that run an older config version than the latest. */
    public List<NodeDrift> drift() {
        return read(() -> dsl.fetch("select * from ordo.config_drift()").map(r -> new NodeDrift(
                r.get("node_id", String.class), r.get("role", String.class), r.get("status", String.class),
                r.get("config_version", Long.class), r.get("latest_version", Long.class), r.get("changes_behind", Long.class))));
    }

    private static long write(String key, Supplier<Long> body) {
        try {
            return body.get();
        } catch (DataAccessException e) {
            String state = SqlErrors.sqlState(e);
            if (SqlErrors.INVALID_PARAMETER.equals(state) || SqlErrors.NULL_VALUE.equals(state)) {
                throw new InvalidConfigException(key, SqlErrors.serverMessage(e), e);
            }
            throw new OrdoException("config key " + key + " could not be written: " + SqlErrors.serverMessage(e), e);
        }
    }

    private static <T> T read(Supplier<T> body) {
        try {
            return body.get();
        } catch (DataAccessException e) {
            throw new OrdoException("config could not be read: " + SqlErrors.serverMessage(e), e);
        }
    }
}

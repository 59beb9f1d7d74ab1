package io.ordo.orchestrator.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.ordo.Json;
import io.ordo.config.ConfigEntry;
import io.ordo.config.ConfigKey;
import io.ordo.config.ConfigKeys;
import io.ordo.config.ConfigSnapshot;
import io.ordo.config.ConfigStore;
import io.ordo.config.InvalidConfigException;
import io.ordo.http.InvalidFieldException;
import io.ordo.http.Requests;
import io.ordo.http.auth.Access;
import io.ordo.http.auth.Role;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * {@code /v1/config}: the stored cluster config with its version and the registry of known keys; {@code PUT}
 * and {@code DELETE /v1/config/{key}} change one key through {@code ordo.set_config} / {@code ordo.reset_config},
 * which validate it, record the change and notify every node.
 */
public final class ConfigService implements HttpService {
    /** Config keys: dotted lower-case words, as the registry's patterns produce them. */
    static final Pattern KEY = Pattern.compile("[a-z][a-z0-9_]{0,39}(\\.[a-z][a-z0-9_]{0,39}){1,3}");

    private final Access access;
    private final ConfigStore store;
    private final Requests requests;

    public ConfigService(Access access, ConfigStore store, Requests requests) {
        this.access = access;
        this.store = store;
        this.requests = requests;
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Entry(String key, JsonNode value, long version, String updatedBy, Instant updatedAt) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Key(String key, String type, String allows, String description, JsonNode defaultValue) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Config(long version, List<Entry> entries, List<Key> keys) {
    }

    /** Body of {@code PUT /v1/config/{key}}. */
    record SetRequest(JsonNode value) {
    }

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Changed(String key, JsonNode value, long version) {
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", access.require(Role.READER, this::get))
                .put("/{key}", access.require(Role.OPERATOR, this::set))
                .delete("/{key}", access.require(Role.OPERATOR, this::reset));
    }

    private void get(ServerRequest req, ServerResponse res) {
        ConfigSnapshot snapshot = store.snapshot();
        List<Entry> entries = snapshot.entries().stream().map(ConfigService::entry).toList();
        List<Key> keys = ConfigKeys.ALL.stream().map(ConfigService::key).toList();
        Responses.ok(res, new Config(snapshot.version(), entries, keys));
    }

    private void set(ServerRequest req, ServerResponse res) {
        String key = key(req);
        SetRequest body = requests.json(req, SetRequest.class);
        if (body.value() == null || body.value().isNull()) {
            throw new InvalidFieldException("value", "value is required; to go back to the default, DELETE /v1/config/" + key);
        }
        long version;
        try {
            version = store.set(key, body.value(), Access.actor(req));
        } catch (InvalidConfigException e) {
            throw new InvalidFieldException("value", e.getMessage(), e);
        }
        Responses.ok(res, new Changed(key, body.value(), version));
    }

    private void reset(ServerRequest req, ServerResponse res) {
        String key = key(req);
        long version = store.reset(key, Access.actor(req));
        Responses.ok(res, Map.of("key", key, "version", version));
    }

    private static String key(ServerRequest req) {
        String key = Requests.pathParam(req, "key", KEY);
        try {
            ConfigKeys.require(key);
        } catch (InvalidConfigException e) {
            throw new InvalidFieldException("key", e.getMessage(), e);
        }
        return key;
    }

    private static Entry entry(ConfigEntry e) {
        return new Entry(e.key(), Json.parse(e.json()), e.version(), e.updatedBy(), e.updatedAt());
    }

    private static Key key(ConfigKey k) {
        return new Key(k.pattern(), k.type().name().toLowerCase(java.util.Locale.ROOT), k.allows(), k.description(),
                k.toJson(k.defaultValue()));
    }
}

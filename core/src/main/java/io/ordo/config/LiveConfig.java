package io.ordo.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ordo.OrdoException;
import io.ordo.coordination.Coordination;
import io.ordo.coordination.Subscription;

import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The configuration this node runs, kept current without restart: built-in defaults, overridden by the
 * node's file/env values, overridden by {@code ordo.config}. A change in the database notifies channel
 * {@link Coordination#CONFIG_CHANNEL}; the node reloads, tells its {@link ConfigListener}s what changed, and
 * reports the new {@link #version()} with its next heartbeat (pass {@code liveConfig::version} to
 * {@link io.ordo.coordination.NodeMembership}). Should a notification be missed, a poll of the latest version
 * every {@code pollInterval} catches up.
 * <p>
 * A stored value that this node cannot apply (say, written by a newer release) is logged and skipped, and the
 * version is not advanced, so the node shows up in the drift check.
 */
public final class LiveConfig implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(LiveConfig.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ConfigStore store;
    private final Map<String, Object> local;
    private final List<ConfigListener> listeners = new CopyOnWriteArrayList<>();
    private final Subscription subscription;
    private final Thread poller;
    private final Duration pollInterval;
    private volatile boolean running = true;
    private volatile ClusterConfig current;
    private final Object wake = new Object();
    private Map<String, Object> effective;
    private boolean loaded;

    private LiveConfig(ConfigStore store, Coordination coordination, Map<String, String> localValues, Duration pollInterval) {
        this.store = store;
        this.pollInterval = pollInterval;
        Map<String, Object> parsed = new LinkedHashMap<>();
        localValues.forEach((k, v) -> parsed.put(k, ConfigKeys.parse(k, v)));
        this.local = Map.copyOf(parsed);
        this.effective = Map.of();
        this.current = ClusterConfig.of(0, local);
        this.subscription = coordination.subscribe(Coordination.CONFIG_CHANNEL, payload -> refreshQuietly());
        refresh();
        this.poller = Thread.ofVirtual().name("ordo-config-poll").start(this::poll);
    }

    /**
     * Loads the configuration and follows its changes.
     *
     * @param localValues  key → raw value from the node's file or environment (see {@link ConfigKeys#fromEnvironment})
     * @param pollInterval how often to check for a missed change
     * @throws InvalidConfigException if a local value is unknown or invalid: the node must not start
     */
    public static LiveConfig start(ConfigStore store, Coordination coordination, Map<String, String> localValues, Duration pollInterval) {
        return new LiveConfig(store, coordination, localValues, pollInterval);
    }

    public static LiveConfig start(ConfigStore store, Coordination coordination, Map<String, String> localValues) {
        return start(store, coordination, localValues, Duration.ofSeconds(30));
    }

    /** What this node runs now. */
    public ClusterConfig current() {
        return current;
    }

    /** The database config version this node runs. */
    public long version() {
        return current.version();
    }

    /** The effective typed value of any key, patterns included ({@code backpressure.fulfillment.critical}). */
    public Object value(String key) {
        ConfigKey k = ConfigKeys.require(key);
        synchronized (this) {
            Object v = effective.get(key);
            return v != null ? v : k.defaultValue();
        }
    }

    /**
     * The typed values set for this node, by key (database over file/env); keys not in it take their defaults.
     * For services whose settings are not fields of {@link ClusterConfig}, such as keys with a namespace.
     */
    public synchronized Map<String, Object> values() {
        return effective;
    }

    public LiveConfig onChange(ConfigListener listener) {
        listeners.add(listener);
        return this;
    }

    /** Reloads from the database and applies what changed. Called on every notification; safe to call any time. */
    public synchronized void refresh() {
        ConfigSnapshot snapshot = store.snapshot();
        if (loaded && snapshot.version() == current.version()) {
            return;
        }
        Map<String, Object> next = new HashMap<>(local);
        long version = snapshot.version();
        for (ConfigEntry entry : snapshot.entries()) {
            try {
                next.put(entry.key(), ConfigKeys.require(entry.key()).parse(entry.key(), JSON.readTree(entry.json())));
            } catch (InvalidConfigException | JsonProcessingException e) {
                LOG.log(System.Logger.Level.ERROR, "cannot apply config key " + entry.key() + " = " + entry.json() + ": " + e.getMessage());
                version = current.version();
            }
        }
        ClusterConfig previous = current;
        ClusterConfig applied;
        try {
            applied = ClusterConfig.of(version, next);
        } catch (InvalidConfigException e) {
            LOG.log(System.Logger.Level.ERROR, "cannot apply config version " + version + ": " + e.getMessage());
            return;
        }
        Set<String> changed = new TreeSet<>();
        Set<String> keys = new TreeSet<>(next.keySet());
        keys.addAll(effective.keySet());
        for (String key : keys) {
            if (!Objects.equals(valueOf(next, key), valueOf(effective, key))) {
                changed.add(key);
            }
        }
        effective = Map.copyOf(next);
        current = applied;
        loaded = true;
        if (!changed.isEmpty()) {
            LOG.log(System.Logger.Level.INFO, "config version " + version + " applied, changed: " + String.join(", ", changed));
            for (ConfigListener listener : listeners) {
                try {
                    listener.changed(previous, applied, changed);
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "config listener failed", e);
                }
            }
        }
    }

    private static Object valueOf(Map<String, Object> values, String key) {
        Object v = values.get(key);
        return v != null ? v : ConfigKeys.require(key).defaultValue();
    }

    private void refreshQuietly() {
        try {
            refresh();
        } catch (OrdoException e) {
            LOG.log(System.Logger.Level.WARNING, "config reload failed: " + e.getMessage());
        }
    }

    private void poll() {
        while (running) {
            synchronized (wake) {
                try {
                    if (running) {
                        wake.wait(pollInterval.toMillis());
                    }
                } catch (InterruptedException e) {
                    return;
                }
            }
            try {
                if (running && store.latestVersion() != current.version()) {
                    refreshQuietly();
                }
            } catch (OrdoException e) {
                LOG.log(System.Logger.Level.WARNING, "config version check failed: " + e.getMessage());
            }
        }
    }

    /** A listener that applies {@code log.level} to the JDK logging root (which Ordo's SLF4J binding uses). */
    public static ConfigListener logLevelApplier() {
        return (previous, current, changed) -> {
            if (changed.contains(ConfigKeys.LOG_LEVEL)) {
                Logger.getLogger("").setLevel(switch (current.logLevel()) {
                    case "TRACE" -> Level.FINEST;
                    case "DEBUG" -> Level.FINE;
                    case "WARN" -> Level.WARNING;
                    case "ERROR" -> Level.SEVERE;
                    default -> Level.INFO;
                });
            }
        };
    }

    @Override
    public void close() {
        running = false;
        subscription.close();
        synchronized (wake) {
            wake.notifyAll();
        }
    }
}

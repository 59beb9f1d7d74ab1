package io.ordo.coordination;

import java.util.Locale;

/**
 * A node's standing in the registry: {@code ACTIVE → SUSPECT} after 2 missed heartbeat intervals,
 * {@code → DOWN} after 3 (marked by the leader); {@code DRAINING} while it stops cleanly. A suspect node that
 * heartbeats again is active; a down node stays down until it registers again.
 */
public enum NodeStatus {
    ACTIVE,
    SUSPECT,
    DRAINING,
    DOWN;

    String sql() {
        return name().toLowerCase(Locale.ROOT);
    }

    static NodeStatus fromSql(String value) {
        return valueOf(value.toUpperCase(Locale.ROOT));
    }
}

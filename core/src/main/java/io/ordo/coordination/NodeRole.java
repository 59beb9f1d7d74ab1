package io.ordo.coordination;

import java.util.Locale;

/** What a node does. */
public enum NodeRole {
    ORCHESTRATOR,
    WORKER,
    DLQ;

    String sql() {
        return name().toLowerCase(Locale.ROOT);
    }

    static NodeRole fromSql(String value) {
        return valueOf(value.toUpperCase(Locale.ROOT));
    }
}

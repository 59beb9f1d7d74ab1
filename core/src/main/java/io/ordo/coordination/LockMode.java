package io.ordo.coordination;

/** How a lock is held: any number of {@link #SHARED} holders, or one {@link #EXCLUSIVE} holder. */
public enum LockMode {
    SHARED,
    EXCLUSIVE;

    String sql() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    static LockMode fromSql(String value) {
        return valueOf(value.toUpperCase(java.util.Locale.ROOT));
    }
}

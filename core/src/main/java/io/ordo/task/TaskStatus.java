package io.ordo.task;

/** States of a task. */
public enum TaskStatus {
    PENDING, IN_PROGRESS, COMPLETE, FAILED, CANCELLED;

    public static TaskStatus of(String db) {
        return valueOf(db.toUpperCase(java.util.Locale.ROOT));
    }

    public String db() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public boolean terminal() {
        return this == COMPLETE || this == FAILED || this == CANCELLED;
    }
}

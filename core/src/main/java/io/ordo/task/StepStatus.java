package io.ordo.task;

/** States of a step. */
public enum StepStatus {
    PENDING, ENQUEUED, IN_PROGRESS, WAITING_RETRY, COMPLETE, FAILED, CANCELLED;

    public static StepStatus of(String db) {
        return valueOf(db.toUpperCase(java.util.Locale.ROOT));
    }

    public String db() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}

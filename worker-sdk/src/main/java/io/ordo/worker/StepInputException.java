package io.ordo.worker;

import io.ordo.OrdoException;

/** The task context (or a parent's result) does not map to the type a handler asked for. */
public class StepInputException extends OrdoException {
    private final long taskId;
    private final String step;

    public StepInputException(long taskId, String step, String message, Throwable cause) {
        super(message, cause);
        this.taskId = taskId;
        this.step = step;
    }

    public long taskId() {
        return taskId;
    }

    public String step() {
        return step;
    }
}

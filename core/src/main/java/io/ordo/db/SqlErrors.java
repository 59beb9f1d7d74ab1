package io.ordo.db;

import io.ordo.InvalidInputException;
import io.ordo.OrdoException;
import io.ordo.queue.QueueNotFoundException;
import org.jooq.exception.DataAccessException;

import java.sql.SQLException;

/** Turns the SQLSTATEs that Ordo's SQL functions raise into Ordo exceptions. */
public final class SqlErrors {
    /** Raised by ordo functions for bad arguments. */
    public static final String INVALID_PARAMETER = "22023";
    public static final String UNDEFINED_OBJECT = "42704";
    public static final String INVALID_TEXT = "22P02";
    public static final String NULL_VALUE = "22004";
    public static final String CHECK_VIOLATION = "23514";
    public static final String NOT_FOUND = "OR404";
    public static final String TEMPLATE_CONFLICT = "OR409";
    public static final String BACKPRESSURE = "OR429";
    /** lock_not_available: a lock_timeout (or NOWAIT) gave up. */
    public static final String LOCK_TIMEOUT = "55P03";

    private SqlErrors() {
    }

    public static String sqlState(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                return sql.getSQLState();
            }
        }
        return null;
    }

    /** The server's message without the "ERROR: " prefix and the Where/Context trailer. */
    public static String serverMessage(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof org.postgresql.util.PSQLException psql && psql.getServerErrorMessage() != null) {
                return psql.getServerErrorMessage().getMessage();
            }
        }
        return e.getMessage();
    }

    /** Maps a failed call to the exception a caller can act on. */
    public static OrdoException translate(DataAccessException e) {
        return translate(e, null);
    }

    /** Runs a database call, translating its failure. */
    public static <T> T call(java.util.function.Supplier<T> body) {
        try {
            return body.get();
        } catch (DataAccessException e) {
            throw translate(e);
        }
    }

    /** Maps a failed queue call to the exception a caller can act on. {@code queue} names the queue involved. */
    public static OrdoException translate(DataAccessException e, String queue) {
        String state = sqlState(e);
        String message = serverMessage(e);
        if (state == null) {
            return new OrdoException(message, e);
        }
        return switch (state) {
            case UNDEFINED_OBJECT -> new QueueNotFoundException(queue, message, e);
            case NOT_FOUND -> new io.ordo.NotFoundException(message, e);
            case TEMPLATE_CONFLICT -> new io.ordo.template.TemplateConflictException(message, e);
            case BACKPRESSURE -> new io.ordo.task.BackpressureException(message, java.time.Duration.ofSeconds(1), e);
            case INVALID_PARAMETER, INVALID_TEXT, NULL_VALUE, CHECK_VIOLATION -> new InvalidInputException(message, e);
            default -> new OrdoException(message, e);
        };
    }
}

package io.ordo.dlq;

import io.ordo.InvalidInputException;
import io.ordo.OrdoException;
import io.ordo.db.SqlErrors;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.jooq.exception.DataAccessException;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Reads and resolves dead letters through the SQL API of migration V7 ({@code ordo.find_dead_letters},
 * {@code ordo.requeue_dead_letter}, {@code ordo.requeue_dead_letters}, {@code ordo.discard_dead_letter}). Every
 * change runs in the transaction of the {@link DSLContext} it is given and records who made it and why.
 */
public final class DeadLetters {
    static final String COLUMNS = "id, namespace, task_id, step_id, template_name, template_version, step_name, handler,"
            + " reason, error_class, message::text, last_error::text, attempts::text, first_failed_at, dead_lettered_at,"
            + " status, resolved_by, resolved_reason, resolved_at, classification, classified_at, classified_by";
    /** Largest page of a list. */
    public static final int MAX_PAGE = 1000;
    /** Most letters one bulk requeue handles. */
    public static final int MAX_BULK = 100_000;

    private final DSLContext dsl;

    public DeadLetters(DSLContext dsl) {
        this.dsl = dsl;
    }

    /** The same operations inside another transaction. */
    public DeadLetters using(DSLContext other) {
        return new DeadLetters(other);
    }

    /**
     * A page of letters, newest first.
     *
     * @param nextCursor pass it as {@code beforeId} for the next page; null on the last page
     */
    public record Page(List<DeadLetter> items, Long nextCursor) {
    }

    /** Letters matching the filter, newest first, with ids below {@code beforeId} (null: from the newest). */
    public Page list(DeadLetterFilter filter, Long beforeId, int limit) {
        if (limit < 1 || limit > MAX_PAGE) {
            throw new InvalidInputException("limit must be between 1 and " + MAX_PAGE + ", got " + limit);
        }
        List<DeadLetter> rows = call(null, () -> dsl.fetch("select " + COLUMNS + " from ordo.find_dead_letters(?::jsonb, ?, ?)",
                filter.toJson(), beforeId, limit + 1).map(DeadLetters::toLetter));
        if (rows.size() <= limit) {
            return new Page(rows, null);
        }
        List<DeadLetter> page = List.copyOf(rows.subList(0, limit));
        return new Page(page, page.getLast().id());
    }

    public Optional<DeadLetter> get(long id) {
        return dsl.fetchOptional("select " + COLUMNS + " from ordo.dead_letter where id = ?", id).map(DeadLetters::toLetter);
    }

    /** The letter's history, oldest first. */
    public List<DeadLetterEvent> history(long id) {
        return dsl.fetch("select id, dead_letter_id, namespace, kind, actor, reason, detail::text, at from ordo.dead_letter_event"
                        + " where dead_letter_id = ? order by id", id)
                .map(r -> new DeadLetterEvent(r.get(0, Long.class), r.get(1, Long.class), r.get(2, String.class),
                        r.get(3, String.class), r.get(4, String.class), r.get(5, String.class), r.get(6, String.class),
                        instant(r, 7)));
    }

    /**
     * Puts the letter's step back to work with fresh attempts, reopening the steps its failure cancelled, and
     * resumes its task. Returns the task id.
     *
     * @param patchedInputJson  JSON that replaces the step's input, or null to keep it
     * @throws DeadLetterNotFoundException  if there is no such letter
     * @throws DeadLetterStateException     if it is resolved already, holds a message, or its task is no longer failed
     */
    public long requeue(long id, String patchedInputJson, String actor, String reason) {
        checkActor(actor);
        return call(id, () -> dsl.fetchOne("select ordo.requeue_dead_letter(?, ?::jsonb, ?, ?)",
                id, patchedInputJson, actor, reason).get(0, Long.class));
    }

    /**
     * Requeues the open letters matching the filter whose step and task are failed, at most {@code limit}, oldest
     * first; with {@code dryRun} only counts them. Returns the count.
     */
    public int requeue(DeadLetterFilter filter, String actor, String reason, boolean dryRun, int limit) {
        checkActor(actor);
        if (limit < 1 || limit > MAX_BULK) {
            throw new InvalidInputException("limit must be between 1 and " + MAX_BULK + ", got " + limit);
        }
        if (filter.status() != null && filter.status() != DeadLetterStatus.OPEN) {
            throw new InvalidInputException("status: a bulk requeue takes open dead letters only");
        }
        return call(null, () -> dsl.fetchOne("select ordo.requeue_dead_letters(?::jsonb, ?, ?, ?, ?)",
                filter.toJson(), actor, reason, dryRun, limit).get(0, Integer.class));
    }

    /**
     * Resolves the letter without running its step again: the task stays failed.
     *
     * @throws InvalidInputException        if the reason is missing
     * @throws DeadLetterNotFoundException  if there is no such letter
     * @throws DeadLetterStateException     if it is resolved already
     */
    public void discard(long id, String actor, String reason) {
        checkActor(actor);
        if (reason == null || reason.isBlank()) {
            throw new InvalidInputException("reason: discarding a dead letter needs a reason");
        }
        call(id, () -> dsl.fetch("select ordo.discard_dead_letter(?, ?, ?)", id, actor, reason));
    }

    /** How many letters per namespace, error class, classification and status. */
    public record Count(String namespace, String errorClass, String classification, DeadLetterStatus status, long count) {
    }

    /** Counts of every letter kept, by namespace, error class, classification ({@code unclassified} if none) and status. */
    public List<Count> stats() {
        return dsl.fetch("""
                        select namespace, error_class, coalesce(classification, 'unclassified'), status, count(*)
                        from ordo.dead_letter
                        group by 1, 2, 3, 4
                        order by 1, 2 nulls first, 3, 4""")
                .map(r -> new Count(r.get(0, String.class), r.get(1, String.class), r.get(2, String.class),
                        DeadLetterStatus.of(r.get(3, String.class)), r.get(4, Long.class)));
    }

    static DeadLetter toLetter(Record r) {
        String classification = r.get(19, String.class);
        return new DeadLetter(r.get(0, Long.class), r.get(1, String.class), r.get(2, Long.class), r.get(3, Long.class),
                r.get(4, String.class), r.get(5, String.class), r.get(6, String.class), r.get(7, String.class),
                r.get(8, String.class), r.get(9, String.class), r.get(10, String.class), r.get(11, String.class),
                r.get(12, String.class), instant(r, 13), instant(r, 14), DeadLetterStatus.of(r.get(15, String.class)),
                r.get(16, String.class), r.get(17, String.class), instant(r, 18),
                classification == null ? null : Classification.of(classification), instant(r, 20), r.get(21, String.class));
    }

    private static Instant instant(Record r, int index) {
        OffsetDateTime t = r.get(index, OffsetDateTime.class);
        return t == null ? null : t.toInstant();
    }

    private static void checkActor(String actor) {
        if (actor == null || actor.isBlank() || actor.length() > 200) {
            throw new InvalidInputException("actor: name who makes the change (1 to 200 characters)");
        }
    }

    /** Runs a call, turning the SQLSTATEs of the dead-letter functions into exceptions that carry the letter's id. */
    static <T> T call(Long id, Supplier<T> body) {
        try {
            return body.get();
        } catch (DataAccessException e) {
            String state = SqlErrors.sqlState(e);
            String message = SqlErrors.serverMessage(e);
            if (id != null && "OR404".equals(state)) {
                throw new DeadLetterNotFoundException(id, message, e);
            }
            if (id != null && "OR409".equals(state)) {
                throw new DeadLetterStateException(id, message, e);
            }
            OrdoException translated = SqlErrors.translate(e);
            throw translated;
        }
    }
}

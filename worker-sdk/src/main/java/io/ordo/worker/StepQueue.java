package io.ordo.worker;

import io.ordo.Json;
import io.ordo.OrdoException;
import io.ordo.db.SqlErrors;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.jooq.exception.DataAccessException;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/** The worker SQL API of one namespace: ordo.read_steps, extend_steps, release_steps and complete_steps. */
final class StepQueue {
    private static final String INSUFFICIENT_PRIVILEGE = "42501";

    private final DSLContext dsl;
    private final String namespace;

    StepQueue(DSLContext dsl, String namespace) {
        this.dsl = dsl;
        this.namespace = namespace;
    }

    /** Reads up to {@code quantity} steps and hides them for {@code visibility}; each read starts an attempt. */
    List<ReadStep> read(Duration visibility, int quantity) {
        return call(() -> {
            List<ReadStep> out = new ArrayList<>();
            for (Record r : dsl.fetch("""
                    select msg_id, task_id, step_id, step_name, handler, attempt, max_attempts, context::text,
                           parent_results::text, deadline, headers::text, template_name, template_version
                    from ordo.read_steps(?, ?, ?)""", namespace, seconds(visibility), quantity)) {
                out.add(new ReadStep(r.get(0, Long.class), r.get(1, Long.class), r.get(2, Long.class), r.get(3, String.class),
                        r.get(4, String.class), r.get(5, Integer.class), r.get(6, Integer.class), Json.parse(r.get(7, String.class)),
                        Json.parse(r.get(8, String.class)), r.get(9, OffsetDateTime.class).toInstant(),
                        Json.parse(r.get(10, String.class)), r.get(11, String.class), r.get(12, String.class)));
            }
            return out;
        });
    }

    /** Hides the messages for {@code visibility} from now, in one call; returns the ids still present. */
    Set<Long> extend(Collection<Long> msgIds, Duration visibility) {
        Long[] ids = msgIds.toArray(Long[]::new);
        return call(() -> new HashSet<>(dsl.fetch("select ordo.extend_steps(?, ?::bigint[], ?)", namespace, ids,
                seconds(visibility)).getValues(0, Long.class)));
    }

    /** Gives back steps that were read but not started, keeping their attempt; returns the ids released. */
    Set<Long> release(Collection<ReadStep> steps) {
        Long[] ids = steps.stream().map(ReadStep::msgId).toArray(Long[]::new);
        Integer[] attempts = steps.stream().map(ReadStep::attempt).toArray(Integer[]::new);
        return call(() -> new HashSet<>(dsl.fetch("select ordo.release_steps(?, ?::bigint[], ?::int[])", namespace, ids,
                attempts).getValues(0, Long.class)));
    }

    /** Hands results back in one transaction: deletes the step messages and sends step_result messages. */
    void complete(List<String> resultsJson) {
        String[] results = resultsJson.toArray(String[]::new);
        call(() -> dsl.fetch("select ordo.complete_steps(?, ?::jsonb[])", namespace, results));
    }

    private <T> T call(Supplier<T> body) {
        try {
            return body.get();
        } catch (DataAccessException e) {
            throw translate(e);
        }
    }

    private OrdoException translate(DataAccessException e) {
        if (INSUFFICIENT_PRIVILEGE.equals(SqlErrors.sqlState(e))) {
            return new NamespaceAccessDeniedException(namespace, SqlErrors.serverMessage(e), e);
        }
        return SqlErrors.translate(e, "ns_" + namespace);
    }

    private static double seconds(Duration d) {
        return d.toNanos() / 1e9;
    }
}

package io.ordo.worker;

import io.ordo.Json;
import io.ordo.OrdoException;
import io.ordo.db.Jdbc;
import io.ordo.db.SqlErrors;
import org.jooq.DSLContext;
import org.jooq.exception.DataAccessException;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

import static io.ordo.db.Columns.value;

/**
 * The worker SQL API of one namespace: ordo.read_steps, complete_and_read_steps, extend_steps, release_steps and
 * complete_steps.
 */
final class StepQueue {
    private static final System.Logger LOG = System.getLogger(StepQueue.class.getName());
    private static final String INSUFFICIENT_PRIVILEGE = "42501";
    private static final String UNDEFINED_FUNCTION = "42883";
    /**
     * The columns a worker reads of each step, followed by the from clause of the function that reads them. The
     * deadline comes as microseconds since the epoch, which the reader takes as a long instead of parsing a timestamp.
     */
    private static final String SELECT_STEPS = """
            select msg_id, task_id, step_id, step_name, handler, attempt, max_attempts, context::text,
                   parent_results::text, (extract(epoch from deadline) * 1000000)::int8, headers::text, template_name,
                   template_version
            """;
    /**
     * The results go as one JSON array, parsed once by the server: as a jsonb[] literal each result would be escaped
     * into the array's syntax here and unescaped there before its own parse.
     */
    private static final String COMPLETE_AND_READ = SELECT_STEPS + """
            from ordo.complete_and_read_steps(?, array(select r.e from jsonb_array_elements(?::jsonb) with ordinality r(e, o)
                                                       order by r.o), ?, ?)""";
    private static final String READ = SELECT_STEPS + "from ordo.read_steps(?, ?, ?)";

    private final DSLContext dsl;
    private final String namespace;
    /** Whether the database has ordo.complete_and_read_steps (V22); a worker may start before its database is migrated. */
    private volatile boolean combined = true;

    StepQueue(DSLContext dsl, String namespace) {
        this.dsl = dsl;
        this.namespace = namespace;
    }

    /** Reads up to {@code quantity} steps and hides them for {@code visibility}; each read starts an attempt. */
    List<ReadStep> read(Duration visibility, int quantity) {
        return call(() -> steps(Jdbc.fetch(dsl, READ, namespace, seconds(visibility), quantity)));
    }

    /**
     * Hands results back and reads up to {@code quantity} steps, in one transaction ({@code ordo.complete_and_read_steps}):
     * if it fails, neither happened. On a database not yet migrated to V22 it hands back and then reads, in two calls;
     * a read that fails there returns no steps, since the results are back.
     */
    List<ReadStep> completeAndRead(List<String> resultsJson, Duration visibility, int quantity) {
        if (resultsJson.isEmpty()) {
            return read(visibility, quantity);
        }
        if (combined) {
            try {
                String results = "[" + String.join(",", resultsJson) + "]";
                return steps(Jdbc.fetch(dsl, COMPLETE_AND_READ, namespace, results, seconds(visibility), quantity));
            } catch (DataAccessException e) {
                if (!UNDEFINED_FUNCTION.equals(SqlErrors.sqlState(e))) {
                    throw translate(e);
                }
                combined = false;
                LOG.log(System.Logger.Level.WARNING, "the database has no ordo.complete_and_read_steps (its schema predates "
                        + "migration V22): the worker of namespace " + namespace + " hands back and reads in two calls");
            }
        }
        complete(resultsJson);
        try {
            return read(visibility, quantity);
        } catch (OrdoException e) {
            // the results are handed back; the next turn reads
            LOG.log(System.Logger.Level.WARNING, "could not read namespace " + namespace + " after a hand-off: " + e.getMessage());
            return List.of();
        }
    }

    private static List<ReadStep> steps(List<Object[]> rows) {
        List<ReadStep> out = new ArrayList<>(rows.size());
        for (Object[] r : rows) {
            long deadlineMicros = value(r, 9);
            out.add(new ReadStep(value(r, 0), value(r, 1), value(r, 2), value(r, 3),
                    value(r, 4), value(r, 5), value(r, 6), Json.parse(value(r, 7)), Json.parse(value(r, 8)),
                    Instant.ofEpochSecond(Math.floorDiv(deadlineMicros, 1_000_000), Math.floorMod(deadlineMicros, 1_000_000) * 1000L),
                    Json.parse(value(r, 10)), value(r, 11), value(r, 12)));
        }
        return out;
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

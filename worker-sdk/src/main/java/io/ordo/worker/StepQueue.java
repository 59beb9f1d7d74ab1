package io.ordo.worker;

import io.ordo.Json;
import io.ordo.OrdoException;
import io.ordo.db.SqlErrors;
import org.jooq.DSLContext;
import org.jooq.exception.DataAccessException;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

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
        return call(() -> jdbc(READ, ps -> {
            ps.setString(1, namespace);
            ps.setDouble(2, seconds(visibility));
            ps.setInt(3, quantity);
            return steps(ps);
        }));
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
                return jdbc(COMPLETE_AND_READ, ps -> {
                    ps.setString(1, namespace);
                    ps.setString(2, results);
                    ps.setDouble(3, seconds(visibility));
                    ps.setInt(4, quantity);
                    return steps(ps);
                });
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

    private static List<ReadStep> steps(PreparedStatement ps) throws SQLException {
        List<ReadStep> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                long deadlineMicros = rs.getLong(10);
                out.add(new ReadStep(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getString(4),
                        rs.getString(5), rs.getInt(6), rs.getInt(7), Json.parse(rs.getString(8)),
                        Json.parse(rs.getString(9)),
                        Instant.ofEpochSecond(Math.floorDiv(deadlineMicros, 1_000_000), Math.floorMod(deadlineMicros, 1_000_000) * 1000L),
                        Json.parse(rs.getString(11)), rs.getString(12), rs.getString(13)));
            }
        }
        return out;
    }

    @FunctionalInterface
    private interface Statement<T> {
        T run(PreparedStatement statement) throws SQLException;
    }

    /**
     * Runs {@code sql} through plain JDBC on a connection of the worker's pool: the hot calls skip jOOQ's rendering,
     * binding and record mapping. A failure comes out as jOOQ's {@link DataAccessException}, as from the other calls.
     */
    private <T> T jdbc(String sql, Statement<T> body) {
        return dsl.connectionResult(c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                return body.run(ps);
            } catch (SQLException e) {
                throw new DataAccessException(e.getMessage(), e);
            }
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

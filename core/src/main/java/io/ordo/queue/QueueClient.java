package io.ordo.queue;

import io.ordo.db.SqlErrors;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.jooq.exception.DataAccessException;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Java client of Ordo's queue SQL API ({@code ordo.send}, {@code ordo.read}, ...).
 * <p>
 * Every call runs in the transaction of the {@link DSLContext} it was built with: use
 * {@link #using(DSLContext)} inside {@code dsl.transaction(...)} to combine calls atomically,
 * for example deleting a message and sending its result.
 * <p>
 * The message path (send, read, delete, visibility) uses prepared statements on the context's
 * connection rather than jOOQ's plain-SQL rendering: it runs on every message, and rendering cost the
 * client two to three times the CPU of the statement itself (see load-tests/RESULTS.md).
 */
public final class QueueClient {
    private final DSLContext dsl;

    public QueueClient(DSLContext dsl) {
        this.dsl = dsl;
    }

    public DSLContext dsl() {
        return dsl;
    }

    /** The same client bound to another context, typically a transaction's. */
    public QueueClient using(DSLContext other) {
        return new QueueClient(other);
    }

    public void createQueue(String queue) {
        call(queue, () -> dsl.fetch("select ordo.create_queue(?)", queue));
    }

    public boolean dropQueue(String queue) {
        return call(queue, () -> dsl.fetch("select ordo.drop_queue(?)", queue).get(0).get(0, Boolean.class));
    }

    public long send(String queue, String message) {
        return send(queue, message, null, Duration.ZERO);
    }

    public long send(String queue, String message, String headers, Duration delay) {
        return send(queue, message, headers, delay, 0);
    }

    /**
     * Sends one message. A higher {@code priority} is read earlier: it counts as if sent
     * {@code priority × priority_step} (a per-queue setting, 1 s by default) before now, so older
     * messages of lower priority still age past newer ones of higher priority.
     */
    public long send(String queue, String message, String headers, Duration delay, int priority) {
        return jdbc(queue, "select ordo.send(?, ?::jsonb, ?::jsonb, ?, ?)", (c, ps) -> {
            ps.setString(1, queue);
            ps.setString(2, message);
            ps.setString(3, headers);
            ps.setDouble(4, seconds(delay));
            ps.setInt(5, priority);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }

    /** Sends many messages in one statement. {@code headers} is null or has one entry per message. */
    public List<Long> sendBatch(String queue, List<String> messages, List<String> headers, Duration delay) {
        return sendBatch(queue, messages, headers, delay, null);
    }

    public List<Long> sendBatch(String queue, List<String> messages) {
        return sendBatch(queue, messages, null, Duration.ZERO);
    }

    /** Sends many messages in one statement; {@code headers} and {@code priorities} are null or one per message. */
    public List<Long> sendBatch(String queue, List<String> messages, List<String> headers, Duration delay,
                                List<Integer> priorities) {
        return jdbc(queue, "select ordo.send_batch(?, ?::jsonb[], ?::jsonb[], ?, ?)", (c, ps) -> {
            ps.setString(1, queue);
            ps.setArray(2, c.createArrayOf("text", messages.toArray()));
            setArray(c, ps, 3, "text", headers);
            ps.setDouble(4, seconds(delay));
            setArray(c, ps, 5, "int4", priorities);
            return longs(ps);
        });
    }

    /**
     * Reads up to {@code quantity} visible messages and hides them for {@code visibility}.
     * Concurrent readers never get the same message (FOR UPDATE SKIP LOCKED).
     */
    public List<Message> read(String queue, Duration visibility, int quantity) {
        return jdbc(queue, "select msg_id, read_ct, enqueued_at, vt, message::text, headers::text from ordo.read(?, ?, ?)", (c, ps) -> {
            ps.setString(1, queue);
            ps.setDouble(2, seconds(visibility));
            ps.setInt(3, quantity);
            return messages(ps);
        });
    }

    /** Reads and deletes up to {@code quantity} visible messages. */
    public List<Message> pop(String queue, int quantity) {
        return jdbc(queue, "select msg_id, read_ct, enqueued_at, vt, message::text, headers::text from ordo.pop(?, ?)", (c, ps) -> {
            ps.setString(1, queue);
            ps.setInt(2, quantity);
            return messages(ps);
        });
    }

    /**
     * Locks up to {@code quantity} visible messages for the current transaction without hiding them or counting a
     * read, for a consumer that processes and deletes them in that same transaction ({@code ordo.lock_batch}).
     * Concurrent readers skip them; if the transaction rolls back, they are visible again at once. Only useful
     * inside {@code dsl.transaction(...)}.
     */
    public List<Message> lockBatch(String queue, int quantity) {
        return jdbc(queue, "select msg_id, read_ct, enqueued_at, vt, message::text, headers::text from ordo.lock_batch(?, ?)", (c, ps) -> {
            ps.setString(1, queue);
            ps.setInt(2, quantity);
            return messages(ps);
        });
    }

    /** Deletes messages; returns the ids that existed. */
    public List<Long> delete(String queue, List<Long> ids) {
        return idsCall(queue, "select ordo.delete(?, ?)", ids, null);
    }

    /** Moves messages to the archive; returns the ids that existed. */
    public List<Long> archive(String queue, List<Long> ids) {
        return idsCall(queue, "select ordo.archive(?, ?)", ids, null);
    }

    /** Hides messages for {@code visibility} from now (a heartbeat); returns the ids still present. */
    public List<Long> setVisibility(String queue, List<Long> ids, Duration visibility) {
        return idsCall(queue, "select ordo.set_vt(?, ?, ?)", ids, visibility);
    }

    public QueueMetrics metrics(String queue) {
        return call(queue, () -> toMetrics(dsl.fetchOne("select * from ordo.metrics(?)", queue)));
    }

    public List<QueueMetrics> metricsAll() {
        return call(null, () -> dsl.fetch("select * from ordo.metrics_all()").map(QueueClient::toMetrics));
    }

    private List<Long> idsCall(String queue, String sql, List<Long> ids, Duration visibility) {
        return jdbc(queue, sql, (c, ps) -> {
            ps.setString(1, queue);
            ps.setArray(2, c.createArrayOf("int8", ids.toArray()));
            if (visibility != null) {
                ps.setDouble(3, seconds(visibility));
            }
            return longs(ps);
        });
    }

    @FunctionalInterface
    private interface Statement<T> {
        T run(Connection connection, PreparedStatement statement) throws SQLException;
    }

    private <T> T jdbc(String queue, String sql, Statement<T> body) {
        try {
            return dsl.connectionResult(c -> {
                try (PreparedStatement ps = c.prepareStatement(sql)) {
                    return body.run(c, ps);
                } catch (SQLException e) {
                    throw SqlErrors.translate(new DataAccessException(e.getMessage(), e), queue);
                }
            });
        } catch (DataAccessException e) {
            throw SqlErrors.translate(e, queue);
        }
    }

    private static void setArray(Connection c, PreparedStatement ps, int index, String type, List<?> values) throws SQLException {
        if (values == null) {
            ps.setNull(index, Types.ARRAY);
        } else {
            Array array = c.createArrayOf(type, values.toArray());
            ps.setArray(index, array);
        }
    }

    private static List<Long> longs(PreparedStatement ps) throws SQLException {
        List<Long> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(rs.getLong(1));
            }
        }
        return out;
    }

    private static List<Message> messages(PreparedStatement ps) throws SQLException {
        List<Message> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new Message(rs.getLong(1), rs.getInt(2), rs.getObject(3, OffsetDateTime.class).toInstant(),
                        rs.getObject(4, OffsetDateTime.class).toInstant(), rs.getString(5), rs.getString(6)));
            }
        }
        return out;
    }

    private static double seconds(Duration d) {
        return d == null ? 0.0 : d.toNanos() / 1e9;
    }

    private static <T> T call(String queue, Supplier<T> body) {
        try {
            return body.get();
        } catch (DataAccessException e) {
            throw SqlErrors.translate(e, queue);
        }
    }

    private static QueueMetrics toMetrics(Record r) {
        Double oldest = r.get("oldest_msg_age_sec", Double.class);
        return new QueueMetrics(
                r.get("queue_name", String.class),
                r.get("queue_length", Long.class),
                r.get("visible_length", Long.class),
                oldest == null ? null : Duration.ofNanos((long) (oldest * 1e9)),
                r.get("total_messages", Long.class),
                Duration.ofNanos((long) (r.get("stats_age_sec", Double.class) * 1e9)),
                r.get("scrape_time", OffsetDateTime.class).toInstant());
    }
}

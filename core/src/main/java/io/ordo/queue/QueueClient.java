package io.ordo.queue;

import io.ordo.db.Jdbc;
import io.ordo.db.SqlErrors;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.jooq.exception.DataAccessException;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.function.Supplier;

/**
 * Java client of Ordo's queue SQL API ({@code ordo.send}, {@code ordo.read}, ...).
 * <p>
 * Every call runs in the transaction of the {@link DSLContext} it was built with: use
 * {@link #using(DSLContext)} inside {@code dsl.transaction(...)} to combine calls atomically,
 * for example deleting a message and sending its result.
 * <p>
 * The message path (send, read, delete, visibility) goes through {@link Jdbc} on the context's connection
 * rather than jOOQ's plain-SQL rendering: it runs on every message, and rendering cost the client two to three
 * times the CPU of the statement itself (see load-tests/RESULTS.md).
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
        return longs(queue, "select ordo.send(?, ?::jsonb, ?::jsonb, ?, ?)", queue, message, headers, seconds(delay), priority)
                .getFirst();
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
        return longs(queue, "select ordo.send_batch(?, ?::jsonb[], ?::jsonb[], ?, ?::int4[])", queue,
                messages.toArray(String[]::new), headers == null ? null : headers.toArray(String[]::new), seconds(delay),
                priorities == null ? null : priorities.toArray(Integer[]::new));
    }

    /**
     * Reads up to {@code quantity} visible messages and hides them for {@code visibility}.
     * Concurrent readers never get the same message (FOR UPDATE SKIP LOCKED).
     */
    public List<Message> read(String queue, Duration visibility, int quantity) {
        return messages(queue, "from ordo.read(?, ?, ?)", queue, seconds(visibility), quantity);
    }

    /** Reads and deletes up to {@code quantity} visible messages. */
    public List<Message> pop(String queue, int quantity) {
        return messages(queue, "from ordo.pop(?, ?)", queue, quantity);
    }

    /**
     * Locks up to {@code quantity} visible messages for the current transaction without hiding them or counting a
     * read, for a consumer that processes and deletes them in that same transaction ({@code ordo.lock_batch}).
     * Concurrent readers skip them; if the transaction rolls back, they are visible again at once. Only useful
     * inside {@code dsl.transaction(...)}.
     */
    public List<Message> lockBatch(String queue, int quantity) {
        return messages(queue, "from ordo.lock_batch(?, ?)", queue, quantity);
    }

    /** Deletes messages; returns the ids that existed. */
    public List<Long> delete(String queue, List<Long> ids) {
        return longs(queue, "select ordo.delete(?, ?)", queue, ids.toArray(Long[]::new));
    }

    /** Moves messages to the archive; returns the ids that existed. */
    public List<Long> archive(String queue, List<Long> ids) {
        return longs(queue, "select ordo.archive(?, ?)", queue, ids.toArray(Long[]::new));
    }

    /** Hides messages for {@code visibility} from now (a heartbeat); returns the ids still present. */
    public List<Long> setVisibility(String queue, List<Long> ids, Duration visibility) {
        return longs(queue, "select ordo.set_vt(?, ?, ?)", queue, ids.toArray(Long[]::new), seconds(visibility));
    }

    public QueueMetrics metrics(String queue) {
        return call(queue, () -> toMetrics(dsl.fetchOne("select * from ordo.metrics(?)", queue)));
    }

    public List<QueueMetrics> metricsAll() {
        return call(null, () -> dsl.fetch("select * from ordo.metrics_all()").map(QueueClient::toMetrics));
    }

    /** The first column of each row of {@code sql}, a bigint. */
    private List<Long> longs(String queue, String sql, Object... binds) {
        return call(queue, () -> Jdbc.fetch(dsl, sql, binds).stream().map(r -> (Long) r[0]).toList());
    }

    /** The messages of the function call {@code from}. */
    private List<Message> messages(String queue, String from, Object... binds) {
        return call(queue, () -> Jdbc.fetch(dsl, "select msg_id, read_ct, enqueued_at, vt, message::text, headers::text " + from, binds)
                .stream()
                .map(r -> new Message((Long) r[0], (Integer) r[1], ((OffsetDateTime) r[2]).toInstant(),
                        ((OffsetDateTime) r[3]).toInstant(), (String) r[4], (String) r[5]))
                .toList());
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

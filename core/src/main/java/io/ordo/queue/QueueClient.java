package io.ordo.queue;

import io.ordo.db.SqlErrors;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.jooq.exception.DataAccessException;

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
        return call(queue, () -> dsl.fetchValue("select ordo.drop_queue(?)", queue)).equals(Boolean.TRUE);
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
        return call(queue, () -> dsl.fetchOne("select ordo.send(?, ?::jsonb, ?::jsonb, ?, ?)",
                queue, message, headers, seconds(delay), priority).get(0, Long.class));
    }

    /** Sends many messages in one statement. {@code headers} is null or has one entry per message. */
    public List<Long> sendBatch(String queue, List<String> messages, List<String> headers, Duration delay) {
        return sendBatch(queue, messages, headers, delay, null);
    }

    /** Sends many messages in one statement; {@code headers} and {@code priorities} are null or one per message. */
    public List<Long> sendBatch(String queue, List<String> messages, List<String> headers, Duration delay,
                                List<Integer> priorities) {
        String[] bodies = messages.toArray(String[]::new);
        String[] heads = headers == null ? null : headers.toArray(String[]::new);
        Integer[] prios = priorities == null ? null : priorities.toArray(Integer[]::new);
        return call(queue, () -> dsl.fetch("select ordo.send_batch(?, ?::jsonb[], ?::jsonb[], ?, ?::int[])",
                queue, bodies, heads, seconds(delay), prios).getValues(0, Long.class));
    }

    public List<Long> sendBatch(String queue, List<String> messages) {
        return sendBatch(queue, messages, null, Duration.ZERO);
    }

    /**
     * Reads up to {@code quantity} visible messages and hides them for {@code visibility}.
     * Concurrent readers never get the same message (FOR UPDATE SKIP LOCKED).
     */
    public List<Message> read(String queue, Duration visibility, int quantity) {
        return call(queue, () -> toMessages(dsl.fetch("select * from ordo.read(?, ?, ?)",
                queue, seconds(visibility), quantity)));
    }

    /** Reads and deletes up to {@code quantity} visible messages. */
    public List<Message> pop(String queue, int quantity) {
        return call(queue, () -> toMessages(dsl.fetch("select * from ordo.pop(?, ?)", queue, quantity)));
    }

    /** Deletes messages; returns the ids that existed. */
    public List<Long> delete(String queue, List<Long> ids) {
        Long[] array = ids.toArray(Long[]::new);
        return call(queue, () -> dsl.fetch("select ordo.delete(?, ?::bigint[])", queue, array).getValues(0, Long.class));
    }

    /** Moves messages to the archive; returns the ids that existed. */
    public List<Long> archive(String queue, List<Long> ids) {
        Long[] array = ids.toArray(Long[]::new);
        return call(queue, () -> dsl.fetch("select ordo.archive(?, ?::bigint[])", queue, array).getValues(0, Long.class));
    }

    /** Hides messages for {@code visibility} from now (a heartbeat); returns the ids still present. */
    public List<Long> setVisibility(String queue, List<Long> ids, Duration visibility) {
        Long[] array = ids.toArray(Long[]::new);
        return call(queue, () -> dsl.fetch("select ordo.set_vt(?, ?::bigint[], ?)",
                queue, array, seconds(visibility)).getValues(0, Long.class));
    }

    public QueueMetrics metrics(String queue) {
        return call(queue, () -> toMetrics(dsl.fetchOne("select * from ordo.metrics(?)", queue)));
    }

    public List<QueueMetrics> metricsAll() {
        return call(null, () -> dsl.fetch("select * from ordo.metrics_all()").map(QueueClient::toMetrics));
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

    private static List<Message> toMessages(List<? extends Record> rows) {
        List<Message> out = new ArrayList<>(rows.size());
        for (Record r : rows) {
            out.add(new Message(
                    r.get("msg_id", Long.class),
                    r.get("read_ct", Integer.class),
                    r.get("enqueued_at", OffsetDateTime.class).toInstant(),
                    r.get("vt", OffsetDateTime.class).toInstant(),
                    r.get("message", String.class),
                    r.get("headers", String.class)));
        }
        return out;
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

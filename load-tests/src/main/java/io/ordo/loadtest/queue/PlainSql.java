package io.ordo.loadtest.queue;

import io.ordo.loadtest.Throughput.Worker;
import io.ordo.queue.Message;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The ceiling every benchmark compares Ordo with: the same queue work as plain SQL on {@code ordo.message} through
 * raw JDBC prepared statements, one connection per thread, none of Ordo's functions or client in the way.
 */
public final class PlainSql {
    private PlainSql() {
    }

    /** One INSERT of {@code batch} rows (a multi-row VALUES list) per transaction. Takes over the connection. */
    public static Worker send(Connection connection, String queue, int batch, String body) throws SQLException {
        return new PlainSend(connection, queue, batch, body);
    }

    /**
     * Claims up to {@code batch} visible rows with {@code FOR UPDATE SKIP LOCKED} and hides them (one statement), then
     * deletes them by id (another): each in a transaction of its own, or both in one when {@code oneTransaction}.
     * Takes over the connection.
     */
    public static Worker readDelete(Connection connection, String queue, int batch, Duration visibility, boolean oneTransaction)
            throws SQLException {
        return new PlainReadDelete(connection, queue, batch, visibility, oneTransaction);
    }

    /** Tops the queue up to {@code depth} messages of {@code body} and vacuums it, so a figure starts from a clean table. */
    public static void fill(DataSource dataSource, String queue, long depth, String body) throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(true);
            long missing;
            try (PreparedStatement ps = c.prepareStatement("select count(*) from ordo.message where queue_name = ?")) {
                ps.setString(1, queue);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    missing = depth - rs.getLong(1);
                }
            }
            if (missing > 0) {
                try (PreparedStatement ps = c.prepareStatement(
                        "insert into ordo.message (queue_name, message) select ?, ?::jsonb from generate_series(1, ?)")) {
                    ps.setString(1, queue);
                    ps.setString(2, body);
                    ps.setLong(3, missing);
                    ps.executeUpdate();
                }
            }
            try (Statement st = c.createStatement()) {
                // queue names match ^[a-z][a-z0-9_]*$, so the partition name needs no quoting
                st.execute("vacuum (analyze) ordo.q_" + queue);
            }
        }
    }

    /** Reads (msg_id, read_ct, enqueued_at, vt, message, headers) rows as {@link Message}s. */
    static List<Message> readMessages(PreparedStatement read) throws SQLException {
        List<Message> messages = new ArrayList<>();
        try (ResultSet rs = read.executeQuery()) {
            while (rs.next()) {
                messages.add(new Message(rs.getLong(1), rs.getInt(2),
                        rs.getObject(3, OffsetDateTime.class).toInstant(), rs.getObject(4, OffsetDateTime.class).toInstant(),
                        rs.getString(5), rs.getString(6)));
            }
        }
        return messages;
    }

    private static final class PlainSend implements Worker {
        private final Connection connection;
        private final PreparedStatement insert;

        PlainSend(Connection connection, String queue, int batch, String body) throws SQLException {
            this.connection = connection;
            connection.setAutoCommit(true);
            String rows = String.join(", ", Collections.nCopies(batch, "(?, ?::jsonb)"));
            this.insert = connection.prepareStatement(
                    "insert into ordo.message (queue_name, message) values " + rows + " returning msg_id");
            for (int i = 0; i < batch; i++) {
                insert.setString(2 * i + 1, queue);
                insert.setString(2 * i + 2, body);
            }
        }

        @Override
        public int call() throws SQLException {
            int n = 0;
            try (ResultSet rs = insert.executeQuery()) {
                while (rs.next()) {
                    rs.getLong(1);
                    n++;
                }
            }
            return n;
        }

        @Override
        public void close() throws SQLException {
            connection.close();
        }
    }

    private static final class PlainReadDelete implements Worker {
        private final Connection connection;
        private final PreparedStatement read;
        private final PreparedStatement delete;
        private final String queue;
        private final boolean oneTransaction;

        PlainReadDelete(Connection connection, String queue, int batch, Duration visibility, boolean oneTransaction)
                throws SQLException {
            this.connection = connection;
            this.queue = queue;
            this.oneTransaction = oneTransaction;
            connection.setAutoCommit(!oneTransaction);
            this.read = connection.prepareStatement("""
                    with c as (
                        select msg_id from ordo.message
                        where queue_name = ? and vt <= clock_timestamp()
                        order by vt, msg_id
                        limit ?
                        for update skip locked
                    )
                    update ordo.message m
                    set vt = clock_timestamp() + make_interval(secs => ?), read_ct = m.read_ct + 1
                    from c
                    where m.queue_name = ? and m.msg_id = c.msg_id
                    returning m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message, m.headers""");
            read.setString(1, queue);
            read.setInt(2, batch);
            read.setDouble(3, visibility.toNanos() / 1e9);
            read.setString(4, queue);
            this.delete = connection.prepareStatement("delete from ordo.message where queue_name = ? and msg_id = any (?)");
        }

        @Override
        public int call() throws SQLException {
            List<Message> messages = readMessages(read);
            if (messages.isEmpty()) {
                if (oneTransaction) {
                    connection.commit();
                }
                return 0;
            }
            delete.setString(1, queue);
            delete.setArray(2, connection.createArrayOf("bigint", messages.stream().map(Message::id).toArray()));
            delete.executeUpdate();
            if (oneTransaction) {
                connection.commit();
            }
            return messages.size();
        }

        @Override
        public void close() throws SQLException {
            if (oneTransaction) {
                connection.rollback();
                connection.setAutoCommit(true);
            }
            connection.close();
        }
    }
}

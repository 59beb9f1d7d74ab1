package io.ordo.queue;

import io.ordo.InvalidInputException;
import io.ordo.testing.BehindALongTransaction;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

@ExtendWith(OrdoDatabaseExtension.class)
class QueueSemanticsTest {
    private static QueueClient queue;
    private static TestDatabase db;

    @BeforeAll
    static void setUp(TestDatabase database) {
        db = database;
        queue = new QueueClient(database.dsl());
    }

    /**
     * Vacuum never truncates a queue partition (V12): truncation takes an ACCESS EXCLUSIVE lock that would stop every
     * reader and writer of every queue while it lasts, and a drained queue is exactly the table it truncates.
     */
    @Test
    void vacuum_of_a_drained_queue_keeps_its_pages_instead_of_locking_it_to_truncate_them() {
        queue.createQueue("drained");
        queue.dsl().fetch("select ordo.send_batch('drained', array(select '{}'::jsonb from generate_series(1, 5000)))");
        long pages = queue.dsl().fetchOne("select pg_relation_size('ordo.q_drained')").get(0, Long.class);
        queue.dsl().execute("delete from ordo.q_drained");
        queue.dsl().execute("vacuum ordo.q_drained");
        assertThat(pages).as("pages of the full partition").isPositive();
        assertThat(queue.dsl().fetchOne("select pg_relation_size('ordo.q_drained')").get(0, Long.class))
                .as("pages of the drained partition after vacuum").isEqualTo(pages);
        assertThat(queue.dsl().fetch("select c.relname from ordo.queue q join pg_class c on c.oid = ('ordo.q_' || q.queue_name)::regclass"
                        + " where not coalesce('vacuum_truncate=false' = any (c.reloptions), false)").getValues(0, String.class))
                .as("queue partitions that vacuum may truncate, those created before V12 included").isEmpty();
    }

    @Test
    void read_message_stays_invisible_until_its_vt_then_returns_with_read_count_plus_one() {
        queue.createQueue("vt_basic");
        long id = queue.send("vt_basic", "{\"n\":1}");

        List<Message> first = queue.read("vt_basic", Duration.ofSeconds(1), 10);
        assertThat(first).extracting(Message::id).containsExactly(id);
        assertThat(first.getFirst().readCount()).isEqualTo(1);
        assertThat(first.getFirst().body()).isEqualTo("{\"n\": 1}");
        assertThat(queue.read("vt_basic", Duration.ofSeconds(1), 10)).isEmpty();

        List<Message> again = await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50))
                .until(() -> queue.read("vt_basic", Duration.ofSeconds(30), 10), list -> !list.isEmpty());
        assertThat(again).extracting(Message::id).containsExactly(id);
        assertThat(again.getFirst().readCount()).isEqualTo(2);
    }

    @Test
    void set_vt_keeps_a_message_hidden_past_its_original_vt() {
        queue.createQueue("vt_extend");
        long id = queue.send("vt_extend", "{}");
        assertThat(queue.read("vt_extend", Duration.ofMillis(500), 1)).hasSize(1);

        assertThat(queue.setVisibility("vt_extend", List.of(id, 999_999_999L), Duration.ofSeconds(30))).containsExactly(id);

        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(100))
                .until(() -> queue.read("vt_extend", Duration.ofSeconds(30), 1).isEmpty());
        assertThat(queue.metrics("vt_extend").depth()).isEqualTo(1);
    }

    @Test
    void higher_priority_is_read_first_but_older_messages_age_past_it() {
        queue.dsl().fetch("select ordo.create_queue('prio', true, interval '1 second')");
        long old = queue.send("prio", "{\"n\":\"old-low\"}", null, Duration.ZERO, 0);
        long high = queue.send("prio", "{\"n\":\"high\"}", null, Duration.ZERO, 5);
        long low = queue.send("prio", "{\"n\":\"low\"}", null, Duration.ZERO, 0);
        // the high-priority message jumps ahead of both; the equal-priority ones stay in order
        assertThat(queue.read("prio", Duration.ofSeconds(30), 3)).extracting(Message::id).containsExactly(high, old, low);

        // a message sent 10 steps of age ago beats a new one of priority 5
        queue.dsl().fetch("select ordo.create_queue('aged', true, interval '1 millisecond')");
        long aged = queue.send("aged", "{}", null, Duration.ZERO, 0);
        await().pollDelay(Duration.ofMillis(20)).atMost(Duration.ofSeconds(1)).until(() -> true);
        long fresh = queue.send("aged", "{}", null, Duration.ZERO, 5);
        assertThat(queue.read("aged", Duration.ofSeconds(30), 2)).extracting(Message::id).containsExactly(aged, fresh);
    }

    @Test
    void a_batch_keeps_each_message_its_headers_and_priority() {
        queue.createQueue("batch_prio");
        List<Long> ids = queue.sendBatch("batch_prio", List.of("{\"n\":1}", "{\"n\":2}", "{\"n\":3}"),
                List.of("{\"h\":\"a\"}", "{\"h\":\"b\"}", "{\"h\":\"c\"}"), Duration.ZERO, List.of(0, 5, 0));
        assertThat(ids).hasSize(3).isSorted();

        List<Message> read = queue.read("batch_prio", Duration.ofSeconds(30), 3);
        assertThat(read).extracting(Message::id).containsExactly(ids.get(1), ids.get(0), ids.get(2));
        assertThat(read).extracting(Message::body).containsExactly("{\"n\": 2}", "{\"n\": 1}", "{\"n\": 3}");
        assertThat(read).extracting(Message::headers).containsExactly("{\"h\": \"b\"}", "{\"h\": \"a\"}", "{\"h\": \"c\"}");
        assertThat(read).extracting(Message::readCount).containsOnly(1);
        assertThat(queue.sendBatch("batch_prio", List.of("{}"), null, Duration.ZERO, null)).hasSize(1);
    }

    @Test
    void delayed_message_is_invisible_until_its_delay_passes() {
        queue.createQueue("delayed");
        queue.send("delayed", "{}", null, Duration.ofSeconds(1));
        assertThat(queue.read("delayed", Duration.ofSeconds(30), 1)).isEmpty();
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50))
                .until(() -> queue.read("delayed", Duration.ofSeconds(30), 1).size() == 1);
    }

    @Test
    void pop_and_delete_remove_messages_and_archive_moves_them() throws Exception {
        queue.createQueue("moves");
        List<Long> ids = queue.sendBatch("moves", List.of("{\"i\":1}", "{\"i\":2}", "{\"i\":3}", "{\"i\":4}"));
        assertThat(ids).hasSize(4).isSorted();

        assertThat(queue.pop("moves", 1)).extracting(Message::id).containsExactly(ids.get(0));
        assertThat(queue.delete("moves", List.of(ids.get(1), 123_456_789L))).containsExactly(ids.get(1));
        assertThat(queue.read("moves", Duration.ofSeconds(30), 1)).extracting(Message::id).containsExactly(ids.get(2));
        assertThat(queue.archive("moves", List.of(ids.get(2)))).containsExactly(ids.get(2));

        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            ResultSet rs = st.executeQuery("select msg_id, read_ct, message->>'i' from ordo.archive where queue_name = 'moves'");
            assertThat(rs.next()).isTrue();
            assertThat(rs.getLong(1)).isEqualTo(ids.get(2));
            assertThat(rs.getInt(2)).isEqualTo(1);
            assertThat(rs.getString(3)).isEqualTo("3");
            assertThat(rs.next()).isFalse();
            rs = st.executeQuery("select array_agg(msg_id order by msg_id) from ordo.message where queue_name = 'moves'");
            rs.next();
            assertThat((Long[]) rs.getArray(1).getArray()).containsExactly(ids.get(3));
        }
        QueueMetrics m = queue.metrics("moves");
        assertThat(m.depth()).isEqualTo(1);
        assertThat(m.visibleDepth()).isEqualTo(1);
        // the total comes from the statistics system, which other sessions report a moment later
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100)).until(() -> queue.metrics("moves").totalSent() == 4);
        assertThat(m.oldestAge()).isNotNull();
    }

    /**
     * The queue statements are planned once per session (V11): whatever the statistics say, a read walks the
     * (vt, msg_id) index and never scans the queue. Counted with the transaction's own table statistics, on a
     * queue analysed while empty and then filled, over more calls than it takes PostgreSQL to switch to a
     * generic plan.
     */
    @Test
    void reads_of_a_queue_analysed_while_empty_walk_its_index_and_never_scan_it() throws Exception {
        queue.createQueue("stale_stats");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("analyze ordo.q_stale_stats");
            c.setAutoCommit(false);
            st.execute("insert into ordo.message (queue_name, message) select 'stale_stats', jsonb_build_object('i', i)"
                    + " from generate_series(1, 20000) i");
            int taken = 0;
            for (int i = 0; i < 10; i++) {
                ResultSet rs = st.executeQuery("select count(*) from ordo.read('stale_stats', 30, 10)");
                rs.next();
                taken += rs.getInt(1);
                rs = st.executeQuery("select count(*) from ordo.lock_batch('stale_stats', 10)");
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(10);
                rs = st.executeQuery("select count(*) from ordo.pop('stale_stats', 10)");
                rs.next();
                taken += rs.getInt(1);
                st.execute("select ordo.notify_if_idle('stale_stats')");
            }
            assertThat(taken).isEqualTo(200);
            ResultSet rs = st.executeQuery("select seq_scan, idx_scan from pg_stat_xact_user_tables"
                    + " where schemaname = 'ordo' and relname = 'q_stale_stats'");
            assertThat(rs.next()).isTrue();
            assertThat(rs.getLong("seq_scan")).as("sequential scans of the queue").isZero();
            assertThat(rs.getLong("idx_scan")).as("index scans of the queue").isGreaterThanOrEqualTo(40);
            c.rollback();
        }
    }

    @Test
    void dropping_archive_partitions_removes_exactly_the_days_before_the_cutoff() throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("select ordo.ensure_archive_partitions(3, date '2020-01-01')");
            for (String day : List.of("2020-01-01", "2020-01-02", "2020-01-03")) {
                for (String time : List.of("00:00:00", "12:00:00", "23:59:59.999")) {
                    st.execute("insert into ordo.archive (queue_name, msg_id, read_ct, enqueued_at, vt, message, archived_at)"
                            + " values ('old', 1, 1, now(), now(), '{}', timestamptz '" + day + " " + time + "+00')");
                }
            }
            ResultSet rs = st.executeQuery("select array_agg(x order by x) from ordo.drop_archive_before(timestamptz '2020-01-02 00:00:00+00') x");
            rs.next();
            assertThat((String[]) rs.getArray(1).getArray()).containsExactly("archive_20200101");

            rs = st.executeQuery("select archived_at::date::text, count(*) from ordo.archive"
                    + " where queue_name = 'old' group by 1 order by 1");
            List<String> left = new ArrayList<>();
            while (rs.next()) {
                left.add(rs.getString(1) + "=" + rs.getInt(2));
            }
            assertThat(left).containsExactly("2020-01-02=3", "2020-01-03=3");

            rs = st.executeQuery("select count(*) from ordo.drop_archive_before(timestamptz '2020-01-03 12:00:00+00')");
            rs.next();
            assertThat(rs.getInt(1)).as("a partition that still holds later rows is kept").isEqualTo(1);
            rs = st.executeQuery("select count(*) from ordo.archive where queue_name = 'old'");
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(3);
        }
    }

    @Test
    void eight_concurrent_consumers_drain_fifty_thousand_messages_each_exactly_once() throws Exception {
        queue.createQueue("drain");
        int total = 50_000;
        List<Long> sent = new ArrayList<>(total);
        for (int batch = 0; batch < total / 1000; batch++) {
            int base = batch * 1000;
            sent.addAll(queue.sendBatch("drain", IntStream.range(base, base + 1000).mapToObj(i -> "{\"i\":" + i + "}").toList()));
        }
        assertThat(sent).doesNotHaveDuplicates().hasSize(total);

        Map<Long, AtomicInteger> seen = new ConcurrentHashMap<>();
        AtomicInteger emptyReadsInARow = new AtomicInteger();
        try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
            List<Future<?>> consumers = new ArrayList<>();
            for (int c = 0; c < 8; c++) {
                consumers.add(pool.submit(() -> {
                    while (emptyReadsInARow.get() < 3) {
                        List<Message> got = queue.read("drain", Duration.ofSeconds(60), 100);
                        if (got.isEmpty()) {
                            emptyReadsInARow.incrementAndGet();
                            continue;
                        }
                        emptyReadsInARow.set(0);
                        got.forEach(m -> seen.computeIfAbsent(m.id(), k -> new AtomicInteger()).incrementAndGet());
                        List<Long> deleted = queue.delete("drain", got.stream().map(Message::id).toList());
                        assertThat(deleted).hasSameSizeAs(got);
                    }
                    return null;
                }));
            }
            for (Future<?> f : consumers) {
                f.get();
            }
        }
        assertThat(seen.keySet()).containsExactlyInAnyOrderElementsOf(sent);
        assertThat(seen.values()).allSatisfy(n -> assertThat(n.get()).isEqualTo(1));
        queue.dsl().fetch("select ordo.refresh_queue_stats('drain')");
        assertThat(queue.metrics("drain").depth()).isZero();
    }

    @Test
    void invalid_queue_names_are_refused_and_create_nothing() throws Exception {
        long before = ordoRelationCount();
        for (String bad : new String[]{"x; drop table ordo.queue", "\"x\"", "X", "1abc", "", "a".repeat(49), "x\n", "q-1", "ünï"}) {
            assertThatThrownBy(() -> queue.createQueue(bad))
                    .as("name %s", bad)
                    .isInstanceOf(InvalidInputException.class)
                    .hasMessageContaining("invalid queue name")
                    .hasMessageContaining("^[a-z][a-z0-9_]{0,47}$");
        }
        assertThatThrownBy(() -> queue.createQueue(null)).isInstanceOf(InvalidInputException.class);
        assertThatThrownBy(() -> queue.send("x; drop table ordo.queue", "{}")).isInstanceOf(InvalidInputException.class);
        assertThat(ordoRelationCount()).isEqualTo(before);
        assertThat(longValue("select count(*) from ordo.queue where queue_name like 'x%'")).isZero();

        queue.createQueue("a".repeat(48));
        assertThat(queue.dropQueue("a".repeat(48))).isTrue();
    }

    @Test
    void bad_json_and_unknown_queues_are_refused_and_change_nothing() {
        queue.createQueue("strict");
        queue.send("strict", "{\"ok\":true}");

        assertThatThrownBy(() -> queue.send("strict", "{bad"))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("invalid input syntax for type json");
        assertThatThrownBy(() -> queue.sendBatch("strict", List.of("{}", "[1,")))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("json");
        assertThatThrownBy(() -> queue.sendBatch("strict", List.of("{}", "{}"), List.of("{}"), Duration.ZERO))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("headers has 1 elements but messages has 2");
        assertThatThrownBy(() -> queue.send("missing", "{}"))
                .isInstanceOf(QueueNotFoundException.class).hasMessageContaining("queue 'missing' does not exist");
        assertThatThrownBy(() -> queue.read("strict", Duration.ofSeconds(-1), 1))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("vt >= 0");

        queue.dsl().fetch("select ordo.refresh_queue_stats('strict')");
        assertThat(queue.metrics("strict").depth()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100)).until(() -> queue.metrics("strict").totalSent() == 1);
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> queue.metrics("strict").totalSent() == 1);
    }

    /**
     * A queue is a partition of ordo.message: creating or dropping one takes an ACCESS EXCLUSIVE lock on it, and
     * while that request waits behind a long transaction, every reader and writer of every queue queues behind it.
     * Both give up after 1 s instead (V21), having changed nothing.
     */
    @Test
    void creating_or_dropping_a_queue_behind_a_long_transaction_gives_up_and_changes_nothing() throws Exception {
        queue.createQueue("doomed");
        long started = System.nanoTime();
        Throwable create = BehindALongTransaction.failureOf(db, "ordo.message", () -> queue.createQueue("latecomer"));
        assertThat(create).hasMessageContaining("lock timeout");
        Throwable drop = BehindALongTransaction.failureOf(db, "ordo.message", () -> queue.dropQueue("doomed"));
        assertThat(drop).hasMessageContaining("lock timeout");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).as("both gave up in about a second each").isLessThan(Duration.ofSeconds(8));
        assertThat(queue.dsl().fetch("select queue_name from ordo.queue where queue_name in ('latecomer', 'doomed')")
                .getValues(0, String.class)).containsExactly("doomed");
        assertThat(queue.dsl().fetchOne("select to_regclass('ordo.q_latecomer') is null and to_regclass('ordo.q_doomed') is not null")
                .get(0, Boolean.class)).as("no partition made or dropped").isTrue();

        queue.createQueue("latecomer");
        assertThat(queue.dropQueue("doomed")).as("once the transaction is gone").isTrue();
        assertThat(queue.dsl().fetch("select queue_name from ordo.queue where queue_name in ('latecomer', 'doomed')")
                .getValues(0, String.class)).containsExactly("latecomer");
    }

    /**
     * A message lives for milliseconds; compressing it on insert and decompressing it on read cost CPU for nothing
     * (V21). The results of a fan-out's middle steps travel in one message of about 2 kB, where PostgreSQL starts
     * compressing. Queues made before V21 (orchestration) and after it keep such messages inline and uncompressed.
     */
    @Test
    void messages_of_a_few_kilobytes_are_stored_uncompressed() {
        queue.createQueue("bulky");
        String body = "{\"results\":\"" + "ok ".repeat(1500) + "\"}";
        long bulky = queue.send("bulky", body);
        long orchestration = queue.send("orchestration", body);
        org.jooq.Record stored = queue.dsl().fetchOne("select pg_column_compression(message), pg_column_size(message)"
                + " from ordo.message where queue_name = 'bulky' and msg_id = ?", bulky);
        assertThat(stored.get(0)).as("compression").isNull();
        assertThat(stored.get(1, Integer.class)).as("stored size").isGreaterThan(body.length());
        assertThat(queue.dsl().fetchOne("select pg_column_compression(message) from ordo.message"
                + " where queue_name = 'orchestration' and msg_id = ?", orchestration).get(0)).isNull();
    }

    /**
     * The check behind every send's wake-up needs one visible message. Planned with statistics from when the queue
     * was empty, it collected every visible message in a bitmap first (V19): each of a burn-down's submissions, all in
     * one transaction, paid for the messages of those before it.
     */
    @Test
    void the_idle_check_of_a_queue_with_a_backlog_stops_at_its_first_visible_message() throws Exception {
        queue.createQueue("deep");
        try (Connection c = db.connect()) {
            try (Statement st = c.createStatement()) {
                st.execute("analyze ordo.q_deep");
                st.execute("select ordo.send_batch('deep', array(select '{}'::jsonb from generate_series(1, 2000)))");
                c.setAutoCommit(false);
                String read = "select pg_stat_get_xact_tuples_returned('ordo.q_deep_vt'::regclass)";
                long before = single(st, read);
                st.execute("select ordo.notify_if_idle('deep')");
                assertThat(single(st, read) - before).as("index entries the idle check read").isLessThanOrEqualTo(2);
                c.rollback();
            }
        }
    }

    /**
     * The leader's refresh of every queue's statistics and each node's sampler (metrics_all, which refreshes the stale
     * ones) lock the same queue rows; in two different orders they deadlocked (V20). Queues created in reverse name
     * order lie on disk in reverse: a refresh that followed the table instead of the names would lock lock_z first.
     */
    @Test
    void every_refresh_of_queue_statistics_locks_the_queues_in_name_order() throws Exception {
        for (String name : List.of("lock_z", "lock_m", "lock_a")) {
            queue.createQueue(name);
        }
        for (String refresh : List.of("select ordo.refresh_queue_stats()", "select count(*) from ordo.metrics_all(0)")) {
            try (Connection holder = db.connect(); Connection refresher = db.connect(); Connection prober = db.connect()) {
                holder.setAutoCommit(false);
                try (Statement st = holder.createStatement()) {
                    st.execute("select 1 from ordo.queue where queue_name = 'lock_m' for update");
                }
                int refresherPid = pid(refresher);
                ExecutorService pool = Executors.newSingleThreadExecutor();
                try {
                    Future<?> blocked = pool.submit(() -> {
                        try (Statement st = refresher.createStatement()) {
                            st.execute(refresh);
                        }
                        return null;
                    });
                    try (Statement st = prober.createStatement()) {
                        await().atMost(Duration.ofSeconds(10)).until(() ->
                                single(st, "select cardinality(pg_blocking_pids(" + refresherPid + "))") > 0);
                        assertThat(lockedByOther(st, "lock_a")).as("%s: lock_a, before lock_m by name", refresh).isTrue();
                        assertThat(lockedByOther(st, "lock_z")).as("%s: lock_z, after lock_m by name", refresh).isFalse();
                    }
                    holder.rollback();
                    blocked.get(10, java.util.concurrent.TimeUnit.SECONDS);
                } finally {
                    pool.shutdownNow();
                }
            }
        }
    }

    private static int pid(Connection c) throws java.sql.SQLException {
        try (Statement st = c.createStatement()) {
            return (int) single(st, "select pg_backend_pid()");
        }
    }

    /** Whether another session holds a lock on the queue's row (tried without waiting, in a transaction of its own). */
    private static boolean lockedByOther(Statement st, String queueName) throws java.sql.SQLException {
        try {
            st.execute("select 1 from ordo.queue where queue_name = '" + queueName + "' for share nowait");
            return false;
        } catch (java.sql.SQLException e) {
            assertThat(e.getSQLState()).as("lock not available").isEqualTo("55P03");
            return true;
        }
    }

    private static long single(Statement st, String sql) throws java.sql.SQLException {
        try (var rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void a_transaction_of_a_thousand_sends_notifies_once() throws Exception {
        queue.createQueue("noisy");
        try (Connection listener = db.connect(); Connection sender = db.connect()) {
            try (Statement st = listener.createStatement()) {
                st.execute("LISTEN ordo_noisy");
            }
            sender.setAutoCommit(false);
            try (Statement st = sender.createStatement()) {
                st.execute("select ordo.send('noisy', jsonb_build_object('i', i)) from generate_series(1, 1000) i");
                st.execute("select ordo.send_batch('noisy', array['{}','{}']::jsonb[])");
            }
            sender.commit();
            var pg = listener.unwrap(org.postgresql.PGConnection.class);
            List<org.postgresql.PGNotification> received = new ArrayList<>();
            var first = pg.getNotifications(5000);
            if (first != null) {
                received.addAll(List.of(first));
            }
            var more = pg.getNotifications(300);
            if (more != null) {
                received.addAll(List.of(more));
            }
            assertThat(received).extracting(org.postgresql.PGNotification::getName).containsExactly("ordo_noisy");
        }
    }

    @Test
    void sends_to_a_queue_with_a_visible_backlog_do_not_notify_since_its_consumers_are_busy() throws Exception {
        queue.createQueue("backlog");
        try (Connection listener = db.connect()) {
            try (Statement st = listener.createStatement()) {
                st.execute("LISTEN ordo_backlog");
            }
            var pg = listener.unwrap(org.postgresql.PGConnection.class);
            queue.send("backlog", "{}");
            assertThat(pg.getNotifications(5000)).as("the first message wakes consumers").hasSize(1);
            queue.send("backlog", "{}");
            queue.sendBatch("backlog", List.of("{}", "{}"));
            assertThat(pg.getNotifications(300)).as("a backlog needs no wake-up").isNullOrEmpty();
            queue.send("backlog", "{}", null, Duration.ofSeconds(30));
            queue.read("backlog", Duration.ofSeconds(30), 10);
            assertThat(pg.getNotifications(300)).as("nor does a delayed message").isNullOrEmpty();
            queue.send("backlog", "{}");
            assertThat(pg.getNotifications(5000)).as("once the backlog is taken, the next message wakes them again").hasSize(1);
        }
    }

    @Test
    void listener_wakes_a_consumer_when_a_message_is_sent() throws Exception {
        queue.createQueue("wakeful");
        try (QueueListener listener = new QueueListener(db.database())) {
            WakeSignal signal = listener.subscribe("wakeful");
            await().atMost(Duration.ofSeconds(5)).until(() -> listener.isListening("wakeful"));
            signal.await(Duration.ofMillis(1)); // the initial catch-up wake-up
            queue.send("wakeful", "{}");
            assertThat(signal.await(Duration.ofSeconds(5))).isTrue();
            assertThat(signal.await(Duration.ofMillis(200))).as("one send, one wake-up").isFalse();
        }
    }

    private long ordoRelationCount() {
        return longValue("select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'ordo'");
    }

    private static long longValue(String sql) {
        return queue.dsl().fetchOne(sql).get(0, Long.class);
    }
}

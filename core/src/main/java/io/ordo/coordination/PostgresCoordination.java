package io.ordo.coordination;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ordo.InvalidInputException;
import io.ordo.OrdoException;
import io.ordo.db.Database;
import io.ordo.db.NotificationListener;
import io.ordo.db.SqlErrors;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Record;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;
import org.postgresql.util.PSQLException;

import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * {@link Coordination} in PostgreSQL (schema {@code ordo}, migration V3): LISTEN/NOTIFY on one dedicated
 * listener connection, tables for keys, locks and nodes, and an advisory lock held on a dedicated session
 * per candidate node for leader election. Create one per process; close it on shutdown.
 * <p>
 * <b>Time.</b> Expiries are computed from the {@link Clock} given here and passed to SQL as {@code p_now}
 * rather than taken from the database clock. A settable clock then makes TTL tests deterministic; in
 * production use {@link Clock#systemUTC()} and keep the nodes' clocks synchronized (NTP), since two nodes
 * that disagree by Δ see leases end Δ apart.
 * <p>
 * <b>Blocking locks</b> poll (5 ms, doubling to 100 ms) while waiting. Each poll records the request in a
 * wait-for graph that {@code ordo.coord_acquire} checks for cycles, serialized, so of two parties that
 * close a cycle exactly one gets {@link DeadlockException} on its first poll.
 */
public final class PostgresCoordination implements Coordination {
    private static final String STALE_TERM = "OR412";
    private static final String STALE_FENCE = "OR423";
    private static final String DEADLOCK = "40P01";
    private static final Duration FIRST_PAUSE = Duration.ofMillis(5);
    private static final Duration MAX_PAUSE = Duration.ofMillis(100);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Database database;
    private final DSLContext dsl;
    private final Clock clock;
    private final Subscribers subscribers = new Subscribers("ordo-coordination-delivery");
    private final NotificationListener listener;
    private final Map<String, LeaderSession> leaderSessions = new ConcurrentHashMap<>();
    private final AtomicLong published = new AtomicLong();

    public PostgresCoordination(Database database, Clock clock) {
        this.database = database;
        this.dsl = database.dsl();
        this.clock = clock;
        this.listener = new NotificationListener(database, subscribers, "coordination-listener");
    }

    // ---- publish / subscribe

    @Override
    public void publish(String channel, String payload) {
        Names.payload(Names.channel(channel), payload);
        sql(() -> dsl.fetch("select pg_notify(?, ?)", channel, payload));
        published.incrementAndGet();
    }

    @Override
    public Subscription subscribe(String channel, Consumer<String> handler) {
        Names.channel(channel);
        Subscription s = subscribers.add(channel, handler, () -> { });
        try {
            listener.awaitListening(channel, Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return s;
    }

    // ---- keys

    @Override
    public Optional<String> get(String key) {
        Names.text("key", key);
        return sql(() -> dsl.fetchOptional("select value from ordo.coord_key where key = ? and (expires_at is null or expires_at > ?)",
                key, now()).map(r -> r.get(0, String.class)));
    }

    @Override
    public void set(String key, String value, Duration ttl) {
        Names.text("key", key);
        Names.value(key, value);
        Names.ttl("key " + key, ttl, true);
        sql(() -> dsl.execute(UPSERT_KEY, key, value, expiry(ttl), now()));
    }

    private static final String UPSERT_KEY = """
            insert into ordo.coord_key as k (key, value, expires_at, updated_at) values (?, ?, ?, ?)
            on conflict (key) do update set value = excluded.value, expires_at = excluded.expires_at, updated_at = excluded.updated_at""";

    @Override
    public boolean setIfAbsent(String key, String value, Duration ttl) {
        Names.text("key", key);
        Names.value(key, value);
        Names.ttl("key " + key, ttl, true);
        Field<OffsetDateTime> now = now();
        return sql(() -> dsl.execute(UPSERT_KEY + " where k.expires_at <= ?", key, value, expiry(ttl), now, now)) == 1;
    }

    @Override
    public void setFenced(LockLease fence, String key, String value, Duration ttl) {
        Names.text("key", key);
        Names.value(key, value);
        Names.ttl("key " + key, ttl, true);
        Field<OffsetDateTime> now = now();
        try {
            dsl.transaction(tx -> {
                DSLContext t = DSL.using(tx);
                t.fetch("select ordo.assert_fence(?, ?, ?)", fence.name(), fence.fencingToken(), now);
                t.execute(UPSERT_KEY, key, value, expiry(ttl), now);
            });
        } catch (DataAccessException e) {
            if (STALE_FENCE.equals(SqlErrors.sqlState(e))) {
                throw new StaleFencingTokenException(fence.name(), fence.fencingToken(), e);
            }
            throw translate(e);
        }
    }

    @Override
    public boolean delete(String key) {
        Names.text("key", key);
        return sql(() -> dsl.fetch("delete from ordo.coord_key where key = ? returning (expires_at is null or expires_at > ?)",
                key, now())).stream().anyMatch(r -> Boolean.TRUE.equals(r.get(0, Boolean.class)));
    }

    @Override
    public int delete(Collection<String> keys) {
        keys.forEach(k -> Names.text("key", k));
        String[] array = keys.toArray(String[]::new);
        return (int) sql(() -> dsl.fetch("delete from ordo.coord_key where key = any (?::text[]) returning (expires_at is null or expires_at > ?)",
                array, now())).stream().filter(r -> Boolean.TRUE.equals(r.get(0, Boolean.class))).count();
    }

    @Override
    public List<String> keys(String prefix) {
        if (prefix == null) {
            throw new InvalidInputException("key prefix must not be null");
        }
        String like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%";
        return sql(() -> dsl.fetch("select key from ordo.coord_key where key like ? and (expires_at is null or expires_at > ?) order by key",
                like, now()).getValues(0, String.class));
    }

    @Override
    public long increment(String key, long delta) {
        Names.text("key", key);
        Field<OffsetDateTime> now = now();
        try {
            return dsl.fetchOne("""
                    insert into ordo.coord_key as k (key, value, expires_at, updated_at) values (?, ?::bigint::text, null, ?)
                    on conflict (key) do update set
                        value = ((case when k.expires_at is null or k.expires_at > ? then k.value::bigint else 0 end) + ?::bigint)::text,
                        expires_at = case when k.expires_at is null or k.expires_at > ? then k.expires_at end,
                        updated_at = excluded.updated_at
                    returning value::bigint""", key, delta, now, now, delta, now).get(0, Long.class);
        } catch (DataAccessException e) {
            if (SqlErrors.INVALID_TEXT.equals(SqlErrors.sqlState(e))) {
                throw new InvalidInputException("key " + key + " does not hold an integer", e);
            }
            throw translate(e);
        }
    }

    // ---- locks

    @Override
    public Optional<LockLease> tryLock(String name, String owner, LockMode mode, Duration ttl) {
        checkLock(name, owner, mode, ttl);
        return Optional.ofNullable(acquire(name, owner, mode, ttl, false));
    }

    @Override
    public LockLease lock(String name, String owner, LockMode mode, Duration ttl, Duration timeout) throws InterruptedException {
        checkLock(name, owner, mode, ttl);
        Names.timeout("lock " + name, timeout);
        long deadline = System.nanoTime() + timeout.toNanos();
        Duration pause = FIRST_PAUSE;
        LockLease lease = null;
        try {
            while (true) {
                lease = acquire(name, owner, mode, ttl, true);
                if (lease != null) {
                    return lease;
                }
                long remaining = deadline - System.nanoTime();
                if (remaining <= 0) {
                    throw new LockTimeoutException(name, owner, timeout);
                }
                Thread.sleep(Duration.ofNanos(Math.min(remaining, pause.toNanos())));
                pause = pause.multipliedBy(2).compareTo(MAX_PAUSE) > 0 ? MAX_PAUSE : pause.multipliedBy(2);
            }
        } finally {
            if (lease == null) {
                sql(() -> dsl.fetch("select ordo.coord_cancel_wait(?, ?)", name, owner));
            }
        }
    }

    private LockLease acquire(String name, String owner, LockMode mode, Duration ttl, boolean waiting) {
        Instant now = clock.instant();
        try {
            Long token = dsl.fetchOne("select ordo.coord_acquire(?, ?, ?, make_interval(secs => ?), ?, ?)",
                    name, owner, mode.sql(), seconds(ttl), waiting, utc(now)).get(0, Long.class);
            return token == null ? null : new LockLease(name, owner, mode, token, now.plus(ttl));
        } catch (DataAccessException e) {
            if (DEADLOCK.equals(SqlErrors.sqlState(e))) {
                String detail = detail(e);
                List<String> cycle = detail == null ? List.of(owner) : Arrays.asList(detail.split(" -> "));
                throw new DeadlockException(name, owner, cycle, SqlErrors.serverMessage(e), e);
            }
            throw translate(e);
        }
    }

    @Override
    public LockLease renew(LockLease lease, Duration ttl) {
        Names.ttl("lock " + lease.name(), ttl, false);
        try {
            OffsetDateTime expires = dsl.fetchOne("select ordo.coord_renew(?, ?, make_interval(secs => ?), ?)",
                    lease.name(), lease.fencingToken(), seconds(ttl), now()).get(0, OffsetDateTime.class);
            return new LockLease(lease.name(), lease.owner(), lease.mode(), lease.fencingToken(), expires.toInstant());
        } catch (DataAccessException e) {
            if (STALE_FENCE.equals(SqlErrors.sqlState(e))) {
                throw new StaleFencingTokenException(lease.name(), lease.fencingToken(), e);
            }
            throw translate(e);
        }
    }

    @Override
    public boolean unlock(LockLease lease) {
        return sql(() -> dsl.fetch("delete from ordo.coord_lock where lock_name = ? and owner = ? and fencing_token = ? returning expires_at > ?",
                lease.name(), lease.owner(), lease.fencingToken(), now())).stream().anyMatch(r -> Boolean.TRUE.equals(r.get(0, Boolean.class)));
    }

    private static void checkLock(String name, String owner, LockMode mode, Duration ttl) {
        Names.text("lock name", name);
        Names.text("lock owner", owner);
        if (mode == null) {
            throw new InvalidInputException("lock mode must not be null (lock " + name + ")");
        }
        Names.ttl("lock " + name, ttl, false);
    }

    // ---- nodes

    @Override
    public void register(NodeInfo node, long configVersion) {
        sql(() -> dsl.fetch("select ordo.register_node(?, ?, ?::text[], ?, ?, ?, ?, make_interval(secs => ?), ?::jsonb, ?)",
                node.id(), node.role().sql(), node.namespaces().toArray(String[]::new), node.host(), node.version(),
                utc(node.startedAt()), configVersion, seconds(node.heartbeatInterval()), json(node.metadata()), now()));
    }

    @Override
    public NodeStatus heartbeat(String nodeId, long configVersion) {
        Names.nodeId(nodeId);
        String status = sql(() -> dsl.fetchOne("select ordo.node_heartbeat(?, ?, ?)", nodeId, configVersion, now()).get(0, String.class));
        return status == null ? NodeStatus.DOWN : NodeStatus.fromSql(status);
    }

    @Override
    public boolean updateMetadata(String nodeId, Map<String, String> metadata) {
        String json = json(Map.copyOf(metadata));
        return sql(() -> dsl.execute("update ordo.node set metadata = ?::jsonb where node_id = ?", json, nodeId)) == 1;
    }

    @Override
    public boolean drain(String nodeId) {
        return Boolean.TRUE.equals(sql(() -> dsl.fetchOne("select ordo.drain_node(?, ?)", nodeId, now()).get(0, Boolean.class)));
    }

    @Override
    public boolean deregister(String nodeId) {
        return Boolean.TRUE.equals(sql(() -> dsl.fetchOne("select ordo.deregister_node(?)", nodeId).get(0, Boolean.class)));
    }

    private static final String SELECT_NODES = """
            select node_id, role, namespaces, host, version, started_at, config_version, status, heartbeat_at,
                   status_changed_at, metadata::text as metadata, extract(epoch from heartbeat_interval)::float8 as heartbeat_seconds
            from ordo.node""";

    @Override
    public List<ClusterNode> nodes() {
        return sql(() -> dsl.fetch(SELECT_NODES + " order by node_id").map(PostgresCoordination::toNode));
    }

    @Override
    public Optional<ClusterNode> node(String nodeId) {
        return sql(() -> dsl.fetchOptional(SELECT_NODES + " where node_id = ?", nodeId).map(PostgresCoordination::toNode));
    }

    private static ClusterNode toNode(Record r) {
        NodeInfo info = new NodeInfo(
                r.get("node_id", String.class),
                NodeRole.fromSql(r.get("role", String.class)),
                Arrays.asList(r.get("namespaces", String[].class)),
                r.get("host", String.class),
                r.get("version", String.class),
                r.get("started_at", OffsetDateTime.class).toInstant(),
                Duration.ofNanos(Math.round(r.get("heartbeat_seconds", Double.class) * 1e9)),
                parseMap(r.get("metadata", String.class)));
        return new ClusterNode(info, NodeStatus.fromSql(r.get("status", String.class)), r.get("config_version", Long.class),
                r.get("heartbeat_at", OffsetDateTime.class).toInstant(), r.get("status_changed_at", OffsetDateTime.class).toInstant());
    }

    @Override
    public List<NodeStatusChange> markStaleNodes(long term) {
        try {
            return dsl.fetch("select node_id, status from ordo.duty_mark_stale_nodes(?, ?)", term, now())
                    .map(r -> new NodeStatusChange(r.get(0, String.class), NodeStatus.fromSql(r.get(1, String.class))));
        } catch (DataAccessException e) {
            throw translateTerm(e, term);
        }
    }

    /**
     * Maps a failure of term-checked SQL: {@link StaleTermException} when the term was refused, else what
     * any other failed call would throw. For leader duties that call their own SQL.
     */
    public static OrdoException translateTerm(DataAccessException e, long term) {
        if (STALE_TERM.equals(SqlErrors.sqlState(e))) {
            return new StaleTermException(term, SqlErrors.serverMessage(e), e);
        }
        return translate(e);
    }

    // ---- leader election

    @Override
    public Optional<Leadership> tryAcquireLeadership(String nodeId) {
        Names.nodeId(nodeId);
        LeaderSession session = leaderSessions.compute(nodeId,
                (id, s) -> s == null || s.ended() ? new LeaderSession(database, id) : s);
        try {
            return session.campaign(clock.instant());
        } catch (SQLException e) {
            leaderSessions.remove(nodeId, session);
            throw new OrdoException("node " + nodeId + " could not run for leader: " + e.getMessage(), e);
        }
    }

    @Override
    public boolean holdsLeadership(Leadership leadership) {
        LeaderSession session = leaderSessions.get(leadership.nodeId());
        return session != null && session.holds(leadership);
    }

    @Override
    public void releaseLeadership(Leadership leadership) {
        LeaderSession session = leaderSessions.get(leadership.nodeId());
        if (session != null && session.holds(leadership)) {
            leaderSessions.remove(leadership.nodeId(), session);
            session.close();
        }
    }

    @Override
    public Optional<Leadership> leader() {
        return sql(() -> dsl.fetchOptional("select node_id, term, since from ordo.get_leader()")
                .map(r -> new Leadership(r.get(0, String.class), r.get(1, Long.class), r.get(2, OffsetDateTime.class).toInstant())));
    }

    // ---- health

    @Override
    public CoordinationHealth health() {
        long start = System.nanoTime();
        try {
            dsl.fetch("select 1");
        } catch (DataAccessException e) {
            return new CoordinationHealth(false, Duration.ofNanos(System.nanoTime() - start),
                    "database does not answer: " + SqlErrors.serverMessage(e));
        }
        Duration latency = Duration.ofNanos(System.nanoTime() - start);
        return listener.connected()
                ? new CoordinationHealth(true, latency, "ok")
                : new CoordinationHealth(false, latency, "notification listener is reconnecting");
    }

    @Override
    public CoordinationStats stats() {
        Field<OffsetDateTime> now = now();
        Record r = sql(() -> dsl.fetchOne("""
                select (select count(*) from ordo.coord_key where expires_at is null or expires_at > ?),
                       (select count(*) from ordo.coord_lock where expires_at > ?),
                       (select count(*) from ordo.coord_lock_wait where expires_at > ?),
                       (select count(*) from ordo.node where status <> 'down')""", now, now, now, now));
        return new CoordinationStats(r.get(0, Long.class), r.get(1, Long.class), r.get(2, Long.class), r.get(3, Long.class),
                subscribers.count(), published.get(), subscribers.delivered());
    }

    @Override
    public void close() {
        leaderSessions.values().forEach(LeaderSession::close);
        leaderSessions.clear();
        listener.close();
        subscribers.close();
    }

    // ---- helpers

    private Field<OffsetDateTime> now() {
        return utc(clock.instant());
    }

    private Field<OffsetDateTime> expiry(Duration ttl) {
        return utc(ttl == null ? null : clock.instant().plus(ttl));
    }

    /** A timestamptz bind value (in plain SQL jOOQ binds an OffsetDateTime as text, which needs the cast). */
    private static Field<OffsetDateTime> utc(Instant instant) {
        return DSL.field("?::timestamptz", SQLDataType.TIMESTAMPWITHTIMEZONE,
                instant == null ? null : OffsetDateTime.ofInstant(instant, ZoneOffset.UTC));
    }

    private static double seconds(Duration d) {
        return d.toNanos() / 1e9;
    }

    private static String detail(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof PSQLException p && p.getServerErrorMessage() != null) {
                return p.getServerErrorMessage().getDetail();
            }
        }
        return null;
    }

    private static String json(Map<String, String> map) {
        try {
            return JSON.writeValueAsString(map);
        } catch (JsonProcessingException e) {
            throw new OrdoException("cannot write node metadata as JSON", e);
        }
    }

    private static Map<String, String> parseMap(String json) {
        try {
            return JSON.readValue(json, new TypeReference<Map<String, String>>() { });
        } catch (JsonProcessingException e) {
            throw new OrdoException("node metadata is not a JSON object of strings: " + json, e);
        }
    }

    private static OrdoException translate(DataAccessException e) {
        String state = SqlErrors.sqlState(e);
        String message = SqlErrors.serverMessage(e);
        if (state != null && (state.startsWith("22") || state.equals(SqlErrors.CHECK_VIOLATION))) {
            return new InvalidInputException(message, e);
        }
        return new OrdoException(message, e);
    }

    private static <T> T sql(Supplier<T> body) {
        try {
            return body.get();
        } catch (DataAccessException e) {
            throw translate(e);
        }
    }
}

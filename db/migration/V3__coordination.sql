-- Ordo cluster coordination: keys with TTL, locks with fencing tokens and deadlock detection, the node
-- registry, leader election with terms, term-checked leader duties, and the distributed configuration.
--
-- Time: the functions that compare against expiries take the caller's "now" (p_now), defaulting to
-- clock_timestamp(). The Java adapter passes its java.time.Clock, so TTL tests can use a settable clock;
-- every node's clock must then be kept in sync (NTP), as with any lease scheme.
--
-- SQLSTATEs raised here: OR412 stale leader term, OR423 stale fencing token, 40P01 deadlock between lock
-- waiters, 22023 invalid argument (including refused config values), 22004 null argument.
--
-- Advisory lock keys (two-int form, first key 'ordo' in ASCII): (1869767791, 1) leader election (held by the
-- leader's session), (1869767791, 2) deadlock checks, (1869767791, 3) config writes. Lock names use the
-- one-bigint form, hashed.

-- ---------------------------------------------------------------------------------------------------------
-- Keys with TTL

create table ordo.coord_key (
    key         text collate "C" primary key,
    value       text        not null,
    expires_at  timestamptz,
    updated_at  timestamptz not null,
    constraint coord_key_length check (length(key) between 1 and 512)
);

-- ---------------------------------------------------------------------------------------------------------
-- Locks: one row per (lock, owner). Any number of shared holders, or one exclusive holder.
-- Every grant takes a new fencing token from one sequence, so tokens only grow.

create sequence ordo.coord_fencing_seq as bigint;

create table ordo.coord_lock (
    lock_name      text        not null,
    owner          text        not null,
    mode           text        not null check (mode in ('shared', 'exclusive')),
    fencing_token  bigint      not null unique,
    acquired_at    timestamptz not null,
    expires_at     timestamptz not null,
    primary key (lock_name, owner),
    constraint coord_lock_names check (length(lock_name) between 1 and 512 and length(owner) between 1 and 512)
);

-- Who is blocked waiting for which lock: the edges of the wait-for graph the deadlock check walks.
create table ordo.coord_lock_wait (
    owner       text        not null,
    lock_name   text        not null,
    mode        text        not null check (mode in ('shared', 'exclusive')),
    since       timestamptz not null,
    expires_at  timestamptz not null,
    primary key (owner, lock_name)
);

create function ordo.coord_conflicts(held_mode text, wanted_mode text) returns boolean
    language sql immutable as
$$ select held_mode = 'exclusive' or wanted_mode = 'exclusive' $$;

-- Grants the lock and returns its fencing token, or returns null while another owner holds it in a
-- conflicting mode. A re-grant to a live holder renews it (new mode and expiry) and keeps its token.
-- With p_waiting the caller intends to block: the request is recorded in the wait-for graph, and if that
-- closes a cycle the call raises 40P01 instead (the caller is the deadlock victim; it should release what it
-- holds). Checks are serialized, so of two parties closing a cycle exactly one is the victim.
create function ordo.coord_acquire(p_lock text, p_owner text, p_mode text, p_ttl interval, p_waiting boolean default false,
                                   p_now timestamptz default clock_timestamp())
    returns bigint
    language plpgsql as
$$
declare
    v_token bigint;
    v_cycle text[];
begin
    if p_lock is null or p_owner is null or p_mode is null or p_ttl is null then
        raise exception 'lock name, owner, mode and ttl must not be null' using errcode = '22004';
    end if;
    if p_mode not in ('shared', 'exclusive') then
        raise exception 'lock mode must be shared or exclusive, got %', p_mode using errcode = '22023';
    end if;
    if p_ttl <= interval '0' then
        raise exception 'lock ttl must be positive, got % (lock %)', p_ttl, p_lock using errcode = '22023';
    end if;
    perform pg_advisory_xact_lock(hashtextextended('ordo.lock:' || p_lock, 0));
    delete from ordo.coord_lock l where l.lock_name = p_lock and l.expires_at <= p_now;

    if exists (select 1 from ordo.coord_lock l
               where l.lock_name = p_lock and l.owner <> p_owner and ordo.coord_conflicts(l.mode, p_mode)) then
        if p_waiting then
            perform pg_advisory_xact_lock(1869767791, 2);
            insert into ordo.coord_lock_wait as w (owner, lock_name, mode, since, expires_at)
            values (p_owner, p_lock, p_mode, p_now, p_now + p_ttl)
            on conflict (owner, lock_name) do update set mode = excluded.mode, expires_at = excluded.expires_at;
            -- walk waiter -> holder -> what that holder waits for -> its holders ... back to p_owner?
            with recursive chain(owner, path) as (
                select l.owner, array[p_owner, l.owner]
                from ordo.coord_lock l
                where l.lock_name = p_lock and l.owner <> p_owner and ordo.coord_conflicts(l.mode, p_mode)
                union all
                select l.owner, c.path || l.owner
                from chain c
                join ordo.coord_lock_wait w on w.owner = c.owner and w.expires_at > p_now
                join ordo.coord_lock l on l.lock_name = w.lock_name and l.owner <> w.owner and l.expires_at > p_now
                                      and ordo.coord_conflicts(l.mode, w.mode)
                where c.owner <> p_owner and not l.owner = any (c.path[2:])
            )
            select c.path into v_cycle from chain c where c.owner = p_owner limit 1;
            if v_cycle is not null then
                raise exception 'deadlock: % would wait for lock % in the cycle %', p_owner, p_lock,
                    array_to_string(v_cycle, ' -> ')
                    using errcode = '40P01', detail = array_to_string(v_cycle, ' -> ');
            end if;
        end if;
        return null;
    end if;

    delete from ordo.coord_lock_wait w where w.owner = p_owner and w.lock_name = p_lock;
    insert into ordo.coord_lock as l (lock_name, owner, mode, fencing_token, acquired_at, expires_at)
    values (p_lock, p_owner, p_mode, nextval('ordo.coord_fencing_seq'), p_now, p_now + p_ttl)
    on conflict (lock_name, owner) do update set mode = excluded.mode, expires_at = excluded.expires_at
    returning l.fencing_token into v_token;
    return v_token;
end
$$;

-- A blocked caller that gives up (timeout, interrupt) removes its wait-for edge.
create function ordo.coord_cancel_wait(p_lock text, p_owner text) returns void
    language sql as
$$ delete from ordo.coord_lock_wait w where w.owner = p_owner and w.lock_name = p_lock $$;

-- Raises OR423 unless the lock is held, unexpired, under this fencing token. Call it first in a transaction
-- whose writes must be refused once the lock has passed to a newer holder.
create function ordo.assert_fence(p_lock text, p_token bigint, p_now timestamptz default clock_timestamp())
    returns void
    language plpgsql as
$$
begin
    perform 1 from ordo.coord_lock l
    where l.lock_name = p_lock and l.fencing_token = p_token and l.expires_at > p_now
    for share;
    if not found then
        raise exception 'fencing token % no longer holds lock %', p_token, p_lock
            using errcode = 'OR423', detail = p_lock;
    end if;
end
$$;

-- Extends a held lock; returns the new expiry, or raises OR423 if the token no longer holds it.
create function ordo.coord_renew(p_lock text, p_token bigint, p_ttl interval, p_now timestamptz default clock_timestamp())
    returns timestamptz
    language plpgsql as
$$
declare
    v_expires timestamptz;
begin
    if p_ttl is null or p_ttl <= interval '0' then
        raise exception 'lock ttl must be positive, got % (lock %)', p_ttl, p_lock using errcode = '22023';
    end if;
    update ordo.coord_lock l set expires_at = p_now + p_ttl
    where l.lock_name = p_lock and l.fencing_token = p_token and l.expires_at > p_now
    returning l.expires_at into v_expires;
    if not found then
        raise exception 'fencing token % no longer holds lock %', p_token, p_lock
            using errcode = 'OR423', detail = p_lock;
    end if;
    return v_expires;
end
$$;

-- ---------------------------------------------------------------------------------------------------------
-- Leader election. The leader holds advisory lock (1869767791, 1) on a dedicated session and records itself
-- here with a term that grows by one on every election: the fencing token of every leader duty.

create table ordo.leader (
    singleton    boolean primary key default true check (singleton),
    node_id      text,
    term         bigint      not null default 0,
    since        timestamptz,
    session_pid  integer
);
insert into ordo.leader default values;

-- Whether the backend pid holds the leader lock in this database (so it is alive and leads).
create function ordo.leader_session_alive(p_pid integer) returns boolean
    language sql stable as
$$
    select exists (
        select 1 from pg_locks k
        where k.locktype = 'advisory' and k.granted and k.pid = p_pid
          and k.database = (select d.oid from pg_database d where d.datname = current_database())
          and k.classid = 1869767791 and k.objid = 1 and k.objsubid = 2)
$$;

-- Called on the candidate's dedicated session. Takes the leader lock if it is free and records a new term;
-- returns the leadership, or no row when another session leads. A session that already leads gets its
-- current term back (no new election).
create function ordo.try_become_leader(p_node_id text, p_now timestamptz default clock_timestamp())
    returns table (node_id text, term bigint, since timestamptz)
    language plpgsql as
$$
#variable_conflict use_column
declare
    v_leader ordo.leader;
begin
    if p_node_id is null or p_node_id = '' then
        raise exception 'node id must not be empty' using errcode = '22023';
    end if;
    if ordo.leader_session_alive(pg_backend_pid()) then
        select * into v_leader from ordo.leader;
        if v_leader.node_id is distinct from p_node_id then
            raise exception 'this session already leads for node %, not %', v_leader.node_id, p_node_id
                using errcode = '22023';
        end if;
        return query select v_leader.node_id, v_leader.term, v_leader.since;
        return;
    end if;
    if not pg_try_advisory_lock(1869767791, 1) then
        return;
    end if;
    -- waits for transactions of the previous term that still run duties (they hold the row FOR SHARE)
    return query
        update ordo.leader l
        set node_id = p_node_id, term = l.term + 1, since = p_now, session_pid = pg_backend_pid()
        returning l.node_id, l.term, l.since;
end
$$;

-- Who leads now: no row when no live session holds the leader lock.
create function ordo.get_leader()
    returns table (node_id text, term bigint, since timestamptz)
    language sql stable as
$$
    select l.node_id, l.term, l.since from ordo.leader l
    where l.node_id is not null and ordo.leader_session_alive(l.session_pid)
$$;

-- Raises OR412 unless p_term is the current term and its session still holds the leader lock. Every leader
-- duty calls it first: it holds the leader row FOR SHARE, so no new term can be recorded before the duty's
-- transaction ends, and a leader that lost its session cannot act under its old term.
create function ordo.assert_leader(p_term bigint) returns void
    language plpgsql as
$$
declare
    v_leader ordo.leader;
begin
    select * into v_leader from ordo.leader for share;
    if p_term is null or v_leader.term <> p_term or not ordo.leader_session_alive(v_leader.session_pid) then
        raise exception 'leader term % is stale: the current term is % (node %, %)', p_term, v_leader.term,
            coalesce(v_leader.node_id, 'none'),
            case when ordo.leader_session_alive(v_leader.session_pid) then 'alive' else 'its session is gone' end
            using errcode = 'OR412', detail = coalesce(p_term::text, 'null');
    end if;
end
$$;

-- ---------------------------------------------------------------------------------------------------------
-- Node registry

create table ordo.node (
    node_id             text primary key,
    role                text        not null check (role in ('orchestrator', 'worker', 'dlq')),
    namespaces          text[]      not null default '{}',
    host                text        not null,
    version             text        not null,
    started_at          timestamptz not null,
    config_version      bigint      not null default 0,
    status              text        not null check (status in ('active', 'suspect', 'down', 'draining')),
    heartbeat_interval  interval    not null check (heartbeat_interval > interval '0'),
    heartbeat_at        timestamptz not null,
    status_changed_at   timestamptz not null,
    metadata            jsonb       not null default '{}',
    constraint node_id_valid check (node_id ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$')
);

create view ordo.active_nodes as
select n.node_id, n.role, n.status, n.namespaces, n.host, n.version, n.config_version, n.started_at,
       n.heartbeat_at, n.metadata
from ordo.node n
where n.status <> 'down';

-- Raises 42501 unless the caller may act on a node of this role serving these namespaces: administrators on any
-- node, anyone else only on worker nodes whose namespaces it may all work.
create function ordo.authorize_node(p_node_id text, p_role text, p_namespaces text[]) returns void
    language plpgsql stable as
$$
declare
    v_ns text;
begin
    if ordo.caller_is_admin() then
        return;
    end if;
    if p_role is distinct from 'worker' or cardinality(coalesce(p_namespaces, '{}')) = 0 then
        raise exception 'role % may only act on worker nodes that name the namespaces they work, not on node % (%)',
            session_user, p_node_id, coalesce(p_role, 'unknown role') using errcode = '42501';
    end if;
    foreach v_ns in array p_namespaces loop
        perform ordo.authorize_worker(v_ns);
    end loop;
end
$$;

-- The check of ordo.authorize_node for a node as registered; a node that is not registered passes.
create function ordo.authorize_registered_node(p_node_id text) returns void
    language plpgsql stable as
$$
declare
    v_role text;
    v_namespaces text[];
begin
    if ordo.caller_is_admin() then
        return;
    end if;
    select n.role, n.namespaces into v_role, v_namespaces from ordo.node n where n.node_id = p_node_id;
    if found then
        perform ordo.authorize_node(p_node_id, v_role, v_namespaces);
    end if;
end
$$;

-- The node functions of V3, unchanged but for the check and running as their owner.
create function ordo.register_node(p_node_id text, p_role text, p_namespaces text[], p_host text, p_version text,
                                              p_started_at timestamptz, p_config_version bigint, p_heartbeat_interval interval,
                                              p_metadata jsonb default '{}', p_now timestamptz default clock_timestamp())
    returns void
    language plpgsql as
$$
begin
    perform ordo.authorize_registered_node(p_node_id);
    perform ordo.authorize_node(p_node_id, p_role, p_namespaces);
    insert into ordo.node as n (node_id, role, namespaces, host, version, started_at, config_version, status,
                                heartbeat_interval, heartbeat_at, status_changed_at, metadata)
    values (p_node_id, p_role, coalesce(p_namespaces, '{}'), p_host, p_version, p_started_at, coalesce(p_config_version, 0),
            'active', p_heartbeat_interval, p_now, p_now, coalesce(p_metadata, '{}'))
    on conflict (node_id) do update
        set role = excluded.role, namespaces = excluded.namespaces, host = excluded.host, version = excluded.version,
            started_at = excluded.started_at, config_version = excluded.config_version, status = 'active',
            heartbeat_interval = excluded.heartbeat_interval, heartbeat_at = excluded.heartbeat_at,
            status_changed_at = excluded.status_changed_at, metadata = excluded.metadata;
end
$$;

create function ordo.node_heartbeat(p_node_id text, p_config_version bigint, p_now timestamptz default clock_timestamp())
    returns text
    language plpgsql as
$$
declare
    v_status text;
begin
    perform ordo.authorize_registered_node(p_node_id);
    update ordo.node n
    set heartbeat_at = p_now,
        config_version = coalesce(p_config_version, n.config_version),
        status = case when n.status = 'suspect' then 'active' else n.status end,
        status_changed_at = case when n.status = 'suspect' then p_now else n.status_changed_at end
    where n.node_id = p_node_id and n.status <> 'down'
    returning n.status into v_status;
    if found then
        return v_status;
    end if;
    return (select n.status from ordo.node n where n.node_id = p_node_id);
end
$$;

create function ordo.drain_node(p_node_id text, p_now timestamptz default clock_timestamp()) returns boolean
    language plpgsql as
$$
begin
    perform ordo.authorize_registered_node(p_node_id);
    update ordo.node n set status = 'draining', status_changed_at = p_now
    where n.node_id = p_node_id and n.status <> 'down';
    return found;
end
$$;

create function ordo.deregister_node(p_node_id text) returns boolean
    language plpgsql as
$$
begin
    perform ordo.authorize_registered_node(p_node_id);
    delete from ordo.node n where n.node_id = p_node_id;
    return found;
end
$$;

-- ---------------------------------------------------------------------------------------------------------
-- Leader duties. Each takes the leader's term first and refuses to act under a stale one.

-- Marks nodes suspect after 2 missed heartbeat intervals and down after 3 (draining nodes go straight to
-- down). Every change is published on channel 'ordo.node_status' as {"node_id", "status", "term"} so that
-- other components can release what a down node held. Returns the changes.
create function ordo.duty_mark_stale_nodes(p_term bigint, p_now timestamptz default clock_timestamp())
    returns table (node_id text, status text)
    language plpgsql as
$$
#variable_conflict use_column
declare
    v_change record;
begin
    perform ordo.assert_leader(p_term);
    for v_change in
        with stale as (
            select n.node_id,
                   case when n.heartbeat_at < p_now - 3 * n.heartbeat_interval then 'down'
                        when n.status <> 'draining' and n.heartbeat_at < p_now - 2 * n.heartbeat_interval then 'suspect'
                   end as new_status
            from ordo.node n
            where n.status <> 'down'
            for update
        )
        update ordo.node n set status = s.new_status, status_changed_at = p_now
        from stale s
        where n.node_id = s.node_id and s.new_status is not null and s.new_status <> n.status
        returning n.node_id, n.status
    loop
        perform pg_notify('ordo.node_status',
                          jsonb_build_object('node_id', v_change.node_id, 'status', v_change.status, 'term', p_term)::text);
        node_id := v_change.node_id;
        status := v_change.status;
        return next;
    end loop;
end
$$;

-- Creates archive partitions days_ahead days ahead of p_now and drops those wholly older than
-- retention_days. Returns how many partitions it created and the names it dropped.
create function ordo.duty_maintain_archive(p_term bigint, p_days_ahead integer, p_retention_days integer,
                                           p_now timestamptz default clock_timestamp())
    returns table (created integer, dropped text[])
    language plpgsql as
$$
begin
    perform ordo.assert_leader(p_term);
    if p_retention_days is null or p_retention_days < 1 then
        raise exception 'retention must be at least 1 day, got %', p_retention_days using errcode = '22023';
    end if;
    created := ordo.ensure_archive_partitions(p_days_ahead, (p_now at time zone 'utc')::date);
    dropped := array(select ordo.drop_archive_before(p_now - make_interval(days => p_retention_days)));
    return next;
end
$$;

create function ordo.duty_refresh_queue_stats(p_term bigint) returns void
    language plpgsql as
$$
begin
    perform ordo.assert_leader(p_term);
    perform ordo.refresh_queue_stats();
end
$$;

-- Deletes expired keys, locks and wait-for edges. Returns how many rows it deleted.
create function ordo.duty_purge_expired_coordination(p_term bigint, p_now timestamptz default clock_timestamp())
    returns bigint
    language plpgsql as
$$
declare
    v_keys bigint;
    v_locks bigint;
    v_waits bigint;
begin
    perform ordo.assert_leader(p_term);
    delete from ordo.coord_key k where k.expires_at <= p_now;
    get diagnostics v_keys = row_count;
    delete from ordo.coord_lock l where l.expires_at <= p_now;
    get diagnostics v_locks = row_count;
    delete from ordo.coord_lock_wait w where w.expires_at <= p_now;
    get diagnostics v_waits = row_count;
    return v_keys + v_locks + v_waits;
end
$$;

-- ---------------------------------------------------------------------------------------------------------
-- Distributed configuration

-- The known keys. A '*' in a pattern stands for a namespace name (^[a-z][a-z0-9_]{0,39}$). Durations are
-- JSON strings like "250ms", "5s", "2m", "1h", "1d"; their min and max are in milliseconds.
create table ordo.config_key (
    pattern      text primary key check (pattern ~ '^[a-z][a-z0-9_.*]*$'),
    type         text    not null check (type in ('integer', 'boolean', 'string', 'duration')),
    min_value    numeric,
    max_value    numeric,
    allowed      text[],
    description  text    not null
);

insert into ordo.config_key (pattern, type, min_value, max_value, allowed, description) values
    ('queue.poll_interval_min', 'duration', 1, 60000, null, 'shortest wait between polls of an idle queue'),
    ('queue.poll_interval_max', 'duration', 1, 300000, null, 'longest wait between polls of an idle queue'),
    ('queue.stats_refresh_interval', 'duration', 100, 3600000, null, 'how often the leader refreshes queue statistics'),
    ('orchestrator.batch_size', 'integer', 1, 10000, null, 'messages an orchestrator reads per batch'),
    ('worker.batch_size', 'integer', 1, 10000, null, 'steps a worker reads per batch'),
    ('lease.ttl', 'duration', 1000, 3600000, null, 'how long a claim lives without a heartbeat'),
    ('election.interval', 'duration', 100, 300000, null, 'how often nodes try to become leader'),
    ('node.heartbeat_interval', 'duration', 100, 300000, null, 'how often nodes heartbeat; suspect after 2 missed, down after 3'),
    ('archive.retention_days', 'integer', 1, 3650, null, 'days archived messages are kept'),
    ('archive.days_ahead', 'integer', 1, 366, null, 'days of archive partitions created ahead'),
    ('archive.maintenance_interval', 'duration', 1000, 86400000, null, 'how often the leader maintains archive partitions'),
    ('log.level', 'string', null, null, array['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'], 'log level of every node'),
    ('backpressure.*.warning', 'integer', 0, 1000000000, null, 'queue depth of a namespace that raises a warning'),
    ('backpressure.*.critical', 'integer', 1, 1000000000, null, 'queue depth of a namespace above which submission is refused'),
    ('backpressure.*.shed_below_priority', 'integer', -1000, 1000, null, 'above warning depth, work below this priority is shed');

create sequence ordo.config_version_seq as bigint;

create table ordo.config (
    key         text primary key,
    value       jsonb       not null,
    version     bigint      not null,
    updated_by  text        not null,
    updated_at  timestamptz not null
);

-- One row per change; value is null when the key was reset to its default.
create table ordo.config_history (
    version     bigint primary key,
    key         text        not null,
    old_value   jsonb,
    value       jsonb,
    updated_by  text        not null,
    updated_at  timestamptz not null
);

create function ordo.config_key_regex(p_pattern text) returns text
    language sql immutable as
$$ select '^' || replace(replace(p_pattern, '.', '\.'), '*', '[a-z][a-z0-9_]{0,39}') || '$' $$;

-- "250ms", "5s", "2m", "1h", "1d" in milliseconds; null when the text is not a duration.
create function ordo.duration_ms(p_value text) returns bigint
    language plpgsql immutable as
$$
declare
    v_match text[] := regexp_match(p_value, '^([0-9]{1,12})(ms|s|m|h|d)$');
begin
    if v_match is null then
        return null;
    end if;
    return v_match[1]::bigint * case v_match[2] when 'ms' then 1 when 's' then 1000 when 'm' then 60000
                                                 when 'h' then 3600000 else 86400000 end;
end
$$;

create function ordo.format_duration_ms(p_ms numeric) returns text
    language sql immutable as
$$
    select case when p_ms > 0 and p_ms % 86400000 = 0 then (p_ms / 86400000)::bigint || 'd'
                when p_ms > 0 and p_ms % 3600000 = 0 then (p_ms / 3600000)::bigint || 'h'
                when p_ms > 0 and p_ms % 60000 = 0 then (p_ms / 60000)::bigint || 'm'
                when p_ms > 0 and p_ms % 1000 = 0 then (p_ms / 1000)::bigint || 's'
                else p_ms::bigint || 'ms' end
$$;

-- What a key accepts, in words: "a duration between 100ms and 5m", "one of TRACE, DEBUG".
create function ordo.config_key_allows(k ordo.config_key) returns text
    language sql immutable as
$$
    select case
        when k.allowed is not null then 'one of ' || array_to_string(k.allowed, ', ')
        when k.type = 'boolean' then 'true or false'
        when k.type = 'duration' then 'a duration (like 250ms, 5s, 2m, 1h) between '
                                      || ordo.format_duration_ms(k.min_value) || ' and ' || ordo.format_duration_ms(k.max_value)
        when k.type = 'integer' then 'an integer' || coalesce(' between ' || k.min_value || ' and ' || k.max_value, '')
        else 'a string'
    end
$$;

-- Returns the value if the key is known and the value fits its type, range and allowed values; raises
-- 22023 naming the key and what it allows otherwise.
create function ordo.validate_config(p_key text, p_value jsonb) returns jsonb
    language plpgsql stable as
$$
declare
    k ordo.config_key;
    v_number numeric;
    v_ok boolean;
begin
    if p_key is null or p_value is null or jsonb_typeof(p_value) = 'null' then
        raise exception 'config key and value must not be null (key %)', coalesce(p_key, 'null')
            using errcode = '22004';
    end if;
    select * into k from ordo.config_key ck where p_key ~ ordo.config_key_regex(ck.pattern) limit 1;
    if not found then
        raise exception 'unknown config key "%": known keys are %', p_key,
            (select string_agg(replace(ck.pattern, '*', '<namespace>'), ', ' order by ck.pattern) from ordo.config_key ck)
            using errcode = '22023';
    end if;
    v_ok := case k.type
        when 'integer' then jsonb_typeof(p_value) = 'number' and (p_value #>> '{}')::numeric = trunc((p_value #>> '{}')::numeric)
        when 'boolean' then jsonb_typeof(p_value) = 'boolean'
        when 'string' then jsonb_typeof(p_value) = 'string'
        when 'duration' then jsonb_typeof(p_value) = 'string' and ordo.duration_ms(p_value #>> '{}') is not null
    end;
    if v_ok then
        v_number := case when k.type = 'duration' then ordo.duration_ms(p_value #>> '{}')
                         when k.type = 'integer' then (p_value #>> '{}')::numeric end;
        v_ok := (k.min_value is null or v_number >= k.min_value)
            and (k.max_value is null or v_number <= k.max_value)
            and (k.allowed is null or (p_value #>> '{}') = any (k.allowed));
    end if;
    if not v_ok then
        raise exception 'config key "%" must be %, got %', p_key, ordo.config_key_allows(k), p_value::text
            using errcode = '22023';
    end if;
    return p_value;
end
$$;

-- Validates and stores a value, records it in the history and notifies every node on channel 'ordo.config'
-- (payload {"key", "version"}). Returns the new config version; setting the value a key already has changes
-- nothing and returns its version. Writes are serialized, so versions grow in commit order.
create function ordo.set_config(p_key text, p_value jsonb, p_updated_by text) returns bigint
    language plpgsql as
$$
declare
    v_value jsonb := ordo.validate_config(p_key, p_value);
    v_current ordo.config;
    v_version bigint;
begin
    if p_updated_by is null or p_updated_by = '' then
        raise exception 'updated_by must name who changes config key "%"', p_key using errcode = '22023';
    end if;
    perform pg_advisory_xact_lock(1869767791, 3);
    select * into v_current from ordo.config c where c.key = p_key;
    if found and v_current.value = v_value then
        return v_current.version;
    end if;
    v_version := nextval('ordo.config_version_seq');
    insert into ordo.config as c (key, value, version, updated_by, updated_at)
    values (p_key, v_value, v_version, p_updated_by, clock_timestamp())
    on conflict (key) do update
        set value = excluded.value, version = excluded.version, updated_by = excluded.updated_by, updated_at = excluded.updated_at;
    insert into ordo.config_history (version, key, old_value, value, updated_by, updated_at)
    values (v_version, p_key, v_current.value, v_value, p_updated_by, clock_timestamp());
    perform pg_notify('ordo.config', jsonb_build_object('key', p_key, 'version', v_version)::text);
    return v_version;
end
$$;

-- Removes a key's value so nodes fall back to their file/env default. Returns the new config version (or
-- the current one when the key had no value).
create function ordo.reset_config(p_key text, p_updated_by text) returns bigint
    language plpgsql as
$$
declare
    v_old jsonb;
    v_version bigint;
begin
    if p_updated_by is null or p_updated_by = '' then
        raise exception 'updated_by must name who resets config key "%"', p_key using errcode = '22023';
    end if;
    perform pg_advisory_xact_lock(1869767791, 3);
    delete from ordo.config c where c.key = p_key returning c.value into v_old;
    if not found then
        return ordo.config_version();
    end if;
    v_version := nextval('ordo.config_version_seq');
    insert into ordo.config_history (version, key, old_value, value, updated_by, updated_at)
    values (v_version, p_key, v_old, null, p_updated_by, clock_timestamp());
    perform pg_notify('ordo.config', jsonb_build_object('key', p_key, 'version', v_version)::text);
    return v_version;
end
$$;

-- The latest config version: what every node should run.
create function ordo.config_version() returns bigint
    language sql stable as
$$ select coalesce(max(h.version), 0) from ordo.config_history h $$;

-- Nodes that are not down and run an older config version than the latest, with how many changes behind.
create function ordo.config_drift()
    returns table (node_id text, role text, status text, config_version bigint, latest_version bigint, changes_behind bigint)
    language sql stable as
$$
    select n.node_id, n.role, n.status, n.config_version, v.latest,
           (select count(*) from ordo.config_history h where h.version > n.config_version)
    from ordo.node n
    cross join (select ordo.config_version() as latest) v
    where n.status <> 'down' and n.config_version < v.latest
    order by n.node_id
$$;

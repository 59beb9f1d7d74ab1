-- Ordo queue engine: pgmq-style queues as LIST partitions of one parent table,
-- a day-partitioned archive, and the SQL API every client (Java or not) uses.

create schema if not exists ordo;

-- One sequence for every message id, whatever its queue.
create sequence ordo.msg_id_seq as bigint;

create table ordo.queue (
    queue_name  text primary key,
    notify      boolean     not null default true,
    -- time-weighted priority: a message of priority p becomes eligible as if sent p * priority_step
    -- earlier, so higher priority goes first while an older message of lower priority still ages past it
    priority_step interval  not null default '1 second',
    created_at  timestamptz not null default now(),
    -- snapshot of the queue's depth, refreshed by ordo.refresh_queue_stats();
    -- backpressure and metrics read this instead of counting a hot table.
    stats_depth         bigint      not null default 0,
    stats_visible_depth bigint      not null default 0,
    stats_refreshed_at  timestamptz not null default '-infinity',
    constraint queue_name_valid check (queue_name ~ '^[a-z][a-z0-9_]{0,47}$')
);

-- Live messages. Each queue is one partition, created by ordo.create_queue(),
-- so the read path touches only that queue's (small, hot) table and indexes.
create table ordo.message (
    queue_name   text        not null,
    msg_id       bigint      not null default nextval('ordo.msg_id_seq'),
    read_ct      integer     not null default 0,
    enqueued_at  timestamptz not null default now(),
    vt           timestamptz not null default now(),
    message      jsonb       not null,
    headers      jsonb
) partition by list (queue_name);

-- Archive: range-partitioned by day (UTC); retention drops whole partitions.
create table ordo.archive (
    queue_name   text        not null,
    msg_id       bigint      not null,
    read_ct      integer     not null,
    enqueued_at  timestamptz not null,
    vt           timestamptz not null,
    message      jsonb       not null,
    headers      jsonb,
    archived_at  timestamptz not null default now()
) partition by range (archived_at);

create type ordo.message_record as (
    msg_id       bigint,
    read_ct      integer,
    enqueued_at  timestamptz,
    vt           timestamptz,
    message      jsonb,
    headers      jsonb
);

-- Raises 22023 (invalid_parameter_value) unless the name is safe to use in an identifier.
create function ordo.validate_queue_name(queue text) returns text
    language plpgsql immutable as
$$
begin
    if queue is null or queue !~ '^[a-z][a-z0-9_]{0,47}$' then
        raise exception 'invalid queue name %: it must match ^[a-z][a-z0-9_]{0,47}$', coalesce(quote_literal(queue), 'NULL')
            using errcode = '22023';
    end if;
    return queue;
end
$$;

-- Returns the queue's row; raises 42704 (undefined_object) if it does not exist.
create function ordo.queue_settings(queue text) returns ordo.queue
    language plpgsql stable as
$$
declare
    v_queue ordo.queue;
begin
    select * into v_queue from ordo.queue q where q.queue_name = queue;
    if not found then
        perform ordo.validate_queue_name(queue);
        raise exception 'queue % does not exist', quote_literal(queue) using errcode = '42704';
    end if;
    return v_queue;
end
$$;

create function ordo.create_queue(queue text, notify boolean default true, priority_step interval default '1 second')
    returns void
    language plpgsql as
$$
declare
    v_table text := 'q_' || ordo.validate_queue_name(queue);
begin
    if exists (select 1 from ordo.queue q where q.queue_name = queue) then
        return;
    end if;
    execute format('create table ordo.%I partition of ordo.message for values in (%L)'
                   ' with (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 200,'
                   ' autovacuum_vacuum_insert_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.02,'
                   ' autovacuum_vacuum_cost_delay = 0)', v_table, queue);
    execute format('alter table ordo.%I add primary key (msg_id)', v_table);
    -- the read path: visible messages in order, claimed with SKIP LOCKED
    execute format('create index %I on ordo.%I (vt, msg_id)', v_table || '_vt', v_table);
    insert into ordo.queue (queue_name, notify, priority_step) values (queue, notify, priority_step);
end
$$;

create function ordo.drop_queue(queue text) returns boolean
    language plpgsql as
$$
declare
    v_table text := 'q_' || ordo.validate_queue_name(queue);
begin
    delete from ordo.queue q where q.queue_name = queue;
    if not found then
        return false;
    end if;
    execute format('drop table if exists ordo.%I', v_table);
    return true;
end
$$;

-- Wakes the queue's listeners, but only when it holds no visible message: consumers of a queue with a
-- backlog are busy reading it and need no wake-up, and every transaction that NOTIFYs serializes on one
-- cluster-wide lock at commit. PostgreSQL folds repeats within a transaction into one notification.
-- Call it before inserting, so the transaction's own messages do not count.
create function ordo.notify_if_idle(queue text) returns void
    language plpgsql as
$$
begin
    if not exists (select 1 from ordo.message m where m.queue_name = queue and m.vt <= clock_timestamp()) then
        perform pg_notify('ordo_' || queue, '');
    end if;
end
$$;

create function ordo.send(queue text, message jsonb, headers jsonb default null, delay double precision default 0,
                          priority integer default 0)
    returns bigint
    language plpgsql as
$$
declare
    v_queue ordo.queue := ordo.queue_settings(queue);
    v_id bigint;
begin
    if message is null then
        raise exception 'message must not be null (queue %)', queue using errcode = '22004';
    end if;
    if v_queue.notify and coalesce(delay, 0) <= 0 then
        perform ordo.notify_if_idle(queue);
    end if;
    insert into ordo.message (queue_name, vt, message, headers)
    values (queue, clock_timestamp() + make_interval(secs => greatest(delay, 0)) - coalesce(priority, 0) * v_queue.priority_step,
            message, headers)
    returning msg_id into v_id;
    return v_id;
end
$$;

create function ordo.send_batch(queue text, messages jsonb[], headers jsonb[] default null, delay double precision default 0,
                                priorities integer[] default null)
    returns setof bigint
    language plpgsql as
$$
declare
    v_queue ordo.queue := ordo.queue_settings(queue);
    v_vt timestamptz;
begin
    if messages is null or array_position(messages, null) is not null then
        raise exception 'messages must be a non-null array without null elements (queue %)', queue using errcode = '22004';
    end if;
    if headers is not null and cardinality(headers) <> cardinality(messages) then
        raise exception 'headers has % elements but messages has % (queue %)', cardinality(headers), cardinality(messages), queue
            using errcode = '22023';
    end if;
    if priorities is not null and cardinality(priorities) <> cardinality(messages) then
        raise exception 'priorities has % elements but messages has % (queue %)', cardinality(priorities), cardinality(messages), queue
            using errcode = '22023';
    end if;
    if v_queue.notify and cardinality(messages) > 0 and coalesce(delay, 0) <= 0 then
        perform ordo.notify_if_idle(queue);
    end if;
    v_vt := clock_timestamp() + make_interval(secs => greatest(delay, 0));
    if headers is null and priorities is null then
        -- the common case, kept as plain as an INSERT can be; ids follow the array's order
        return query
            insert into ordo.message (queue_name, vt, message)
            select queue, v_vt, m.message from unnest(messages) as m(message)
            returning msg_id;
    else
        return query
            insert into ordo.message (queue_name, vt, message, headers)
            select queue, v_vt - coalesce(priorities[m.ord], 0) * v_queue.priority_step, m.message, headers[m.ord]
            from unnest(messages) with ordinality as m(message, ord)
            order by m.ord
            returning msg_id;
    end if;
end
$$;

create function ordo.read(queue text, vt double precision, qty integer)
    returns setof ordo.message_record
    language plpgsql as
$$
begin
    perform ordo.queue_settings(queue);
    if vt is null or vt < 0 or qty is null or qty < 0 then
        raise exception 'read needs vt >= 0 and qty >= 0, got vt % and qty % (queue %)', vt, qty, queue using errcode = '22023';
    end if;
    return query
        with claimed as (
            select m.msg_id
            from ordo.message m
            where m.queue_name = queue and m.vt <= clock_timestamp()
            order by m.vt, m.msg_id
            limit qty
            for update skip locked
        )
        update ordo.message m
        set vt = clock_timestamp() + make_interval(secs => read.vt), read_ct = m.read_ct + 1
        from claimed
        where m.queue_name = queue and m.msg_id = claimed.msg_id
        returning m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message, m.headers;
end
$$;

create function ordo.pop(queue text, qty integer default 1)
    returns setof ordo.message_record
    language plpgsql as
$$
begin
    perform ordo.queue_settings(queue);
    return query
        with claimed as (
            select m.msg_id
            from ordo.message m
            where m.queue_name = queue and m.vt <= clock_timestamp()
            order by m.vt, m.msg_id
            limit qty
            for update skip locked
        )
        delete from ordo.message m
        using claimed
        where m.queue_name = queue and m.msg_id = claimed.msg_id
        returning m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message, m.headers;
end
$$;

create function ordo.delete(queue text, msg_ids bigint[])
    returns setof bigint
    language plpgsql as
$$
begin
    perform ordo.queue_settings(queue);
    return query
        delete from ordo.message m
        where m.queue_name = queue and m.msg_id = any (msg_ids)
        returning m.msg_id;
end
$$;

create function ordo.delete(queue text, msg_id bigint)
    returns boolean
    language sql as
$$ select exists (select 1 from ordo.delete(queue, array[msg_id])) $$;

-- Daily partitions (UTC) of a table partitioned by range on a timestamptz: <table>_YYYYMMDD.
create function ordo.daily_partition_name(parent text, day date) returns text
    language sql immutable as
$$ select parent || '_' || to_char(day, 'YYYYMMDD') $$;

-- Creates the daily partitions of ordo.<parent> for from_day .. from_day + days_ahead. Returns how many it created.
create function ordo.ensure_daily_partitions(parent text, days_ahead integer,
                                             from_day date default (now() at time zone 'utc')::date)
    returns integer
    language plpgsql as
$$
declare
    v_day date;
    v_created integer := 0;
begin
    if parent not in ('archive', 'transition') then
        raise exception 'ordo.% is not a daily-partitioned table', parent using errcode = '22023';
    end if;
    if days_ahead is null or days_ahead < 0 or days_ahead > 366 then
        raise exception 'days_ahead must be between 0 and 366, got %', days_ahead using errcode = '22023';
    end if;
    for v_day in select generate_series(from_day, from_day + days_ahead, interval '1 day')::date loop
        if to_regclass('ordo.' || ordo.daily_partition_name(parent, v_day)) is null then
            execute format('create table ordo.%I partition of ordo.%I for values from (%L) to (%L)',
                           ordo.daily_partition_name(parent, v_day), parent,
                           v_day::text || ' 00:00:00+00', (v_day + 1)::text || ' 00:00:00+00');
            v_created := v_created + 1;
        end if;
    end loop;
    return v_created;
end
$$;

-- Drops every daily partition of ordo.<parent> that lies wholly before ts. Never deletes rows one by one.
create function ordo.drop_daily_partitions_before(parent text, ts timestamptz)
    returns setof text
    language plpgsql as
$$
declare
    v_name text;
begin
    if parent not in ('archive', 'transition') then
        raise exception 'ordo.% is not a daily-partitioned table', parent using errcode = '22023';
    end if;
    if ts is null then
        raise exception 'dropping partitions needs a timestamp' using errcode = '22004';
    end if;
    for v_name in
        select c.relname
        from pg_inherits i
        join pg_class c on c.oid = i.inhrelid
        where i.inhparent = ('ordo.' || parent)::regclass
          and c.relname ~ ('^' || parent || '_[0-9]{8}$')
          and (to_date(right(c.relname, 8), 'YYYYMMDD') + 1)::timestamp at time zone 'utc' <= ts
        order by c.relname
    loop
        execute format('drop table ordo.%I', v_name);
        return next v_name;
    end loop;
end
$$;

create function ordo.ensure_archive_partitions(days_ahead integer default 7,
                                               from_day date default (now() at time zone 'utc')::date)
    returns integer
    language sql as
$$ select ordo.ensure_daily_partitions('archive', days_ahead, from_day) $$;

create function ordo.drop_archive_before(ts timestamptz)
    returns setof text
    language sql as
$$ select ordo.drop_daily_partitions_before('archive', ts) $$;

create function ordo.archive(queue text, msg_ids bigint[])
    returns setof bigint
    language plpgsql as
$$
begin
    perform ordo.queue_settings(queue);
    if to_regclass('ordo.' || ordo.daily_partition_name('archive', (now() at time zone 'utc')::date)) is null then
        perform ordo.ensure_archive_partitions(1);
    end if;
    return query
        with moved as (
            delete from ordo.message m
            where m.queue_name = queue and m.msg_id = any (msg_ids)
            returning m.*
        )
        insert into ordo.archive as a (queue_name, msg_id, read_ct, enqueued_at, vt, message, headers, archived_at)
        select moved.queue_name, moved.msg_id, moved.read_ct, moved.enqueued_at, moved.vt, moved.message, moved.headers, now()
        from moved
        returning a.msg_id;
end
$$;

create function ordo.archive(queue text, msg_id bigint)
    returns boolean
    language sql as
$$ select exists (select 1 from ordo.archive(queue, array[msg_id])) $$;

-- Heartbeat: hide the given messages for vt more seconds. Returns the ids it extended.
create function ordo.set_vt(queue text, msg_ids bigint[], vt double precision)
    returns setof bigint
    language plpgsql as
$$
begin
    perform ordo.queue_settings(queue);
    if set_vt.vt is null or set_vt.vt < 0 then
        raise exception 'set_vt needs vt >= 0, got % (queue %)', set_vt.vt, queue using errcode = '22023';
    end if;
    return query
        update ordo.message m
        set vt = clock_timestamp() + make_interval(secs => set_vt.vt)
        where m.queue_name = queue and m.msg_id = any (msg_ids)
        returning m.msg_id;
end
$$;

-- Refreshes the depth snapshot of one queue, or of all when queue is null.
create function ordo.refresh_queue_stats(queue text default null)
    returns void
    language sql as
$$
    update ordo.queue q
    set stats_depth = coalesce(s.depth, 0),
        stats_visible_depth = coalesce(s.visible, 0),
        stats_refreshed_at = clock_timestamp()
    from ordo.queue q2
    left join lateral (
        select count(*) as depth, count(*) filter (where m.vt <= clock_timestamp()) as visible
        from ordo.message m
        where m.queue_name = q2.queue_name
    ) s on true
    where q.queue_name = q2.queue_name
      and (refresh_queue_stats.queue is null or q2.queue_name = refresh_queue_stats.queue)
$$;

create type ordo.queue_metrics as (
    queue_name         text,
    queue_length       bigint,
    visible_length     bigint,
    oldest_msg_age_sec double precision,
    total_messages     bigint,
    stats_age_sec      double precision,
    scrape_time        timestamptz
);

-- Cheap metrics: depth comes from the snapshot (refreshed here only when older than
-- max_stats_age seconds), the oldest age from one primary-key probe, the total from a sequence.
create function ordo.metrics(queue text, max_stats_age double precision default 1.0)
    returns ordo.queue_metrics
    language plpgsql as
$$
declare
    v_queue ordo.queue;
    v_oldest timestamptz;
    v_total bigint;
    v_result ordo.queue_metrics;
begin
    v_queue := ordo.queue_settings(queue);
    if v_queue.stats_refreshed_at < clock_timestamp() - make_interval(secs => max_stats_age) then
        perform ordo.refresh_queue_stats(queue);
        select * into v_queue from ordo.queue q where q.queue_name = queue;
    end if;
    select m.enqueued_at into v_oldest
    from ordo.message m where m.queue_name = queue order by m.msg_id limit 1;
    -- rows ever inserted into the queue's partition, from the statistics system: no counter on the send path.
    -- It counts since the last statistics reset, includes rolled-back sends and lags other sessions by a moment.
    select pg_stat_get_tuples_inserted(c.oid) + pg_stat_get_xact_tuples_inserted(c.oid) into v_total
    from pg_class c where c.oid = ('ordo.' || quote_ident('q_' || queue))::regclass;
    v_result := (queue, v_queue.stats_depth, v_queue.stats_visible_depth,
                 extract(epoch from clock_timestamp() - v_oldest)::double precision,
                 v_total,
                 extract(epoch from clock_timestamp() - v_queue.stats_refreshed_at)::double precision,
                 clock_timestamp());
    return v_result;
end
$$;

create function ordo.metrics_all(max_stats_age double precision default 1.0)
    returns setof ordo.queue_metrics
    language sql as
$$ select (ordo.metrics(q.queue_name, max_stats_age)).* from ordo.queue q order by q.queue_name $$;

select ordo.ensure_archive_partitions(7, (now() at time zone 'utc')::date - 1);

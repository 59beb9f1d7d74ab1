-- Queue statements planned once per session instead of at every call.
--
-- V9 made ordo.read, ordo.pop, ordo.lock_batch and ordo.notify_if_idle build their statement for the queue's
-- partition and plan it at each call, so that the plan never came from stale statistics. That planning is
-- the largest fixed cost of a small batch: 0.29 ms per ordo.read of an empty queue against 0.07 ms for the same
-- work in static SQL, 0.14 ms per lock_batch (load-tests/RESULTS.md). Every worker read and every orchestration
-- pass pays it, and at low load, where batches hold a message or two, it is most of the cost of a step.
--
-- The statements are static again, on ordo.message with queue_name = the queue (the partition is chosen when the
-- plan runs), with the visibility bound as a value, so that it stays an index condition. The plan no longer
-- depends on the statistics: these functions run with enable_seqscan and enable_sort off, which leaves the
-- planner one way to produce the rows in (vt, msg_id) order, the walk of the partition's (vt, msg_id) index that
-- stops after qty rows. A queue analysed while empty and then filled is read the same way as any other.
-- Claimed rows are still updated or deleted by ctid, within the queue's own partition.

create or replace function ordo.notify_if_idle(queue text) returns void
    language plpgsql
    set enable_seqscan = off set enable_sort = off as
$$
declare
    v_now timestamptz := clock_timestamp();
begin
    if not exists (select 1 from ordo.message m where m.queue_name = queue and m.vt <= v_now) then
        perform pg_notify('ordo_' || queue, '');
    end if;
end
$$;

create or replace function ordo.read(queue text, vt double precision, qty integer)
    returns setof ordo.message_record
    language plpgsql
    set enable_seqscan = off set enable_sort = off as
$$
declare
    v_now timestamptz := clock_timestamp();
begin
    perform ordo.queue_settings(queue);
    if vt is null or vt < 0 or qty is null or qty < 0 then
        raise exception 'read needs vt >= 0 and qty >= 0, got vt % and qty % (queue %)', vt, qty, queue using errcode = '22023';
    end if;
    return query
        with claimed as (
            select m.ctid
            from ordo.message m
            where m.queue_name = queue and m.vt <= v_now
            order by m.vt, m.msg_id
            limit qty
            for update skip locked
        )
        update ordo.message m
        set vt = clock_timestamp() + make_interval(secs => read.vt), read_ct = m.read_ct + 1
        from claimed
        where m.queue_name = queue and m.ctid = claimed.ctid
        returning m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message, m.headers;
end
$$;

create or replace function ordo.pop(queue text, qty integer default 1)
    returns setof ordo.message_record
    language plpgsql
    set enable_seqscan = off set enable_sort = off as
$$
declare
    v_now timestamptz := clock_timestamp();
begin
    perform ordo.queue_settings(queue);
    return query
        with claimed as (
            select m.ctid
            from ordo.message m
            where m.queue_name = queue and m.vt <= v_now
            order by m.vt, m.msg_id
            limit qty
            for update skip locked
        )
        delete from ordo.message m
        using claimed
        where m.queue_name = queue and m.ctid = claimed.ctid
        returning m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message, m.headers;
end
$$;

create or replace function ordo.lock_batch(queue text, qty integer)
    returns setof ordo.message_record
    language plpgsql
    set enable_seqscan = off set enable_sort = off as
$$
declare
    v_now timestamptz := clock_timestamp();
begin
    perform ordo.queue_settings(queue);
    if qty is null or qty < 0 then
        raise exception 'lock_batch needs qty >= 0, got % (queue %)', qty, queue using errcode = '22023';
    end if;
    return query
        select m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message, m.headers
        from ordo.message m
        where m.queue_name = queue and m.vt <= v_now
        order by m.vt, m.msg_id
        limit qty
        for update skip locked;
end
$$;

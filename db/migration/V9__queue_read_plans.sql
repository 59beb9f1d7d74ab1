-- Reads that keep a good plan whatever the statistics say.
--
-- ordo.read and ordo.pop ran one statement on the partitioned parent (queue_name = $1). PL/pgSQL caches its
-- plan, and the planner sizes it from the partition's statistics: a queue analysed while empty (or never
-- analysed since a burst, autovacuum's naptime is a minute) is planned as a one-row table, and the plan
-- estimates queue_name = $1 at 0.5% of the rows even though every row of the partition has that name. The
-- result was a sequential scan and a sort of the whole queue to claim a batch, then one more sequential scan
-- per claimed message to update it: 30 to 100 ms per read of 50 steps from a queue of 20,000 messages
-- (load-tests/RESULTS.md). Now:
--   * the claim runs on the queue's own partition (no bogus selectivity on queue_name) and is planned at
--     each call, against the partition's current size: always the (vt, msg_id) index, stopping after qty rows;
--   * the visibility bound is a value (vt <= $n), so it is an index condition: a queue whose messages are
--     all in flight is answered from the first index entry instead of a walk over every hidden message;
--   * the claimed rows are updated (or deleted) by ctid, a TID scan that needs no plan choice at all.
-- ordo.notify_if_idle, called by every send, asks the partition the same way.

create or replace function ordo.notify_if_idle(queue text) returns void
    language plpgsql as
$$
declare
    v_visible boolean;
begin
    execute format('select exists (select 1 from ordo.%I m where m.vt <= $1)', 'q_' || queue)
        into v_visible using clock_timestamp();
    if not v_visible then
        perform pg_notify('ordo_' || queue, '');
    end if;
end
$$;

create or replace function ordo.read(queue text, vt double precision, qty integer)
    returns setof ordo.message_record
    language plpgsql as
$$
begin
    perform ordo.queue_settings(queue);
    if vt is null or vt < 0 or qty is null or qty < 0 then
        raise exception 'read needs vt >= 0 and qty >= 0, got vt % and qty % (queue %)', vt, qty, queue using errcode = '22023';
    end if;
    -- the queue exists, so its name is valid and q_<queue> is its partition
    return query execute format($sql$
        with claimed as (
            select m.ctid
            from ordo.%1$I m
            where m.vt <= $1
            order by m.vt, m.msg_id
            limit $2
            for update skip locked
        )
        update ordo.%1$I m
        set vt = clock_timestamp() + make_interval(secs => $3), read_ct = m.read_ct + 1
        from claimed
        where m.ctid = claimed.ctid
        returning m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message, m.headers$sql$, 'q_' || queue)
        using clock_timestamp(), qty, vt;
end
$$;

create or replace function ordo.pop(queue text, qty integer default 1)
    returns setof ordo.message_record
    language plpgsql as
$$
begin
    perform ordo.queue_settings(queue);
    return query execute format($sql$
        with claimed as (
            select m.ctid
            from ordo.%1$I m
            where m.vt <= $1
            order by m.vt, m.msg_id
            limit $2
            for update skip locked
        )
        delete from ordo.%1$I m
        using claimed
        where m.ctid = claimed.ctid
        returning m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message, m.headers$sql$, 'q_' || queue)
        using clock_timestamp(), qty;
end
$$;

-- Locks up to qty visible messages for the caller's transaction (FOR UPDATE SKIP LOCKED) without hiding them or
-- counting a read: for a consumer that processes and deletes them in that same transaction. Other consumers skip
-- them meanwhile; if the transaction rolls back or its session dies, they are visible again at once, with no
-- visibility timeout to wait out. Read counts (and the caps built on them) only move through ordo.read.
create function ordo.lock_batch(queue text, qty integer)
    returns setof ordo.message_record
    language plpgsql as
$$
begin
    perform ordo.queue_settings(queue);
    if qty is null or qty < 0 then
        raise exception 'lock_batch needs qty >= 0, got % (queue %)', qty, queue using errcode = '22023';
    end if;
    return query execute format($sql$
        select m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message, m.headers
        from ordo.%1$I m
        where m.vt <= $1
        order by m.vt, m.msg_id
        limit $2
        for update skip locked$sql$, 'q_' || queue)
        using clock_timestamp(), qty;
end
$$;

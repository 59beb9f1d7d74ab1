-- ordo.notify_if_idle stops at the first visible message instead of collecting them all.
--
-- A sender notifies a queue's consumers only when the queue holds no visible message (a queue with one has consumers
-- at work, who read again). The question needs one row, but the planner, which knows the queue's partition from
-- statistics taken when it was nearly empty, answered it with a bitmap scan of the (vt, msg_id) index: a bitmap
-- holds every visible message before the first is looked at. The cost grew with the backlog: in a burn-down, whose
-- 20,000 submissions in one transaction each call this for their namespace's queue (V18), the check took 0.37 ms a
-- call on average (pg_stat_statements, PostgreSQL 15), 40% of ordo.submit_task, each call collecting the messages
-- of the submissions before it. Without bitmap scans the only plan left is the index scan, which stops at the first
-- visible message.

create or replace function ordo.notify_if_idle(queue text) returns void
    language plpgsql
    set enable_seqscan = off set enable_sort = off set enable_bitmapscan = off as
$$
declare
    v_now timestamptz := clock_timestamp();
begin
    if not exists (select 1 from ordo.message m where m.queue_name = queue and m.vt <= v_now) then
        perform pg_notify('ordo_' || queue, '');
    end if;
end
$$;

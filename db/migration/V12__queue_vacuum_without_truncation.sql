-- Queue partitions are vacuumed without truncation.
--
-- A vacuum that finds empty pages at the end of a table truncates them: it takes an ACCESS EXCLUSIVE lock on the
-- table, retrying until it gets it, and keeps it while it checks the pages backwards. On a queue partition that lock
-- stops every reader and writer of the queue, and, since the queue statements are planned on ordo.message (V11) and
-- a generic plan locks every partition before it prunes, of every other queue too. A queue that drained after a
-- burst is exactly such a table, and the leader vacuums busy queues every few seconds: sampling pg_stat_activity
-- every 5 ms through a 20 s steady run at 1,500 tasks/s found the leader's vacuum in the VacuumTruncate wait 231
-- times (load-tests/RESULTS.md). A queue grows back at its next burst anyway, so its partition keeps its pages.
--
-- Every existing queue partition gets vacuum_truncate = false (autovacuum honours it too), and ordo.create_queue
-- creates new ones with it. The function is otherwise unchanged, with the attributes V4 gave it. The leader's
-- vacuum also says TRUNCATE false, and PARALLEL 0: a queue partition is too small to be worth starting workers for.

do
$$
declare
    v_table text;
begin
    for v_table in select 'q_' || q.queue_name from ordo.queue q loop
        execute format('alter table ordo.%I set (vacuum_truncate = false)', v_table);
    end loop;
end
$$;

create or replace function ordo.create_queue(queue text, notify boolean default true, priority_step interval default '1 second')
    returns void
    language plpgsql security definer set search_path = ordo, pg_temp as
$$
declare
    v_table text := 'q_' || ordo.validate_queue_name(queue);
begin
    if exists (select 1 from ordo.queue q where q.queue_name = queue) then
        return;
    end if;
    execute format('create table ordo.%I partition of ordo.message for values in (%L)'
                   ' with (fillfactor = 70, vacuum_truncate = false, autovacuum_vacuum_scale_factor = 0.01,'
                   ' autovacuum_vacuum_threshold = 200, autovacuum_vacuum_insert_scale_factor = 0.05,'
                   ' autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_cost_delay = 0)', v_table, queue);
    execute format('alter table ordo.%I add primary key (msg_id)', v_table);
    -- the read path: visible messages in order, claimed with SKIP LOCKED
    execute format('create index %I on ordo.%I (vt, msg_id)', v_table || '_vt', v_table);
    insert into ordo.queue (queue_name, notify, priority_step) values (queue, notify, priority_step);
end
$$;

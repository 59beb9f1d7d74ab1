-- Queue messages are stored uncompressed, the step-timeout duty stops at the first step that cannot have timed out, and
-- creating or dropping a queue waits at most 1 s for its lock.
--
-- 1. A message row longer than about 2 kB was compressed (pglz) when it was inserted and decompressed when it was read.
--    A worker hands back the results of a task's steps in one step_results message (V17), which for the ten middle
--    steps of a fan-out crosses that size: compression and decompression took about 1% of the machine's CPU in a
--    fan-out burn-down (perf, load-tests/RESULTS.md). A message lives for milliseconds; what compression saves in
--    space is not worth its CPU. Every queue partition, and each one ordo.create_queue makes, gets
--    toast_tuple_target = 8160: rows up to a page stay inline and uncompressed. Larger ones are still toasted.
--
-- 2. ordo.enforce_step_timeouts looked for running steps past their timeout by walking every running step in
--    started_at order, since each step has its own timeout: 41,527 of them, 42 ms, every second, with the results of
--    a burn-down waiting for the orchestrator. A step cannot have timed out before the shortest timeout any template
--    declares has passed since it started (a step's timeout_ms is copied from its template step, and templates never
--    change or go away), so the walk now stops at started_at = now() - that shortest timeout.
--
-- 3. Creating or dropping a queue creates or drops a partition of ordo.message, which takes an ACCESS EXCLUSIVE lock on
--    it. Behind a long transaction the waiting request queued every reader and writer of every queue. create_queue and
--    drop_queue now wait at most 1 s for their locks (lock_timeout, for the function's run only) and fail with
--    "lock timeout", having changed nothing; the caller tries again.
--
-- create_queue and enforce_step_timeouts are otherwise as V12 and V2 made them, with the same attributes.

do
$$
declare
    v_table text;
begin
    for v_table in select 'q_' || q.queue_name from ordo.queue q loop
        execute format('alter table ordo.%I set (toast_tuple_target = 8160)', v_table);
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
                   ' with (fillfactor = 70, toast_tuple_target = 8160, vacuum_truncate = false,'
                   ' autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 200,'
                   ' autovacuum_vacuum_insert_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.02,'
                   ' autovacuum_vacuum_cost_delay = 0)', v_table, queue);
    execute format('alter table ordo.%I add primary key (msg_id)', v_table);
    -- the read path: visible messages in order, claimed with SKIP LOCKED
    execute format('create index %I on ordo.%I (vt, msg_id)', v_table || '_vt', v_table);
    insert into ordo.queue (queue_name, notify, priority_step) values (queue, notify, priority_step);
end
$$;

alter function ordo.create_queue(text, boolean, interval) set lock_timeout = '1s';
alter function ordo.drop_queue(text) set lock_timeout = '1s';

create or replace function ordo.enforce_step_timeouts(max_steps integer default 1000)
    returns integer
    language plpgsql as
$$
declare
    v_count integer;
begin
    with expired as (
        select s.id, s.task_id, s.attempt, s.msg_id, s.timeout_ms, t.namespace
        from ordo.step s join ordo.task t on t.id = s.task_id
        where s.status = 'in_progress'
          -- the bound of the index walk: no step started since can have timed out
          and s.started_at < now() - make_interval(secs => (select min(ts.timeout_ms) from ordo.template_step ts) / 1000.0)
          and s.started_at + make_interval(secs => s.timeout_ms / 1000.0) < now()
          and s.timeout_signalled is distinct from s.attempt
        order by s.started_at
        limit max_steps
        for update of s skip locked
    ),
    marked as (
        update ordo.step s set timeout_signalled = e.attempt
        from expired e where s.id = e.id
        returning e.*
    ),
    removed as (
        select ordo.delete('ns_' || m.namespace, array_agg(m.msg_id)) as id
        from marked m where m.msg_id is not null group by m.namespace
    ),
    sent as (
        select ordo.send('orchestration',
                         jsonb_build_object('type', 'step_timeout', 'task_id', m.task_id, 'step_id', m.id,
                                            'attempt', m.attempt, 'timeout_ms', m.timeout_ms)) as id
        from marked m
    )
    select count(*) into v_count from sent, (select count(*) from removed) r;
    return v_count;
end
$$;

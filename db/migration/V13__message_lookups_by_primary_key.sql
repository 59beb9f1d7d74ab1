-- Messages looked up by id are planned for the ids at hand.
--
-- A session keeps a generic plan of a statement it runs often (PL/pgSQL statements, prepared statements), made for
-- an array of ids of unknown length and for the queue as it was then. For msg_id = any (ids) PostgreSQL weighs one
-- descent of the primary key per id against one walk of the whole (vt, msg_id) index, and a plan made while the queue
-- was small takes the walk and keeps it once the queue holds thousands of messages. In fan-out burn-downs on
-- PostgreSQL 15 (auto_explain, load-tests/RESULTS.md): ordo.complete_steps read 2,530 index pages to lock and delete
-- the messages of 49 steps (4.4 ms, half of its time), and the orchestrator's delete of the 200 messages of a pass
-- read 6,000 (14.8 ms); runs where a session had planned that way were half as fast. Planned for the ids at hand,
-- the statements use the primary key in most runs; with statistics far behind the queue's size the planner can
-- still prefer the walk (seen once: 9.7 ms for 40 ids), which only statistics that follow the queue can cure.
--
-- 1. ordo.complete_steps locks and deletes its messages with statements on the queue's partition, planned at each
--    call for its ids. Its checks, locking order, results, errors and grants are unchanged (CREATE OR REPLACE keeps
--    the grants; it says SECURITY DEFINER again, see V4).
-- 2. The functions that look messages up by id (ordo.delete, which orchestrators now delete their processed messages
--    with, ordo.archive, ordo.set_vt, which extend_steps uses, and ordo.release_steps) plan every statement at each
--    call.

create or replace function ordo.complete_steps(namespace text, results jsonb[])
    returns integer
    language plpgsql security definer set search_path = ordo, pg_temp as
$$
#variable_conflict use_column
declare
    v_queue text := 'ns_' || ordo.validate_namespace_name(namespace);
    v_bad jsonb;
    v_foreign bigint;
    v_sent integer;
    v_now timestamptz;
    v_done bigint[];
begin
    perform ordo.authorize_worker(namespace);
    if results is null then
        raise exception 'results must be an array' using errcode = '22004';
    end if;
    select r into v_bad
    from unnest(results) r
    where jsonb_typeof(r) is distinct from 'object' or jsonb_typeof(r -> 'step_id') is distinct from 'number'
       or jsonb_typeof(r -> 'attempt') is distinct from 'number' or jsonb_typeof(r -> 'msg_id') is distinct from 'number'
       or coalesce(r ->> 'status', '') not in ('succeeded', 'failed')
    limit 1;
    if found then
        raise exception 'each result needs msg_id, step_id, attempt and status succeeded or failed, got %',
            coalesce(left(v_bad::text, 200), 'null') using errcode = '22023';
    end if;
    select s.id into v_foreign
    from unnest(results) r
    join ordo.step s on s.id = (r ->> 'step_id')::bigint
    join ordo.task t on t.id = s.task_id
    where t.namespace <> complete_steps.namespace
    limit 1;
    if found then
        raise exception 'role % may not report a result for step %: it is not a step of namespace %', session_user, v_foreign, namespace
            using errcode = '42501';
    end if;
    -- messages first, then steps: the order read_steps locks them in
    execute format('select 1 from ordo.%I where msg_id = any ($1) order by msg_id for update', 'q_' || v_queue)
        using array(select (r ->> 'msg_id')::bigint from unnest(results) r);
    -- every message but those of a step that was redelivered meanwhile (its new attempt is running)
    v_done := array(
        select (r ->> 'msg_id')::bigint
        from unnest(results) r
        left join ordo.step s on s.id = (r ->> 'step_id')::bigint
        where not coalesce(s.msg_id = (r ->> 'msg_id')::bigint and s.attempt > (r ->> 'attempt')::integer
                           and s.status in ('enqueued', 'in_progress'), false));
    execute format('delete from ordo.%I where msg_id = any ($1)', 'q_' || v_queue) using v_done;
    -- what ordo.send_batch('orchestration', ...) does, without its checks of arguments built right here
    v_now := clock_timestamp(); -- a value, so that the visibility bound is an index condition (see V9)
    if (select q.notify from ordo.queue q where q.queue_name = 'orchestration')
            and not exists (select 1 from ordo.q_orchestration m where m.vt <= v_now) then
        perform pg_notify('ordo_orchestration', '');
    end if;
    insert into ordo.message (queue_name, vt, message)
    select 'orchestration', v_now,
           jsonb_build_object('type', 'step_result') || (r - 'msg_id') || jsonb_build_object('task_id', s.task_id)
    from unnest(results) with ordinality as x(r, o)
    join ordo.step s on s.id = (r ->> 'step_id')::bigint
    order by o;
    get diagnostics v_sent = row_count;
    return v_sent;
end
$$;

alter function ordo.delete(text, bigint[]) set plan_cache_mode = force_custom_plan;
alter function ordo.archive(text, bigint[]) set plan_cache_mode = force_custom_plan;
alter function ordo.set_vt(text, bigint[], double precision) set plan_cache_mode = force_custom_plan;
alter function ordo.release_steps(text, bigint[], integer[]) set plan_cache_mode = force_custom_plan;

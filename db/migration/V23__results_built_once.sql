-- ordo.complete_steps builds its step_result(s) messages with less jsonb work; what it sends is unchanged.
--
-- For each result it built a step_result object (three objects concatenated), collected those in an array, then
-- took the task id back out of each one to group them, and stripped two keys from each again to nest it in a
-- step_results message: every result was copied five times. It now keeps each result's task id beside the result,
-- strips msg_id, type and task_id from the result once, and builds each task's message from the two: with 1,000
-- results of 84 tasks, six calls each, 9.8 ms against 7.0 ms (PostgreSQL 15). A message is as before, except that a
-- step_result's type and task_id are now always the function's own: a result that carried a "type" key replaced
-- the message's type before.
--
-- The settings of V15 are set again (create or replace clears them).

create or replace function ordo.complete_steps(namespace text, results jsonb[])
    returns integer
    language plpgsql security definer set search_path = ordo, pg_temp as
$$
#variable_conflict use_column
declare
    v_queue text := 'ns_' || ordo.validate_namespace_name(namespace);
    v_bad jsonb;
    v_tasks bigint[];
    v_results jsonb[];
    v_done bigint[];
    v_foreign bigint;
    v_now timestamptz;
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
    -- messages first, then steps: the order read_steps locks them in; planned for these ids (V13)
    execute format('select 1 from ordo.%I where msg_id = any ($1) order by msg_id for update', 'q_' || v_queue)
        using array(select (r ->> 'msg_id')::bigint from unnest(results) r);
    -- each result's step, read once the messages are locked: a redelivery that committed meanwhile is seen.
    -- done: every message but those of a step that was redelivered meanwhile (its new attempt is running)
    select array_agg(s.task_id order by x.o) filter (where s.id is not null),
           array_agg(x.r - array['msg_id', 'type', 'task_id'] order by x.o) filter (where s.id is not null),
           array_agg((x.r ->> 'msg_id')::bigint)
               filter (where not coalesce(s.msg_id = (x.r ->> 'msg_id')::bigint and s.attempt > (x.r ->> 'attempt')::integer
                                          and s.status in ('enqueued', 'in_progress'), false)),
           min(s.id) filter (where t.namespace <> complete_steps.namespace)
    into v_tasks, v_results, v_done, v_foreign
    from unnest(results) with ordinality as x(r, o)
    left join ordo.step s on s.id = (x.r ->> 'step_id')::bigint
    left join ordo.task t on t.id = s.task_id;
    if v_foreign is not null then
        raise exception 'role % may not report a result for step %: it is not a step of namespace %', session_user, v_foreign, namespace
            using errcode = '42501';
    end if;
    if v_done is not null then
        execute format('delete from ordo.%I where msg_id = any ($1)', 'q_' || v_queue) using v_done;
    end if;
    if v_results is null then
        return 0;
    end if;
    -- what ordo.send_batch('orchestration', ...) does, without its checks of arguments built right here
    v_now := clock_timestamp(); -- a value, so that the visibility bound is an index condition (see V9)
    if (select q.notify from ordo.queue q where q.queue_name = 'orchestration')
            and not exists (select 1 from ordo.q_orchestration m where m.vt <= v_now) then
        perform pg_notify('ordo_orchestration', '');
    end if;
    -- one message per task: a step_result, or step_results carrying the task's results in the order given
    insert into ordo.message (queue_name, vt, message)
    select 'orchestration', v_now,
           case when count(*) = 1 then jsonb_build_object('type', 'step_result', 'task_id', m.task_id) || (array_agg(m.r))[1]
                else jsonb_build_object('type', 'step_results', 'task_id', m.task_id, 'results', jsonb_agg(m.r order by m.o)) end
    from unnest(v_tasks, v_results) with ordinality as m(task_id, r, o)
    group by m.task_id
    order by min(m.o);
    return cardinality(v_results);
end
$$;


alter function ordo.complete_steps(text, jsonb[])
    set plan_cache_mode = force_generic_plan
    set enable_seqscan = off set enable_hashjoin = off set enable_mergejoin = off set jit = off;

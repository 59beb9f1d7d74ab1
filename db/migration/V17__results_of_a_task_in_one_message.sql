-- ordo.complete_steps sends one orchestration message per task instead of one per result.
--
-- A worker hands back the results of a batch of steps in one call, and the steps of one task that became ready
-- together (the ten middle steps of a fan-out 1 -> 10 -> 1) are mostly read, run and handed back together. Each
-- result was a message of its own: inserted here, locked, read and deleted by a pass, two queue rows written for every
-- step on top of the step's own. The results of one task in one call now travel as one message,
-- {"type": "step_results", "task_id": ..., "results": [...]}, each result as before (step_id, attempt, status,
-- result or error, ...), in the order the worker gave them; a task with a single result still gets a step_result.
-- The orchestrator applies step_results result by result, as if they had come one after the other; each is
-- fenced by its attempt as before. The function still returns how many results it sent.
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
    v_steps jsonb[];
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
    select array_agg(jsonb_build_object('type', 'step_result') || (x.r - 'msg_id') || jsonb_build_object('task_id', s.task_id)
                     order by x.o) filter (where s.id is not null),
           array_agg((x.r ->> 'msg_id')::bigint)
               filter (where not coalesce(s.msg_id = (x.r ->> 'msg_id')::bigint and s.attempt > (x.r ->> 'attempt')::integer
                                          and s.status in ('enqueued', 'in_progress'), false)),
           min(s.id) filter (where t.namespace <> complete_steps.namespace)
    into v_steps, v_done, v_foreign
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
    if v_steps is null then
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
           case when count(*) = 1 then (array_agg(m.message))[1]
                else jsonb_build_object('type', 'step_results', 'task_id', m.message -> 'task_id',
                                        'results', jsonb_agg(m.message - 'type' - 'task_id' order by m.o)) end
    from unnest(v_steps) with ordinality as m(message, o)
    group by m.message -> 'task_id'
    order by min(m.o);
    return cardinality(v_steps);
end
$$;


alter function ordo.complete_steps(text, jsonb[])
    set plan_cache_mode = force_generic_plan
    set enable_seqscan = off set enable_hashjoin = off set enable_mergejoin = off set jit = off;

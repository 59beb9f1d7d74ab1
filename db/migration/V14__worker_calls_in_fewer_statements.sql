-- The worker functions in fewer statements, each step looked up once.
--
-- At half load a worker's call holds a step or two, and what it costs is its statements, not its rows: each one is
-- an executor start, a snapshot and, for the nested PL/pgSQL calls, a function call with its settings. Under load
-- the rows count too, and ordo.read_steps and ordo.complete_steps looked every step up three times.
--
-- ordo.read_steps, same arguments, results, errors, locking order and grants:
--   * claims its messages (ordo.read) and locks their steps in one statement, which also finds what it cannot start;
--   * starts the steps, logs their transitions and returns them in one statement, from the rows the update
--     returns: no second and third lookup of each step;
--   * looks at messages it cannot start (steps finished, superseded, unknown or out of attempts) only when
--     there are some;
--   * reads the results of a step's parents only when it has some.
-- ordo.read_steps does not take ordo.read's settings (enable_seqscan and enable_sort off) for itself: under them the
-- sort of its result by msg_id costs the planner's penalty for a disabled plan node, which lifted the statement past
-- jit_above_cost, and PostgreSQL built with LLVM compiled it at every call (410 ms for 3 steps, seen with auto_explain).
-- ordo.complete_steps reads its steps and tasks once, after locking the messages (as before: a redelivery that
-- committed meanwhile is seen), for the namespace check, the messages to delete and the step_result messages.

-- a read returns a batch, tens of messages, not the thousand rows the planner assumes of a set-returning function;
-- read_steps joins its messages to their steps, which against a thousand rows a large step table would be hashed for
alter function ordo.read(text, double precision, integer) rows 10;

create type ordo.step_claim as (
    msg_id bigint, step_id bigint, old_status text, startable boolean, attempt integer, exhausted boolean, headers jsonb
);

create or replace function ordo.read_steps(namespace text, vt double precision, qty integer)
    returns table (
        msg_id bigint, task_id bigint, step_id bigint, step_name text, handler text, attempt integer,
        max_attempts integer, context jsonb, input jsonb, parent_results jsonb, deadline timestamptz,
        headers jsonb, template_name text, template_version text)
    language plpgsql security definer set search_path = ordo, pg_temp as
$$
#variable_conflict use_column
declare
    v_queue text := 'ns_' || ordo.validate_namespace_name(namespace);
    v_read bigint[];
    v_claims ordo.step_claim[];
    v_startable integer;
    v_drop bigint[];
begin
    perform ordo.authorize_worker(namespace);
    -- the messages, then their steps in id order: the order complete_steps locks them in
    with msgs as materialized (
        select m.msg_id, (m.message ->> 'step_id')::bigint as step_id, m.headers
        from ordo.read(v_queue, read_steps.vt, read_steps.qty) m
    ),
    locked as (
        select s.id, s.status, s.attempt, s.max_attempts, s.msg_id, msgs.msg_id as read_msg, msgs.headers
        from ordo.step s join msgs on msgs.step_id = s.id
        order by s.id
        for update of s
    ),
    claims as (
        select row(l.read_msg, l.id, l.status,
                   l.msg_id = l.read_msg and (l.status = 'enqueued' or (l.status = 'in_progress' and l.attempt < l.max_attempts)),
                   l.attempt,
                   l.msg_id = l.read_msg and l.status = 'in_progress' and l.attempt >= l.max_attempts,
                   l.headers)::ordo.step_claim as c
        from locked l
    )
    select (select array_agg(msgs.msg_id) from msgs),
           (select coalesce(array_agg(claims.c), '{}') from claims),
           (select count(*) from claims where (claims.c).startable)
    into v_read, v_claims, v_startable;
    if v_read is null then
        return;
    end if;

    if v_startable < cardinality(v_read) then
        -- a redelivered message whose step has no attempts left: give up on it through the orchestrator
        if exists (select 1 from unnest(v_claims) c where c.exhausted) then
            perform ordo.send_batch('orchestration',
                array(select jsonb_build_object('type', 'step_result', 'task_id', s.task_id, 'step_id', c.step_id,
                                                'attempt', c.attempt, 'status', 'failed', 'permanent', true,
                                                'error', jsonb_build_object('class', 'WorkerLost',
                                                    'message', format('the step''s message came back %s times without a result: its workers were lost', c.attempt)))
                      from unnest(v_claims) c join ordo.step s on s.id = c.step_id
                      where c.exhausted));
        end if;
        -- drop messages of steps that are finished, cancelled, superseded or unknown
        v_drop := array(select m from unnest(v_read) m
                        where not exists (select 1 from unnest(v_claims) c where c.msg_id = m and c.startable));
        perform ordo.delete(v_queue, v_drop);
    end if;
    if v_startable = 0 then
        return;
    end if;

    return query
        with started as (
            update ordo.step s
            set status = 'in_progress',
                attempt = case when c.old_status = 'in_progress' then c.attempt + 1 else c.attempt end,
                started_at = now(),
                updated_at = now()
            from unnest(v_claims) c
            where s.id = c.step_id and c.startable
            returning c.msg_id, s.task_id, s.id, s.name, s.handler, s.attempt, s.max_attempts, s.input, s.depends_on,
                      s.started_at, s.timeout_ms, c.headers, c.old_status
        ),
        logged as (
            insert into ordo.transition (task_id, step_id, step_name, from_state, to_state, attempt, actor, detail)
            select st.task_id, st.id, st.name, st.old_status, 'in_progress', st.attempt, 'worker:' || session_user,
                   case when st.old_status = 'in_progress' then jsonb_build_object('redelivered', true) end
            from started st
        )
        select st.msg_id, st.task_id, st.id, st.name, st.handler, st.attempt, st.max_attempts, t.context, st.input,
               case when cardinality(st.depends_on) = 0 then '{}'::jsonb
                    else coalesce((select jsonb_object_agg(p.name, p.result) from ordo.step p
                                   where p.task_id = st.task_id and p.name = any (st.depends_on)), '{}') end,
               st.started_at + make_interval(secs => st.timeout_ms / 1000.0),
               st.headers, t.template_name, t.template_version
        from started st
        join ordo.task t on t.id = st.task_id
        order by st.msg_id;
end
$$;

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
    v_sent integer;
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
    insert into ordo.message (queue_name, vt, message)
    select 'orchestration', v_now, m.message
    from unnest(v_steps) with ordinality as m(message, o)
    order by m.o;
    get diagnostics v_sent = row_count;
    return v_sent;
end
$$;

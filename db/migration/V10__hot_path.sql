-- The hot path, made cheaper where the benchmark found the time going (load-tests/RESULTS.md, "Full path").
--
-- 1. ordo.authorize_worker ran on every read and every hand-off, and answered the common case (the caller is a
--    member of the namespace's worker role) only after ordo.caller_is_admin had looked the caller up in pg_roles
--    twice: 0.2 ms of the 2 ms a worker's read of 40 steps cost. The membership test now comes first; it is a
--    catalog-cache lookup. Superusers pass it too (PostgreSQL counts them members of every role), and the
--    administrators' own check is unchanged. Who may do what is unchanged.
-- 2. ordo.task was updated twice per task without a single HOT update: the index task_by_namespace held the
--    status column, so every status change wrote a new entry into all five indexes of the table. The index now
--    holds (namespace, id): listing a namespace's tasks still walks it in id order and filters the status from
--    the row, and status changes stay on the page (the table has fillfactor 80 for them).
-- 3. The worker functions, which ran once per batch on every step's way: ordo.read_steps no longer calls
--    ordo.send_batch with an empty array when no step ran out of attempts, and ordo.complete_steps checks its
--    results in one statement instead of a loop, deletes the step messages and writes the step_result messages
--    itself (as ordo.delete and ordo.send_batch do, notification included) instead of through those functions.
--    Their behaviour, errors and grants are unchanged; CREATE OR REPLACE keeps the grants, and both say SECURITY
--    DEFINER again (see V4).
-- 4. Submission, which cost 1.2 ms of database time per task in its own transaction, four times what orchestrating
--    and running a 1-step task costs: ordo.check_backpressure read its three thresholds through three calls of
--    ordo.backpressure_threshold, an SQL function that PostgreSQL cannot inline (its body holds a subquery), so
--    each call planned its body afresh (0.29 ms in all). It is PL/pgSQL now, whose plan is kept per session, and
--    check_backpressure reads the three in its one query. And ordo.send planned its idle check as a dynamic statement at
--    every call (0.22 ms): ordo.submit_task, which always sends to the orchestration queue, now goes through
--    ordo.send_orchestration, whose statements are planned once per session (ordo.complete_steps above does the
--    same for its batch). Same checks, same errors, same messages.

create or replace function ordo.authorize_worker(ns text) returns void
    language plpgsql stable as
$$
declare
    v_role regrole := to_regrole(ordo.worker_role(ns));
begin
    if v_role is not null and pg_has_role(session_user, v_role::oid, 'MEMBER') then
        return;
    end if;
    if ordo.caller_is_admin() then
        return;
    end if;
    raise exception 'role % may not work namespace %: it must be a member of % (or of ordo_orchestrator)',
        session_user, ns, ordo.worker_role(ns) using errcode = '42501';
end
$$;

drop index ordo.task_by_namespace;
create index task_by_namespace on ordo.task (namespace, id);

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
    v_msgs ordo.message_record[];
    v_rows ordo.read_step_row[];
    v_drop bigint[];
begin
    perform ordo.authorize_worker(namespace);
    select coalesce(array_agg(m), '{}') into v_msgs from ordo.read(v_queue, read_steps.vt, read_steps.qty) m;
    if cardinality(v_msgs) = 0 then
        return;
    end if;

    with msgs as (
        select m.msg_id, (m.message ->> 'step_id')::bigint as step_id
        from unnest(v_msgs) m
    ),
    locked as (
        select s.id, s.status, s.attempt, s.max_attempts, s.msg_id, msgs.msg_id as read_msg
        from ordo.step s join msgs on msgs.step_id = s.id
        order by s.id
        for update of s
    ),
    upd as (
        update ordo.step s
        set status = 'in_progress',
            attempt = case when l.status = 'in_progress' then l.attempt + 1 else l.attempt end,
            started_at = now(),
            updated_at = now()
        from locked l
        where s.id = l.id
          and l.msg_id = l.read_msg
          and l.status in ('enqueued', 'in_progress')
          and (l.status = 'enqueued' or l.attempt < l.max_attempts)
        returning s.id, l.read_msg, l.status as old_status, s.attempt
    )
    select coalesce(array_agg(x), '{}') into v_rows
    from (
        select row(u.read_msg, u.id, u.old_status, 'in_progress', u.attempt, false)::ordo.read_step_row as x from upd u
        union all
        select row(l.read_msg, l.id, l.status, null, l.attempt,
                   l.msg_id = l.read_msg and l.status = 'in_progress' and l.attempt >= l.max_attempts)::ordo.read_step_row
        from locked l
        where not exists (select 1 from upd u where u.id = l.id)
    ) rows;

    -- a redelivered message whose step has no attempts left: give up on it through the orchestrator
    if exists (select 1 from unnest(v_rows) r where r.exhausted) then
        perform ordo.send_batch('orchestration',
            array(select jsonb_build_object('type', 'step_result', 'task_id', s.task_id, 'step_id', r.step_id,
                                            'attempt', r.attempt, 'status', 'failed', 'permanent', true,
                                            'error', jsonb_build_object('class', 'WorkerLost',
                                                'message', format('the step''s message came back %s times without a result: its workers were lost', r.attempt)))
                  from unnest(v_rows) r join ordo.step s on s.id = r.step_id
                  where r.exhausted));
    end if;
    -- drop messages of steps that are finished, cancelled, superseded or unknown
    v_drop := array(select m.msg_id from unnest(v_msgs) m
                    where not exists (select 1 from unnest(v_rows) r where r.msg_id = m.msg_id and r.new_status is not null));
    if cardinality(v_drop) > 0 then
        perform ordo.delete(v_queue, v_drop);
    end if;

    insert into ordo.transition (task_id, step_id, step_name, from_state, to_state, attempt, actor, detail)
    select s.task_id, s.id, s.name, r.old_status, 'in_progress', r.attempt, 'worker:' || session_user,
           case when r.old_status = 'in_progress' then jsonb_build_object('redelivered', true) end
    from unnest(v_rows) r join ordo.step s on s.id = r.step_id
    where r.new_status = 'in_progress';

    return query
        select r.msg_id, s.task_id, s.id, s.name, s.handler, s.attempt, s.max_attempts, t.context, s.input,
               coalesce((select jsonb_object_agg(p.name, p.result) from ordo.step p
                         where p.task_id = s.task_id and p.name = any (s.depends_on)), '{}'),
               s.started_at + make_interval(secs => s.timeout_ms / 1000.0),
               m.headers, t.template_name, t.template_version
        from unnest(v_rows) r
        join ordo.step s on s.id = r.step_id
        join ordo.task t on t.id = s.task_id
        join unnest(v_msgs) m on m.msg_id = r.msg_id
        where r.new_status = 'in_progress'
        order by r.msg_id;
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
    perform 1 from ordo.message m
    where m.queue_name = v_queue and m.msg_id = any (array(select (r ->> 'msg_id')::bigint from unnest(results) r))
    order by m.msg_id
    for update;
    delete from ordo.message m
    where m.queue_name = v_queue
      and m.msg_id = any (array(
          select (r ->> 'msg_id')::bigint
          from unnest(results) r
          left join ordo.step s on s.id = (r ->> 'step_id')::bigint
          where not coalesce(s.msg_id = (r ->> 'msg_id')::bigint and s.attempt > (r ->> 'attempt')::integer
                             and s.status in ('enqueued', 'in_progress'), false)));
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

-- Consumers now re-check a queue 1 ms after it ran dry (IdleWaiter): the description of poll_interval_min says so.
update ordo.config_key
set description = 'wait between polls of an idle queue, doubling up to the max; right after work, consumers re-check from 1 ms'
where pattern = 'queue.poll_interval_min';

-- ordo.send for the orchestration queue, in static SQL: planned once per session, where ordo.send plans its idle check
-- (a statement on the queue's partition) at every call. Notifies first, so that the new message does not count.
create function ordo.send_orchestration(message jsonb, headers jsonb default null, priority integer default 0)
    returns bigint
    language plpgsql as
$$
declare
    v_queue ordo.queue;
    v_now timestamptz := clock_timestamp();
    v_id bigint;
begin
    if message is null then
        raise exception 'message must not be null (queue orchestration)' using errcode = '22004';
    end if;
    select * into v_queue from ordo.queue q where q.queue_name = 'orchestration';
    if v_queue.notify and not exists (select 1 from ordo.q_orchestration m where m.vt <= v_now) then
        perform pg_notify('ordo_orchestration', '');
    end if;
    insert into ordo.message (queue_name, vt, message, headers)
    values ('orchestration', v_now - coalesce(priority, 0) * v_queue.priority_step, message, headers)
    returning msg_id into v_id;
    return v_id;
end
$$;

create or replace function ordo.backpressure_threshold(ns text, setting text) returns bigint
    language plpgsql stable as
$$
begin
    return coalesce((select (c.value #>> '{}')::bigint from ordo.config c where c.key = 'backpressure.' || ns || '.' || setting),
                    ordo.backpressure_default(setting));
end
$$;

create or replace function ordo.check_backpressure(ns text, priority integer) returns void
    language plpgsql stable as
$$
declare
    v_state text;
    v_depth bigint;
    v_critical bigint;
    v_warning bigint;
    v_shed bigint;
begin
    select n.backpressure, q.stats_depth, ordo.backpressure_threshold(ns, 'critical'),
           ordo.backpressure_threshold(ns, 'warning'), ordo.backpressure_threshold(ns, 'shed_below_priority')
    into v_state, v_depth, v_critical, v_warning, v_shed
    from ordo.namespace n join ordo.queue q on q.queue_name = n.queue_name
    where n.name = ns;
    if v_state = 'critical' or v_depth >= v_critical then
        raise exception 'namespace % is saturated: its queue holds % steps, at or above the critical threshold % (backpressure.%.critical); retry later',
            ns, v_depth, v_critical, ns using errcode = 'OR429';
    end if;
    if (v_state = 'warning' or v_depth >= v_warning) and priority < v_shed then
        raise exception 'namespace % is above its warning threshold % with % queued steps: tasks below priority % are shed; retry later',
            ns, v_warning, v_depth, v_shed using errcode = 'OR429';
    end if;
end
$$;

create or replace function ordo.submit_task(namespace text, name text, version text default null, context jsonb default '{}',
                                 options jsonb default '{}')
    returns bigint
    language plpgsql security definer set search_path = ordo, pg_temp as
$$
#variable_conflict use_column
declare
    v_template ordo.task_template;
    v_options jsonb := coalesce(options, '{}');
    v_key text;
    v_priority integer;
    v_correlation text;
    v_trace jsonb;
    v_task_id bigint;
    v_steps integer;
    v_size integer;
begin
    perform ordo.validate_namespace_name(namespace);
    if not exists (select 1 from ordo.namespace n where n.name = submit_task.namespace) then
        raise exception 'unknown namespace %', quote_literal(namespace) using errcode = 'OR404';
    end if;
    if name is null or name !~ '^[a-z][a-z0-9_]{0,63}$' then
        raise exception 'invalid template name %: it must match ^[a-z][a-z0-9_]{0,63}$', coalesce(quote_literal(name), 'NULL')
            using errcode = '22023';
    end if;
    if version is null then
        select * into v_template from ordo.task_template t
        where t.namespace = submit_task.namespace and t.name = submit_task.name
        order by t.version_key desc limit 1;
        if not found then
            raise exception 'unknown template %/%', namespace, name using errcode = 'OR404';
        end if;
    else
        select * into v_template from ordo.task_template t
        where t.namespace = submit_task.namespace and t.name = submit_task.name and t.version = submit_task.version;
        if not found then
            if exists (select 1 from ordo.task_template t where t.namespace = submit_task.namespace and t.name = submit_task.name) then
                raise exception 'unknown version % of template %/%', quote_literal(version), namespace, name using errcode = 'OR404';
            end if;
            raise exception 'unknown template %/%', namespace, name using errcode = 'OR404';
        end if;
    end if;

    if context is null or jsonb_typeof(context) <> 'object' then
        raise exception 'context must be a JSON object, got %', coalesce(jsonb_typeof(context), 'null') using errcode = '22023';
    end if;
    v_size := octet_length(context::text);
    if v_size > ordo.max_context_bytes() then
        raise exception 'context is % bytes, more than the limit of % bytes', v_size, ordo.max_context_bytes() using errcode = '22023';
    end if;
    if jsonb_typeof(v_options) <> 'object' then
        raise exception 'options must be a JSON object' using errcode = '22023';
    end if;
    perform ordo.refuse_unknown_keys(v_options, array['idempotency_key', 'priority', 'correlation_id', 'trace_context'], 'options');
    if v_options ? 'idempotency_key' and jsonb_typeof(v_options -> 'idempotency_key') <> 'string' then
        raise exception 'options.idempotency_key must be a string' using errcode = '22023';
    end if;
    v_key := v_options ->> 'idempotency_key';
    if length(v_key) > 200 or v_key = '' then
        raise exception 'options.idempotency_key must be 1 to 200 characters' using errcode = '22023';
    end if;
    if v_options ? 'priority' and (jsonb_typeof(v_options -> 'priority') <> 'number'
            or (v_options ->> 'priority')::numeric not between -100 and 100
            or (v_options ->> 'priority')::numeric <> trunc((v_options ->> 'priority')::numeric)) then
        raise exception 'options.priority must be a whole number between -100 and 100' using errcode = '22023';
    end if;
    v_priority := coalesce((v_options ->> 'priority')::integer, 0);
    if v_options ? 'correlation_id' and (jsonb_typeof(v_options -> 'correlation_id') <> 'string'
            or length(v_options ->> 'correlation_id') > 200) then
        raise exception 'options.correlation_id must be a string of at most 200 characters' using errcode = '22023';
    end if;
    v_correlation := v_options ->> 'correlation_id';
    if v_options ? 'trace_context' and jsonb_typeof(v_options -> 'trace_context') <> 'object' then
        raise exception 'options.trace_context must be an object such as {"traceparent": "..."}' using errcode = '22023';
    end if;
    v_trace := v_options -> 'trace_context';

    if v_key is not null then
        select t.id into v_task_id from ordo.task t where t.namespace = submit_task.namespace and t.idempotency_key = v_key;
        if found then
            return v_task_id;
        end if;
    end if;

    perform ordo.check_backpressure(namespace, v_priority);

    select count(*) into v_steps from ordo.template_step s
    where s.namespace = v_template.namespace and s.template_name = v_template.name and s.template_version = v_template.version;

    insert into ordo.task (namespace, template_name, template_version, context, priority, idempotency_key, correlation_id,
                           trace_context, steps_total)
    values (submit_task.namespace, v_template.name, v_template.version, submit_task.context, v_priority, v_key, v_correlation,
            v_trace, v_steps)
    on conflict on constraint task_idempotency do nothing
    returning id into v_task_id;
    if v_task_id is null then
        -- a concurrent submission with the same key committed first
        select t.id into v_task_id from ordo.task t where t.namespace = submit_task.namespace and t.idempotency_key = v_key;
        return v_task_id;
    end if;

    with inserted as (
        insert into ordo.step (task_id, name, position, handler, depends_on, pending_deps, max_attempts, backoff_initial_ms,
                               backoff_multiplier, backoff_max_ms, backoff_jitter, timeout_ms)
        select v_task_id, s.step_name, s.position, s.handler, s.depends_on, cardinality(s.depends_on), s.max_attempts,
               s.backoff_initial_ms, s.backoff_multiplier, s.backoff_max_ms, s.backoff_jitter, s.timeout_ms
        from ordo.template_step s
        where s.namespace = v_template.namespace and s.template_name = v_template.name and s.template_version = v_template.version
        order by s.position
        returning step.id, step.name
    )
    insert into ordo.transition (task_id, step_id, step_name, from_state, to_state, attempt, actor, detail)
    select v_task_id, null, null, null, 'pending', null, 'submit:' || session_user,
           jsonb_build_object('template', v_template.name, 'version', v_template.version)
    union all
    select v_task_id, i.id, i.name, null, 'pending', 0, 'submit:' || session_user, null
    from inserted i;

    perform ordo.send_orchestration(jsonb_build_object('type', 'task_requested', 'task_id', v_task_id),
                                    case when v_trace is null then null else jsonb_build_object('trace_context', v_trace) end,
                                    v_priority);
    return v_task_id;
end
$$;

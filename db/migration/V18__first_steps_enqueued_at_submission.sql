-- ordo.submit_task enqueues the task's first steps itself, in the submitting transaction.
--
-- A submission sent a task_requested message to the orchestration queue, and an orchestration pass then set the
-- task in progress and enqueued its steps without dependencies: one more hop on the way to the first step (a
-- pass's wake-up, its transaction and the notification of the namespace queue), and for each task an orchestration
-- message inserted, locked and deleted, the task row written twice and each first step twice. The pass decides
-- nothing there: steps without dependencies are ready at submission, and a submission that passes
-- ordo.check_backpressure finds its namespace below critical, the only condition under which a pass holds
-- steps back (OrchestrationPass.advance). So the submission now inserts the task in progress, its first steps
-- enqueued (attempt 1) with their messages on the namespace's queue, and writes to the transition log every
-- change a pass would have written (task pending -> in_progress, step pending -> enqueued), with the submitter as
-- actor. The step messages are those a pass sends ({"task_id", "step_id", "attempt", "handler", "step"}, the
-- task's trace context in the headers, the priority's head start on the visibility time), and the namespace's
-- consumers are notified if its queue was idle. Orchestrators take over from the first result, as before.
--
-- A task submitted without a trace context gets a new trace at submission (it got its first pass's), so that its
-- first steps' spans belong to the same trace as the rest of the task. No span is recorded for the submission
-- itself: the trace's top spans name a parent span id that no exported span has.
--
-- Orchestrators still apply task_requested messages: those sent before this migration, and any sent by hand.
-- The step and message ids are drawn first, so that each step is inserted once, already holding its message's id.

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
    v_queue ordo.queue;
    v_now timestamptz;
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
    if v_trace is null then
        -- the first steps' spans and every pass's belong to the task's trace: a task submitted without one gets a new
        -- trace here (W3C traceparent, sampled), as it got from its first pass before
        v_trace := jsonb_build_object('traceparent', '00-' || replace(gen_random_uuid()::text, '-', '') || '-'
                                                     || left(replace(gen_random_uuid()::text, '-', ''), 16) || '-01');
    end if;

    if v_key is not null then
        select t.id into v_task_id from ordo.task t where t.namespace = submit_task.namespace and t.idempotency_key = v_key;
        if found then
            return v_task_id;
        end if;
    end if;

    perform ordo.check_backpressure(namespace, v_priority);

    select count(*) into v_steps from ordo.template_step s
    where s.namespace = v_template.namespace and s.template_name = v_template.name and s.template_version = v_template.version;

    select q.* into v_queue from ordo.namespace n join ordo.queue q on q.queue_name = n.queue_name
    where n.name = submit_task.namespace;
    if not found then
        raise exception 'namespace % has no queue', quote_literal(namespace) using errcode = '42704';
    end if;

    insert into ordo.task (namespace, template_name, template_version, context, priority, idempotency_key, correlation_id,
                           trace_context, steps_total, status)
    values (submit_task.namespace, v_template.name, v_template.version, submit_task.context, v_priority, v_key, v_correlation,
            v_trace, v_steps, 'in_progress')
    on conflict on constraint task_idempotency do nothing
    returning id into v_task_id;
    if v_task_id is null then
        -- a concurrent submission with the same key committed first
        select t.id into v_task_id from ordo.task t where t.namespace = submit_task.namespace and t.idempotency_key = v_key;
        return v_task_id;
    end if;

    if v_queue.notify then
        perform ordo.notify_if_idle(v_queue.queue_name);
    end if;
    v_now := clock_timestamp();
    with planned as materialized (
        select s.*, nextval('ordo.step_id_seq') as step_id,
               case when cardinality(s.depends_on) = 0 then nextval('ordo.msg_id_seq') end as msg_id
        from ordo.template_step s
        where s.namespace = v_template.namespace and s.template_name = v_template.name and s.template_version = v_template.version
        order by s.position
    ),
    sent as (
        insert into ordo.message (msg_id, queue_name, vt, message, headers)
        select p.msg_id, v_queue.queue_name, v_now - v_priority * v_queue.priority_step,
               jsonb_build_object('task_id', v_task_id, 'step_id', p.step_id, 'attempt', 1, 'handler', p.handler,
                                  'step', p.step_name),
               case when v_trace is null then null else jsonb_build_object('trace_context', v_trace) end
        from planned p
        where p.msg_id is not null
        order by p.step_id
    ),
    inserted as (
        insert into ordo.step (id, task_id, name, position, handler, depends_on, pending_deps, max_attempts, backoff_initial_ms,
                               backoff_multiplier, backoff_max_ms, backoff_jitter, timeout_ms, status, attempt, msg_id, enqueued_at)
        overriding system value
        select p.step_id, v_task_id, p.step_name, p.position, p.handler, p.depends_on, cardinality(p.depends_on), p.max_attempts,
               p.backoff_initial_ms, p.backoff_multiplier, p.backoff_max_ms, p.backoff_jitter, p.timeout_ms,
               case when p.msg_id is null then 'pending' else 'enqueued' end, case when p.msg_id is null then 0 else 1 end,
               p.msg_id, case when p.msg_id is null then null else now() end
        from planned p
        order by p.step_id
    )
    insert into ordo.transition (task_id, step_id, step_name, from_state, to_state, attempt, actor, detail)
    select x.task_id, x.step_id, x.step_name, x.from_state, x.to_state, x.attempt, 'submit:' || session_user, x.detail
    from (
        select v_task_id as task_id, null::bigint as step_id, null::text as step_name, null::text as from_state,
               'pending' as to_state, null::integer as attempt,
               jsonb_build_object('template', v_template.name, 'version', v_template.version) as detail, 0 as stage
        union all
        select v_task_id, null, null, 'pending', 'in_progress', null, null, 1
        union all
        select v_task_id, p.step_id, p.step_name, null, 'pending', 0, null, 0
        from planned p
        union all
        select v_task_id, p.step_id, p.step_name, 'pending', 'enqueued', 1, null, 2
        from planned p
        where p.msg_id is not null
    ) x
    order by x.stage, x.step_id nulls first;
    return v_task_id;
end
$$;

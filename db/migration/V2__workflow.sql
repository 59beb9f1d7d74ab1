-- Ordo workflow engine: namespaces, task templates, tasks, steps, the transition log, dead letters,
-- and the SQL API for submission (ordo.submit_task) and for workers (ordo.read_steps, ordo.complete_steps).
--
-- SQLSTATEs raised here (mapped to exceptions by io.ordo.db.SqlErrors):
--   22023  invalid input (names the field and the problem)
--   OR404  unknown namespace, template, version or task
--   OR409  template version already registered with a different body
--   OR429  backpressure: the namespace is saturated, retry later

create table ordo.namespace (
    name        text primary key,
    queue_name  text        not null unique references ordo.queue (queue_name),
    created_at  timestamptz not null default now(),
    constraint namespace_name_valid check (name ~ '^[a-z][a-z0-9_]{0,39}$')
);

create function ordo.validate_namespace_name(ns text) returns text
    language plpgsql immutable as
$$
begin
    if ns is null or ns !~ '^[a-z][a-z0-9_]{0,39}$' then
        raise exception 'invalid namespace name %: it must match ^[a-z][a-z0-9_]{0,39}$', coalesce(quote_literal(ns), 'NULL')
            using errcode = '22023';
    end if;
    return ns;
end
$$;

-- The worker role of a namespace: ordo_worker_<namespace>.
create function ordo.worker_role(ns text) returns text
    language sql immutable as
$$ select 'ordo_worker_' || ordo.validate_namespace_name(ns) $$;

-- Whether the caller is an administrator of Ordo: a superuser or a member of ordo_orchestrator.
--
-- The caller is session_user, not current_user: inside a SECURITY DEFINER function current_user is the function's
-- owner, so it says nothing about who called. session_user is the role the connection logged in as (SET ROLE does
-- not change it), which is the role that is granted membership. A pooler that logs every client in as one role
-- therefore gives them all that role's rights.
create function ordo.caller_is_admin() returns boolean
    language sql stable as
$$
    select exists (select 1 from pg_roles r where r.rolname = session_user and r.rolsuper)
        or case when exists (select 1 from pg_roles r where r.rolname = 'ordo_orchestrator')
                then pg_has_role(session_user, 'ordo_orchestrator', 'MEMBER') else false end
$$;

-- Raises 42501 (insufficient_privilege) unless the caller may work the namespace: its login role (session_user,
-- see ordo.caller_is_admin) is a member of ordo_worker_<namespace>, or an administrator.
create function ordo.authorize_worker(ns text) returns void
    language plpgsql stable as
$$
declare
    v_role text := ordo.worker_role(ns);
begin
    if ordo.caller_is_admin() then
        return;
    end if;
    if exists (select 1 from pg_roles r where r.rolname = v_role) and pg_has_role(session_user, v_role, 'MEMBER') then
        return;
    end if;
    raise exception 'role % may not work namespace %: it must be a member of % (or of ordo_orchestrator)',
        session_user, ns, v_role using errcode = '42501';
end
$$;

-- Creates the namespace and its queue ns_<namespace>; does nothing if it exists. Returns the queue name.
create function ordo.create_namespace(ns text) returns text
    language plpgsql as
$$
declare
    v_queue text := 'ns_' || ordo.validate_namespace_name(ns);
begin
    if not exists (select 1 from ordo.namespace n where n.name = ns) then
        perform ordo.create_queue(v_queue);
        insert into ordo.namespace (name, queue_name) values (ns, v_queue) on conflict do nothing;
    end if;
    return v_queue;
end
$$;

-- The orchestration queue: task_requested, step_result, retry_due and step_timeout messages.
select ordo.create_queue('orchestration');

-- Parses a duration: a number of milliseconds, or a string like '250ms', '30s', '5m', '1h'.
create function ordo.parse_duration_ms(value jsonb, field text) returns bigint
    language plpgsql immutable as
$$
declare
    v_text text;
    v_match text[];
begin
    if jsonb_typeof(value) = 'number' then
        if value::numeric <> trunc(value::numeric) then
            raise exception '%: must be a whole number of milliseconds, got %', field, value using errcode = '22023';
        end if;
        return value::bigint;
    elsif jsonb_typeof(value) = 'string' then
        v_text := value #>> '{}';
        v_match := regexp_match(v_text, '^([0-9]{1,9})(ms|s|m|h)$');
        if v_match is null then
            raise exception '%: must be a duration like 500ms, 30s, 5m or 1h, got %', field, quote_literal(v_text)
                using errcode = '22023';
        end if;
        return v_match[1]::bigint * case v_match[2] when 'ms' then 1 when 's' then 1000 when 'm' then 60000 else 3600000 end;
    end if;
    raise exception '%: must be a duration (number of ms or a string like 30s), got %', field, coalesce(jsonb_typeof(value), 'null')
        using errcode = '22023';
end
$$;

create function ordo.refuse_unknown_keys(obj jsonb, allowed text[], field text) returns void
    language plpgsql immutable as
$$
declare
    v_unknown text;
begin
    select string_agg(quote_literal(k), ', ' order by k) into v_unknown
    from jsonb_object_keys(obj) k
    where k <> all (allowed);
    if v_unknown is not null then
        raise exception '%: unknown field(s) %; allowed: %', field, v_unknown, array_to_string(allowed, ', ')
            using errcode = '22023';
    end if;
end
$$;

create table ordo.task_template (
    namespace    text        not null references ordo.namespace (name),
    name         text        not null,
    version      text        not null,
    version_key  integer[]   not null,
    description  text,
    definition   jsonb       not null,
    created_at   timestamptz not null default now(),
    primary key (namespace, name, version),
    constraint template_name_valid check (name ~ '^[a-z][a-z0-9_]{0,63}$'),
    constraint template_version_valid check (version ~ '^[0-9]{1,9}(\.[0-9]{1,9}){0,2}$')
);
create index task_template_latest on ordo.task_template (namespace, name, version_key desc);

create table ordo.template_step (
    namespace          text             not null,
    template_name      text             not null,
    template_version   text             not null,
    step_name          text             not null,
    position           integer          not null,
    handler            text             not null,
    depends_on         text[]           not null,
    max_attempts       integer          not null,
    backoff_initial_ms bigint           not null,
    backoff_multiplier double precision not null,
    backoff_max_ms     bigint           not null,
    backoff_jitter     boolean          not null,
    timeout_ms         bigint           not null,
    primary key (namespace, template_name, template_version, step_name),
    foreign key (namespace, template_name, template_version) references ordo.task_template (namespace, name, version)
);

-- Validates a template definition and returns it normalized (defaults filled in, steps in order).
-- Raises 22023 naming the step and the problem.
create function ordo.normalize_template(definition jsonb) returns jsonb
    language plpgsql immutable as
$$
declare
    v_steps jsonb;
    v_step jsonb;
    v_retry jsonb;
    v_backoff jsonb;
    v_name text;
    v_dep text;
    v_names text[] := '{}';
    v_out jsonb := '[]';
    v_norm jsonb;
    v_max_attempts integer;
    v_initial bigint;
    v_multiplier double precision;
    v_max bigint;
    v_timeout bigint;
    v_deps text[];
    v_ready text[];
    v_done text[] := '{}';
    v_remaining jsonb;
    v_progress boolean;
    v_field text;
begin
    if definition is null or jsonb_typeof(definition) <> 'object' then
        raise exception 'template: must be a JSON object' using errcode = '22023';
    end if;
    perform ordo.refuse_unknown_keys(definition, array['namespace', 'name', 'version', 'description', 'steps'], 'template');
    perform ordo.validate_namespace_name(definition ->> 'namespace');
    if coalesce(definition ->> 'name', '') !~ '^[a-z][a-z0-9_]{0,63}$' then
        raise exception 'template name %: must match ^[a-z][a-z0-9_]{0,63}$', coalesce(quote_literal(definition ->> 'name'), 'missing')
            using errcode = '22023';
    end if;
    if jsonb_typeof(definition -> 'version') = 'number' then
        definition := jsonb_set(definition, '{version}', to_jsonb(definition ->> 'version'));
    end if;
    if coalesce(definition ->> 'version', '') !~ '^[0-9]{1,9}(\.[0-9]{1,9}){0,2}$' then
        raise exception 'template version %: must look like 1, 1.2 or 1.2.3', coalesce(quote_literal(definition ->> 'version'), 'missing')
            using errcode = '22023';
    end if;
    if definition ? 'description' and jsonb_typeof(definition -> 'description') not in ('string', 'null') then
        raise exception 'template description: must be a string' using errcode = '22023';
    end if;
    v_steps := definition -> 'steps';
    if v_steps is null or jsonb_typeof(v_steps) <> 'array' or jsonb_array_length(v_steps) = 0 then
        raise exception 'template %: steps must be a non-empty array (an empty DAG has nothing to run)', definition ->> 'name'
            using errcode = '22023';
    end if;
    if jsonb_array_length(v_steps) > 1000 then
        raise exception 'template %: at most 1000 steps, got %', definition ->> 'name', jsonb_array_length(v_steps)
            using errcode = '22023';
    end if;

    for v_step in select value from jsonb_array_elements(v_steps) loop
        if jsonb_typeof(v_step) <> 'object' then
            raise exception 'step: each step must be a JSON object, got %', jsonb_typeof(v_step) using errcode = '22023';
        end if;
        v_name := v_step ->> 'name';
        if coalesce(v_name, '') !~ '^[a-z][a-z0-9_]{0,63}$' then
            raise exception 'step %: name must match ^[a-z][a-z0-9_]{0,63}$', coalesce(quote_literal(v_name), 'without a name')
                using errcode = '22023';
        end if;
        v_field := 'step ' || v_name;
        perform ordo.refuse_unknown_keys(v_step, array['name', 'handler', 'depends_on', 'retry', 'timeout', 'description'], v_field);
        if v_name = any (v_names) then
            raise exception 'step %: duplicate step name', v_name using errcode = '22023';
        end if;
        v_names := v_names || v_name;
        if coalesce(v_step ->> 'handler', v_name) !~ '^[A-Za-z][A-Za-z0-9_.:-]{0,199}$' then
            raise exception 'step %: handler % must match ^[A-Za-z][A-Za-z0-9_.:-]{0,199}$', v_name, quote_literal(v_step ->> 'handler')
                using errcode = '22023';
        end if;
        if v_step ? 'depends_on' and jsonb_typeof(v_step -> 'depends_on') <> 'array' then
            raise exception 'step %: depends_on must be an array of step names', v_name using errcode = '22023';
        end if;
        select coalesce(array_agg(d order by o), '{}') into v_deps
        from jsonb_array_elements_text(coalesce(v_step -> 'depends_on', '[]')) with ordinality as x(d, o);
        if cardinality(v_deps) <> (select count(distinct d) from unnest(v_deps) d) then
            raise exception 'step %: depends_on lists a step twice', v_name using errcode = '22023';
        end if;

        v_retry := coalesce(v_step -> 'retry', '{}');
        if jsonb_typeof(v_retry) <> 'object' then
            raise exception 'step %: retry must be an object', v_name using errcode = '22023';
        end if;
        perform ordo.refuse_unknown_keys(v_retry, array['max_attempts', 'backoff'], v_field || ' retry');
        if v_retry ? 'max_attempts' and (jsonb_typeof(v_retry -> 'max_attempts') <> 'number'
                or (v_retry ->> 'max_attempts')::numeric <> trunc((v_retry ->> 'max_attempts')::numeric)) then
            raise exception 'step %: retry.max_attempts must be a whole number', v_name using errcode = '22023';
        end if;
        v_max_attempts := coalesce((v_retry ->> 'max_attempts')::numeric, 3);
        if v_max_attempts < 1 or v_max_attempts > 100 then
            raise exception 'step %: retry.max_attempts must be between 1 and 100, got %', v_name, v_max_attempts using errcode = '22023';
        end if;
        v_backoff := coalesce(v_retry -> 'backoff', '{}');
        if jsonb_typeof(v_backoff) <> 'object' then
            raise exception 'step %: retry.backoff must be an object', v_name using errcode = '22023';
        end if;
        perform ordo.refuse_unknown_keys(v_backoff, array['initial', 'multiplier', 'max', 'jitter'], v_field || ' retry.backoff');
        v_initial := ordo.parse_duration_ms(coalesce(v_backoff -> 'initial', '"1s"'), 'step ' || v_name || ': retry.backoff.initial');
        v_max := ordo.parse_duration_ms(coalesce(v_backoff -> 'max', '"5m"'), 'step ' || v_name || ': retry.backoff.max');
        if jsonb_typeof(coalesce(v_backoff -> 'multiplier', '2')) <> 'number' then
            raise exception 'step %: retry.backoff.multiplier must be a number', v_name using errcode = '22023';
        end if;
        v_multiplier := coalesce((v_backoff ->> 'multiplier')::double precision, 2);
        if v_initial <= 0 then
            raise exception 'step %: retry.backoff.initial must be positive', v_name using errcode = '22023';
        end if;
        if v_multiplier < 1 or v_multiplier > 100 then
            raise exception 'step %: retry.backoff.multiplier must be between 1 and 100, got %', v_name, v_multiplier using errcode = '22023';
        end if;
        if v_max < v_initial then
            raise exception 'step %: retry.backoff.max must be at least retry.backoff.initial', v_name using errcode = '22023';
        end if;
        if jsonb_typeof(coalesce(v_backoff -> 'jitter', 'true')) <> 'boolean' then
            raise exception 'step %: retry.backoff.jitter must be true (full jitter) or false', v_name using errcode = '22023';
        end if;
        v_timeout := ordo.parse_duration_ms(coalesce(v_step -> 'timeout', '"5m"'), 'step ' || v_name || ': timeout');
        if v_timeout <= 0 then
            raise exception 'step %: timeout must be positive, got % ms', v_name, v_timeout using errcode = '22023';
        end if;

        v_norm := jsonb_build_object(
            'name', v_name,
            'handler', coalesce(v_step ->> 'handler', v_name),
            'depends_on', to_jsonb(v_deps),
            'retry', jsonb_build_object('max_attempts', v_max_attempts,
                                        'backoff', jsonb_build_object('initial_ms', v_initial, 'multiplier', v_multiplier,
                                                                      'max_ms', v_max,
                                                                      'jitter', coalesce((v_backoff ->> 'jitter')::boolean, true))),
            'timeout_ms', v_timeout);
        if v_step ? 'description' then
            v_norm := v_norm || jsonb_build_object('description', v_step -> 'description');
        end if;
        v_out := v_out || jsonb_build_array(v_norm);
    end loop;

    -- every dependency must name a step of this template, and not the step itself
    for v_step in select value from jsonb_array_elements(v_out) loop
        for v_dep in select jsonb_array_elements_text(v_step -> 'depends_on') loop
            if v_dep = v_step ->> 'name' then
                raise exception 'step %: depends on itself (a cycle)', v_step ->> 'name' using errcode = '22023';
            end if;
            if not v_dep = any (v_names) then
                raise exception 'step %: depends on unknown step %', v_step ->> 'name', quote_literal(v_dep) using errcode = '22023';
            end if;
        end loop;
    end loop;

    -- Kahn's algorithm: whatever cannot be ordered is on a cycle
    v_remaining := v_out;
    loop
        select coalesce(array_agg(s ->> 'name'), '{}') into v_ready
        from jsonb_array_elements(v_remaining) s
        where not exists (select 1 from jsonb_array_elements_text(s -> 'depends_on') d where not d = any (v_done));
        v_progress := cardinality(v_ready) > 0;
        v_done := v_done || v_ready;
        select coalesce(jsonb_agg(s), '[]') into v_remaining
        from jsonb_array_elements(v_remaining) s
        where not (s ->> 'name') = any (v_ready);
        exit when jsonb_array_length(v_remaining) = 0 or not v_progress;
    end loop;
    if jsonb_array_length(v_remaining) > 0 then
        raise exception 'template %: dependency cycle among steps %', definition ->> 'name',
            (select string_agg(s ->> 'name', ', ' order by s ->> 'name') from jsonb_array_elements(v_remaining) s)
            using errcode = '22023';
    end if;

    return jsonb_build_object('namespace', definition ->> 'namespace', 'name', definition ->> 'name',
                              'version', definition ->> 'version', 'description', definition -> 'description',
                              'steps', v_out);
end
$$;

-- Registers a template (creating its namespace if needed). Registering the same version again with the
-- same body is a no-op; with a different body it is refused (OR409): a new version is how templates change.
-- Returns {"namespace", "name", "version", "created"}.
create function ordo.register_template(definition jsonb) returns jsonb
    language plpgsql as
$$
declare
    v_def jsonb := ordo.normalize_template(definition);
    v_existing jsonb;
    v_ns text := v_def ->> 'namespace';
    v_name text := v_def ->> 'name';
    v_version text := v_def ->> 'version';
begin
    perform ordo.create_namespace(v_ns);
    -- serialize registrations of one template so the conflict check below cannot race
    perform pg_advisory_xact_lock(hashtext('ordo.template:' || v_ns || '/' || v_name));
    select t.definition into v_existing
    from ordo.task_template t
    where t.namespace = v_ns and t.name = v_name and t.version = v_version;
    if found then
        if v_existing = v_def then
            return jsonb_build_object('namespace', v_ns, 'name', v_name, 'version', v_version, 'created', false);
        end if;
        raise exception 'template %/% version % is already registered with a different body; register a new version instead',
            v_ns, v_name, v_version using errcode = 'OR409';
    end if;
    insert into ordo.task_template (namespace, name, version, version_key, description, definition)
    values (v_ns, v_name, v_version, string_to_array(v_version, '.')::integer[], v_def ->> 'description', v_def);
    insert into ordo.template_step (namespace, template_name, template_version, step_name, position, handler, depends_on,
                                    max_attempts, backoff_initial_ms, backoff_multiplier, backoff_max_ms, backoff_jitter, timeout_ms)
    select v_ns, v_name, v_version, s ->> 'name', o::integer, s ->> 'handler',
           array(select jsonb_array_elements_text(s -> 'depends_on')),
           (s #>> '{retry,max_attempts}')::integer, (s #>> '{retry,backoff,initial_ms}')::bigint,
           (s #>> '{retry,backoff,multiplier}')::double precision, (s #>> '{retry,backoff,max_ms}')::bigint,
           (s #>> '{retry,backoff,jitter}')::boolean, (s ->> 'timeout_ms')::bigint
    from jsonb_array_elements(v_def -> 'steps') with ordinality as x(s, o);
    return jsonb_build_object('namespace', v_ns, 'name', v_name, 'version', v_version, 'created', true);
end
$$;

create table ordo.task (
    id               bigint generated always as identity primary key,
    namespace        text        not null references ordo.namespace (name),
    template_name    text        not null,
    template_version text        not null,
    status           text        not null default 'pending',
    context          jsonb       not null,
    priority         integer     not null default 0,
    idempotency_key  text,
    correlation_id   text,
    trace_context    jsonb,
    steps_total      integer     not null,
    steps_complete   integer     not null default 0,
    error            jsonb,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    completed_at     timestamptz,
    -- the lease of the orchestrator working on the task: owner node, fencing token, expiry
    lease_owner      text,
    lease_token      bigint,
    lease_expires_at timestamptz,
    constraint task_status_valid check (status in ('pending', 'in_progress', 'complete', 'failed', 'cancelled')),
    constraint task_idempotency unique (namespace, idempotency_key)
) with (fillfactor = 80);
create index task_by_namespace on ordo.task (namespace, status, id);
create index task_leased on ordo.task (lease_owner) where lease_owner is not null;
create index task_by_correlation on ordo.task (correlation_id) where correlation_id is not null;

create sequence ordo.lease_token_seq as bigint;

create table ordo.step (
    id                 bigint generated always as identity primary key,
    task_id            bigint           not null references ordo.task (id) on delete cascade,
    name               text             not null,
    position           integer          not null,
    handler            text             not null,
    depends_on         text[]           not null,
    pending_deps       integer          not null,
    status             text             not null default 'pending',
    attempt            integer          not null default 0,
    max_attempts       integer          not null,
    backoff_initial_ms bigint           not null,
    backoff_multiplier double precision not null,
    backoff_max_ms     bigint           not null,
    backoff_jitter     boolean          not null,
    timeout_ms         bigint           not null,
    input              jsonb,
    result             jsonb,
    last_error         jsonb,
    errors             jsonb            not null default '[]',
    msg_id             bigint,
    next_attempt_at    timestamptz,
    timeout_signalled  integer,
    enqueued_at        timestamptz,
    started_at         timestamptz,
    completed_at       timestamptz,
    updated_at         timestamptz      not null default now(),
    constraint step_status_valid check (status in ('pending', 'enqueued', 'in_progress', 'waiting_retry', 'complete', 'failed', 'cancelled')),
    constraint step_name_unique unique (task_id, name)
) with (fillfactor = 80);
create index step_running on ordo.step (started_at) where status = 'in_progress';
create index step_waiting_retry on ordo.step (next_attempt_at) where status = 'waiting_retry';

-- The append-only log of every state change, partitioned by day. seq is global and gap-tolerant.
create table ordo.transition (
    seq         bigint generated always as identity,
    task_id     bigint      not null,
    step_id     bigint,
    step_name   text,
    from_state  text,
    to_state    text        not null,
    attempt     integer,
    actor       text        not null,
    at          timestamptz not null default now(),
    detail      jsonb
) partition by range (at);
create index transition_by_task on ordo.transition (task_id, seq);
-- rows land here only if the leader failed to create the day's partition in time
create table ordo.transition_default partition of ordo.transition default;

create function ordo.ensure_transition_partitions(days_ahead integer default 7,
                                                  from_day date default (now() at time zone 'utc')::date)
    returns integer
    language sql as
$$ select ordo.ensure_daily_partitions('transition', days_ahead, from_day) $$;

create function ordo.drop_transitions_before(ts timestamptz)
    returns setof text
    language sql as
$$ select ordo.drop_daily_partitions_before('transition', ts) $$;

select ordo.ensure_transition_partitions(7, (now() at time zone 'utc')::date - 1);

create table ordo.dead_letter (
    id               bigint generated always as identity primary key,
    namespace        text        not null,
    task_id          bigint,
    step_id          bigint,
    template_name    text,
    template_version text,
    step_name        text,
    handler          text,
    reason           text        not null,
    error_class      text,
    message          jsonb,
    last_error       jsonb,
    attempts         jsonb       not null default '[]',
    first_failed_at  timestamptz,
    dead_lettered_at timestamptz not null default now(),
    status           text        not null default 'open',
    resolved_by      text,
    resolved_reason  text,
    resolved_at      timestamptz,
    constraint dead_letter_status_valid check (status in ('open', 'requeued', 'discarded'))
);
create index dead_letter_open on ordo.dead_letter (namespace, dead_lettered_at) where status = 'open';
create index dead_letter_by_step on ordo.dead_letter (step_id);

-- Largest accepted task context, in bytes of its JSON text.
create function ordo.max_context_bytes() returns integer
    language sql stable as
$$ select 1048576 $$;

-- Hook for backpressure: raises OR429 when the namespace is saturated. Replaced by a later migration.
create function ordo.check_backpressure(ns text, priority integer) returns void
    language sql stable as
$$ select null::void $$;

-- Submits a task: validates, applies backpressure, deduplicates on (namespace, idempotency key), inserts the
-- task and its steps and sends task_requested to the orchestration queue, all in the caller's transaction.
-- version null means the latest. options: idempotency_key, priority (-100..100), correlation_id, trace_context.
create function ordo.submit_task(namespace text, name text, version text default null, context jsonb default '{}',
                                 options jsonb default '{}')
    returns bigint
    language plpgsql as
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

    perform ordo.send('orchestration', jsonb_build_object('type', 'task_requested', 'task_id', v_task_id),
                      case when v_trace is null then null else jsonb_build_object('trace_context', v_trace) end,
                      0, v_priority);
    return v_task_id;
end
$$;

-- Stops an unfinished task for good: its pending, enqueued, waiting and running steps are cancelled and their
-- queue messages removed, and the task ends in to_status ('cancelled' or 'failed'); results that arrive
-- later are ignored. Returns false if the task had already finished.
create function ordo.stop_task(task_id bigint, to_status text, reason text, actor text)
    returns boolean
    language plpgsql as
$$
#variable_conflict use_column
declare
    v_task ordo.task;
begin
    if to_status not in ('cancelled', 'failed') then
        raise exception 'a task can be stopped as cancelled or failed, not %', coalesce(to_status, 'null') using errcode = '22023';
    end if;
    select * into v_task from ordo.task t where t.id = stop_task.task_id for update;
    if not found then
        raise exception 'unknown task %', task_id using errcode = 'OR404';
    end if;
    if v_task.status in ('complete', 'failed', 'cancelled') then
        return false;
    end if;
    perform ordo.delete((select n.queue_name from ordo.namespace n where n.name = v_task.namespace),
                        array(select s.msg_id from ordo.step s
                              where s.task_id = stop_task.task_id and s.msg_id is not null
                                and s.status in ('enqueued', 'in_progress')));
    with cancelled as (
        update ordo.step s
        set status = 'cancelled', updated_at = now(), completed_at = now(), msg_id = null
        from ordo.step old
        where old.id = s.id and s.task_id = stop_task.task_id
          and s.status in ('pending', 'enqueued', 'in_progress', 'waiting_retry')
        returning s.id, s.name, old.status as from_state, s.attempt
    )
    insert into ordo.transition (task_id, step_id, step_name, from_state, to_state, attempt, actor, detail)
    select stop_task.task_id, c.id, c.name, c.from_state, 'cancelled', c.attempt, actor, null from cancelled c;
    update ordo.task t
    set status = to_status, updated_at = now(), completed_at = now(),
        error = jsonb_build_object(to_status, true, 'reason', reason),
        lease_owner = null, lease_token = null, lease_expires_at = null
    where t.id = stop_task.task_id;
    insert into ordo.transition (task_id, from_state, to_state, actor, detail)
    values (stop_task.task_id, v_task.status, to_status, actor, jsonb_build_object('reason', reason));
    return true;
end
$$;

-- Cancels a task (see ordo.stop_task). Returns false if the task had already finished.
create function ordo.cancel_task(task_id bigint, reason text default null, actor text default null)
    returns boolean
    language sql as
$$ select ordo.stop_task(cancel_task.task_id, 'cancelled', reason, coalesce(actor, 'sql:' || session_user)) $$;

-- Worker API ----------------------------------------------------------------------------------------

create type ordo.read_step_row as (
    msg_id bigint, step_id bigint, old_status text, new_status text, attempt integer, exhausted boolean
);

-- Reads up to qty steps of a namespace and marks them in_progress. A message read again after its
-- visibility timeout (its worker was lost) starts a new attempt; when that would exceed max_attempts the
-- step is handed to the orchestrator as failed instead. Messages of finished or cancelled steps are dropped.
create function ordo.read_steps(namespace text, vt double precision, qty integer)
    returns table (
        msg_id bigint, task_id bigint, step_id bigint, step_name text, handler text, attempt integer,
        max_attempts integer, context jsonb, input jsonb, parent_results jsonb, deadline timestamptz,
        headers jsonb, template_name text, template_version text)
    language plpgsql as
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
    perform ordo.send_batch('orchestration',
        array(select jsonb_build_object('type', 'step_result', 'task_id', s.task_id, 'step_id', r.step_id,
                                        'attempt', r.attempt, 'status', 'failed', 'permanent', true,
                                        'error', jsonb_build_object('class', 'WorkerLost',
                                            'message', format('the step''s message came back %s times without a result: its workers were lost', r.attempt)))
              from unnest(v_rows) r join ordo.step s on s.id = r.step_id
              where r.exhausted));
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


-- Heartbeat: keeps in-flight step messages hidden for vt more seconds (vt 0 makes them visible at once, and their
-- next read starts a new attempt). Returns the ids still present.
create function ordo.extend_steps(namespace text, msg_ids bigint[], vt double precision)
    returns setof bigint
    language plpgsql as
$$
begin
    perform ordo.authorize_worker(namespace);
    return query select ordo.set_vt('ns_' || ordo.validate_namespace_name(namespace), msg_ids, vt);
end
$$;

-- Gives back steps that were read but never started (a worker shutting down): each goes back to enqueued with the
-- same attempt and its message becomes visible at once, so the attempt is not used up. A step is released only
-- while it is still in progress on the given attempt of that message; one that was redelivered meanwhile is left
-- alone. Returns the ids of the messages released.
create function ordo.release_steps(namespace text, msg_ids bigint[], attempts integer[])
    returns setof bigint
    language plpgsql as
$$
#variable_conflict use_column
declare
    v_queue text := 'ns_' || ordo.validate_namespace_name(namespace);
    v_released bigint[];
begin
    perform ordo.authorize_worker(namespace);
    if msg_ids is null or attempts is null or cardinality(msg_ids) <> cardinality(attempts) then
        raise exception 'release_steps needs msg_ids and attempts of the same length' using errcode = '22023';
    end if;
    -- messages first, then steps: the order read_steps locks them in
    perform 1 from ordo.message m
    where m.queue_name = v_queue and m.msg_id = any (msg_ids)
    order by m.msg_id
    for update;
    with released as (
        update ordo.step s
        set status = 'enqueued', updated_at = now()
        from unnest(msg_ids, attempts) as r(msg_id, attempt)
        join ordo.message m on m.queue_name = v_queue and m.msg_id = r.msg_id
        where s.id = (m.message ->> 'step_id')::bigint
          and s.msg_id = r.msg_id and s.attempt = r.attempt and s.status = 'in_progress'
        returning s.id, s.task_id, s.name, s.attempt, s.msg_id
    ),
    logged as (
        insert into ordo.transition (task_id, step_id, step_name, from_state, to_state, attempt, actor, detail)
        select r.task_id, r.id, r.name, 'in_progress', 'enqueued', r.attempt, 'worker:' || session_user,
               jsonb_build_object('released', true)
        from released r
    )
    select coalesce(array_agg(r.msg_id), '{}') into v_released from released r;
    if cardinality(v_released) > 0 then
        perform ordo.set_vt(v_queue, v_released, 0);
    end if;
    return query select unnest(v_released);
end
$$;


-- Hands results back: in one transaction deletes the step messages and sends step_result messages to the
-- orchestration queue. Each result: {msg_id, step_id, attempt, status: succeeded|failed, result, error, permanent,
-- retry_after_ms, started_at, finished_at}; task_id is taken from the step. Results may only name steps of this
-- namespace (42501 otherwise); results for steps that no longer exist are dropped. A message that was redelivered
-- to a newer attempt meanwhile is kept for that attempt, and the late result goes to the orchestrator, which
-- ignores it. Returns how many results it sent.
create function ordo.complete_steps(namespace text, results jsonb[])
    returns integer
    language plpgsql as
$$
#variable_conflict use_column
declare
    v_queue text := 'ns_' || ordo.validate_namespace_name(namespace);
    v_result jsonb;
    v_foreign bigint;
    v_sent integer;
begin
    perform ordo.authorize_worker(namespace);
    if results is null then
        raise exception 'results must be an array' using errcode = '22004';
    end if;
    foreach v_result in array results loop
        if jsonb_typeof(v_result) <> 'object' or jsonb_typeof(v_result -> 'step_id') <> 'number'
                or jsonb_typeof(v_result -> 'attempt') <> 'number' or jsonb_typeof(v_result -> 'msg_id') <> 'number'
                or coalesce(v_result ->> 'status', '') not in ('succeeded', 'failed') then
            raise exception 'each result needs msg_id, step_id, attempt and status succeeded or failed, got %', left(v_result::text, 200)
                using errcode = '22023';
        end if;
    end loop;
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
    perform ordo.delete(v_queue, array(
        select (r ->> 'msg_id')::bigint
        from unnest(results) r
        left join ordo.step s on s.id = (r ->> 'step_id')::bigint
        where not coalesce(s.msg_id = (r ->> 'msg_id')::bigint and s.attempt > (r ->> 'attempt')::integer
                           and s.status in ('enqueued', 'in_progress'), false)));
    select count(*) into v_sent
    from ordo.send_batch('orchestration',
        array(select jsonb_build_object('type', 'step_result') || (r - 'msg_id') || jsonb_build_object('task_id', s.task_id)
              from unnest(results) with ordinality as x(r, o)
              join ordo.step s on s.id = (r ->> 'step_id')::bigint
              order by o));
    return v_sent;
end
$$;


-- Replay: each task's and step's state rebuilt from the transition log alone.
create function ordo.replay_task(task_id bigint)
    returns table (step_name text, status text, attempt integer)
    language sql stable as
$$
    select distinct on (t.step_name) t.step_name, t.to_state, t.attempt
    from ordo.transition t
    where t.task_id = replay_task.task_id
      and not coalesce((t.detail ->> 'ignored')::boolean, false)
    order by t.step_name nulls first, t.seq desc
$$;

-- Leader duties ------------------------------------------------------------------------------------

-- Steps running past their timeout: their message is removed (so no worker sees them again) and the
-- orchestrator is told, which counts it as a failed attempt. Each attempt is signalled once.
create function ordo.enforce_step_timeouts(max_steps integer default 1000)
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

-- Retries whose retry_due message is overdue by more than grace seconds get a new one (a safety net;
-- the orchestrator schedules each retry with a delayed message).
create function ordo.promote_due_retries(grace double precision default 5, max_steps integer default 1000)
    returns integer
    language sql as
$$
    select count(ordo.send('orchestration',
                           jsonb_build_object('type', 'retry_due', 'task_id', s.task_id, 'step_id', s.id, 'attempt', s.attempt)))::integer
    from (select s.id, s.task_id, s.attempt from ordo.step s
          where s.status = 'waiting_retry' and s.next_attempt_at < now() - make_interval(secs => grace)
          order by s.next_attempt_at limit max_steps) s
$$;

-- Clears leases that expired (their owner is gone); their work is taken over by whoever claims next.
create function ordo.reclaim_expired_leases()
    returns integer
    language sql as
$$
    with reclaimed as (
        update ordo.task t set lease_owner = null, lease_token = null, lease_expires_at = null
        where t.lease_owner is not null and t.lease_expires_at < now()
        returning 1
    )
    select count(*)::integer from reclaimed
$$;

-- Ordo least privilege: NOLOGIN group roles, and worker and submission functions that run as their owner
-- (SECURITY DEFINER) after checking who calls them.
--
-- Roles (cluster-wide; grant membership to your LOGIN roles, never LOGIN to these):
--   ordo_orchestrator        orchestrators and admin tools: every table, sequence and function of schema ordo
--   ordo_submitter           applications: submit_task, cancel_task, replay_task, metrics, metrics_all, and
--                            SELECT on the namespace, template, task, step and transition tables
--   ordo_worker_<namespace>  one per namespace, created with it by ordo.create_namespace: may read, extend, release
--                            and complete steps of its own namespace's queue, and register worker nodes serving it
--                            in the node registry; nothing else
--   ordo_worker              what every ordo_worker_<namespace> inherits (USAGE on the schema, EXECUTE on the worker
--                            functions). Grant the namespace roles, not this one: alone it may work no namespace.
--
-- Running this migration, and creating namespaces later, needs a migration role with CREATEROLE (or a superuser):
-- ordo.create_namespace runs as the migration role and creates the namespace's worker role when it is missing.
-- The migration role's future tables, sequences and functions in schema ordo are granted to ordo_orchestrator by
-- default, and its future functions are no longer executable by PUBLIC; grant new submitter or worker functions
-- explicitly in the migration that creates them. CREATE OR REPLACE resets a function to SECURITY INVOKER: a later
-- migration that replaces one of the functions made SECURITY DEFINER here must say so again (and keep its check).

-- Creates a NOLOGIN group role unless it exists. Roles are shared by every database of the server, and several
-- databases may be migrated at once, so losing the race to another creator is not an error.
create function ordo.ensure_group_role(role_name text) returns void
    language plpgsql as
$$
begin
    if not exists (select 1 from pg_roles r where r.rolname = role_name) then
        begin
            execute format('create role %I nologin', role_name);
        exception when duplicate_object or unique_violation then
            null; -- created concurrently
        end;
    end if;
end
$$;

select ordo.ensure_group_role('ordo_orchestrator');
select ordo.ensure_group_role('ordo_submitter');
select ordo.ensure_group_role('ordo_worker');

-- The worker role of a namespace: ordo_worker_<namespace>.
create function ordo.worker_role(ns text) returns text
    language sql immutable as
$$ select 'ordo_worker_' || ordo.validate_namespace_name(ns) $$;

-- Creates the namespace's worker role if missing and makes it a member of ordo_worker. Returns the role name.
create function ordo.ensure_worker_role(ns text) returns text
    language plpgsql as
$$
declare
    v_role text := ordo.worker_role(ns);
begin
    perform ordo.ensure_group_role(v_role);
    if not pg_has_role(v_role, 'ordo_worker', 'MEMBER') then
        begin
            execute format('grant ordo_worker to %I', v_role);
        exception when duplicate_object or unique_violation then
            null; -- granted concurrently
        end;
    end if;
    return v_role;
end
$$;

select ordo.ensure_worker_role(n.name) from ordo.namespace n;

-- Creates the namespace, its queue ns_<namespace> and its worker role ordo_worker_<namespace>; does nothing that
-- is already there. Returns the queue name. Runs as its owner so that callers need neither CREATEROLE nor
-- ownership of ordo.message (queues are partitions of it).
create or replace function ordo.create_namespace(ns text) returns text
    language plpgsql security definer set search_path = ordo, pg_temp as
$$
declare
    v_queue text := 'ns_' || ordo.validate_namespace_name(ns);
begin
    if not exists (select 1 from ordo.namespace n where n.name = ns) then
        perform ordo.create_queue(v_queue);
        insert into ordo.namespace (name, queue_name) values (ns, v_queue) on conflict do nothing;
    end if;
    perform ordo.ensure_worker_role(ns);
    return v_queue;
end
$$;

-- Whether the caller is an administrator of Ordo: a superuser or a member of ordo_orchestrator.
--
-- The caller is session_user, not current_user: inside a SECURITY DEFINER function current_user is the function's
-- owner, so it says nothing about who called. session_user is the role the connection logged in as (SET ROLE does
-- not change it), which is the role that is granted membership. A pooler that logs every client in as one role
-- therefore gives them all that role's rights.
create function ordo.caller_is_admin() returns boolean
    language sql stable security definer set search_path = ordo, pg_temp as
$$
    select exists (select 1 from pg_roles r where r.rolname = session_user and r.rolsuper)
        or pg_has_role(session_user, 'ordo_orchestrator', 'MEMBER')
$$;

-- Raises 42501 (insufficient_privilege) unless the caller may work the namespace: its login role (session_user,
-- see ordo.caller_is_admin) is a member of ordo_worker_<namespace>, or an administrator.
create function ordo.authorize_worker(ns text) returns void
    language plpgsql stable security definer set search_path = ordo, pg_temp as
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

-- Worker API, now checked -------------------------------------------------------------------------------

-- Reads up to qty steps of a namespace and marks them in_progress. A message read again after its
-- visibility timeout (its worker was lost) starts a new attempt; when that would exceed max_attempts the
-- step is handed to the orchestrator as failed instead. Messages of finished or cancelled steps are dropped.
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
create or replace function ordo.extend_steps(namespace text, msg_ids bigint[], vt double precision)
    returns setof bigint
    language plpgsql security definer set search_path = ordo, pg_temp as
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
    language plpgsql security definer set search_path = ordo, pg_temp as
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
create or replace function ordo.complete_steps(namespace text, results jsonb[])
    returns integer
    language plpgsql security definer set search_path = ordo, pg_temp as
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

-- Node registry: a worker registers, heartbeats, drains and deregisters itself -------------------------------

-- Raises 42501 unless the caller may act on a node of this role serving these namespaces: administrators on any
-- node, anyone else only on worker nodes whose namespaces it may all work.
create function ordo.authorize_node(p_node_id text, p_role text, p_namespaces text[]) returns void
    language plpgsql stable security definer set search_path = ordo, pg_temp as
$$
declare
    v_ns text;
begin
    if ordo.caller_is_admin() then
        return;
    end if;
    if p_role is distinct from 'worker' or cardinality(coalesce(p_namespaces, '{}')) = 0 then
        raise exception 'role % may only act on worker nodes that name the namespaces they work, not on node % (%)',
            session_user, p_node_id, coalesce(p_role, 'unknown role') using errcode = '42501';
    end if;
    foreach v_ns in array p_namespaces loop
        perform ordo.authorize_worker(v_ns);
    end loop;
end
$$;

-- The check of ordo.authorize_node for a node as registered; a node that is not registered passes.
create function ordo.authorize_registered_node(p_node_id text) returns void
    language plpgsql stable security definer set search_path = ordo, pg_temp as
$$
declare
    v_role text;
    v_namespaces text[];
begin
    if ordo.caller_is_admin() then
        return;
    end if;
    select n.role, n.namespaces into v_role, v_namespaces from ordo.node n where n.node_id = p_node_id;
    if found then
        perform ordo.authorize_node(p_node_id, v_role, v_namespaces);
    end if;
end
$$;

-- The node functions of V3, unchanged but for the check and running as their owner.
create or replace function ordo.register_node(p_node_id text, p_role text, p_namespaces text[], p_host text, p_version text,
                                              p_started_at timestamptz, p_config_version bigint, p_heartbeat_interval interval,
                                              p_metadata jsonb default '{}', p_now timestamptz default clock_timestamp())
    returns void
    language plpgsql security definer set search_path = ordo, pg_temp as
$$
begin
    perform ordo.authorize_registered_node(p_node_id);
    perform ordo.authorize_node(p_node_id, p_role, p_namespaces);
    insert into ordo.node as n (node_id, role, namespaces, host, version, started_at, config_version, status,
                                heartbeat_interval, heartbeat_at, status_changed_at, metadata)
    values (p_node_id, p_role, coalesce(p_namespaces, '{}'), p_host, p_version, p_started_at, coalesce(p_config_version, 0),
            'active', p_heartbeat_interval, p_now, p_now, coalesce(p_metadata, '{}'))
    on conflict (node_id) do update
        set role = excluded.role, namespaces = excluded.namespaces, host = excluded.host, version = excluded.version,
            started_at = excluded.started_at, config_version = excluded.config_version, status = 'active',
            heartbeat_interval = excluded.heartbeat_interval, heartbeat_at = excluded.heartbeat_at,
            status_changed_at = excluded.status_changed_at, metadata = excluded.metadata;
end
$$;

create or replace function ordo.node_heartbeat(p_node_id text, p_config_version bigint, p_now timestamptz default clock_timestamp())
    returns text
    language plpgsql security definer set search_path = ordo, pg_temp as
$$
declare
    v_status text;
begin
    perform ordo.authorize_registered_node(p_node_id);
    update ordo.node n
    set heartbeat_at = p_now,
        config_version = coalesce(p_config_version, n.config_version),
        status = case when n.status = 'suspect' then 'active' else n.status end,
        status_changed_at = case when n.status = 'suspect' then p_now else n.status_changed_at end
    where n.node_id = p_node_id and n.status <> 'down'
    returning n.status into v_status;
    if found then
        return v_status;
    end if;
    return (select n.status from ordo.node n where n.node_id = p_node_id);
end
$$;

create or replace function ordo.drain_node(p_node_id text, p_now timestamptz default clock_timestamp()) returns boolean
    language plpgsql security definer set search_path = ordo, pg_temp as
$$
begin
    perform ordo.authorize_registered_node(p_node_id);
    update ordo.node n set status = 'draining', status_changed_at = p_now
    where n.node_id = p_node_id and n.status <> 'down';
    return found;
end
$$;

create or replace function ordo.deregister_node(p_node_id text) returns boolean
    language plpgsql security definer set search_path = ordo, pg_temp as
$$
begin
    perform ordo.authorize_registered_node(p_node_id);
    delete from ordo.node n where n.node_id = p_node_id;
    return found;
end
$$;

-- Submission, metrics and owner-only DDL run as their owner -------------------------------------------------

alter function ordo.submit_task(text, text, text, jsonb, jsonb) security definer set search_path = ordo, pg_temp;
alter function ordo.cancel_task(bigint, text, text) security definer set search_path = ordo, pg_temp;
alter function ordo.metrics(text, double precision) security definer set search_path = ordo, pg_temp;
-- nodes report the config version they run; a worker, which applies none, reports the latest
alter function ordo.config_version() security definer set search_path = ordo, pg_temp;
-- creating and dropping partitions needs ownership of the parent table
alter function ordo.create_queue(text, boolean, interval) security definer set search_path = ordo, pg_temp;
alter function ordo.drop_queue(text) security definer set search_path = ordo, pg_temp;
alter function ordo.ensure_daily_partitions(text, integer, date) security definer set search_path = ordo, pg_temp;
alter function ordo.drop_daily_partitions_before(text, timestamptz) security definer set search_path = ordo, pg_temp;

-- Grants ----------------------------------------------------------------------------------------------------

revoke execute on all functions in schema ordo from public;
alter default privileges revoke execute on functions from public;

grant usage on schema ordo to ordo_orchestrator, ordo_submitter, ordo_worker;

grant all on all tables in schema ordo to ordo_orchestrator;
grant all on all sequences in schema ordo to ordo_orchestrator;
grant execute on all functions in schema ordo to ordo_orchestrator;
alter default privileges in schema ordo grant all on tables to ordo_orchestrator;
alter default privileges in schema ordo grant all on sequences to ordo_orchestrator;
alter default privileges in schema ordo grant execute on functions to ordo_orchestrator;

grant execute on function ordo.submit_task(text, text, text, jsonb, jsonb), ordo.cancel_task(bigint, text, text),
    ordo.replay_task(bigint), ordo.metrics(text, double precision), ordo.metrics_all(double precision)
    to ordo_submitter;
grant select on ordo.namespace, ordo.task_template, ordo.template_step, ordo.task, ordo.step, ordo.transition
    to ordo_submitter;

grant execute on function ordo.read_steps(text, double precision, integer), ordo.extend_steps(text, bigint[], double precision),
    ordo.release_steps(text, bigint[], integer[]), ordo.complete_steps(text, jsonb[]),
    ordo.register_node(text, text, text[], text, text, timestamptz, bigint, interval, jsonb, timestamptz),
    ordo.node_heartbeat(text, bigint, timestamptz), ordo.drain_node(text, timestamptz), ordo.deregister_node(text),
    ordo.config_version()
    to ordo_worker;

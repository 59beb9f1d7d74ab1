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

-- The worker and node functions check their caller (ordo.authorize_worker, ordo.authorize_node) and run as their
-- owner, so that a worker role needs no right on the tables behind them ---------------------------------------

alter function ordo.read_steps(text, double precision, integer) security definer set search_path = ordo, pg_temp;
alter function ordo.extend_steps(text, bigint[], double precision) security definer set search_path = ordo, pg_temp;
alter function ordo.release_steps(text, bigint[], integer[]) security definer set search_path = ordo, pg_temp;
alter function ordo.complete_steps(text, jsonb[]) security definer set search_path = ordo, pg_temp;
alter function ordo.register_node(text, text, text[], text, text, timestamptz, bigint, interval, jsonb, timestamptz)
    security definer set search_path = ordo, pg_temp;
alter function ordo.node_heartbeat(text, bigint, timestamptz) security definer set search_path = ordo, pg_temp;
alter function ordo.drain_node(text, timestamptz) security definer set search_path = ordo, pg_temp;
alter function ordo.deregister_node(text) security definer set search_path = ordo, pg_temp;

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

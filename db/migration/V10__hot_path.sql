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

-- ordo.complete_and_read_steps: a worker hands back its finished steps and reads its next ones in one call.
--
-- A busy worker called ordo.complete_steps for the results its handlers had finished, then ordo.read_steps for the
-- slots those results freed: two transactions, two round trips, two function entries with their checks, for what is
-- one turn of its loop. This function is that turn in one transaction: the results first, exactly as complete_steps
-- hands them back (same checks, errors and locking order), then the read, exactly as read_steps reads (same
-- arguments, rows and locking order). The read's statements start after the results' deletes in the same
-- transaction, so the slots the results free can be filled at once; a worker asks for as many steps as it had free
-- slots plus the results it hands back.
--
-- If anything fails, nothing happens: no result is handed back and no step is read. The worker keeps its results
-- and sends them again with its next call.
--
-- The transaction holds the locks of the messages it handed back while it locks the steps it reads. A pass that
-- deletes one of those messages while it holds the lock of one of those steps (a timed-out step of a task whose
-- other step this worker reads) waits for it; PostgreSQL breaks such a rare cycle after deadlock_timeout, and the
-- loser (either side) tries again, having lost nothing.

create function ordo.complete_and_read_steps(namespace text, results jsonb[], vt double precision, qty integer)
    returns table (
        msg_id bigint, task_id bigint, step_id bigint, step_name text, handler text, attempt integer,
        max_attempts integer, context jsonb, input jsonb, parent_results jsonb, deadline timestamptz,
        headers jsonb, template_name text, template_version text)
    language plpgsql security definer set search_path = ordo, pg_temp as
$$
begin
    if results is null or cardinality(results) > 0 then
        perform ordo.complete_steps(namespace, results);
    end if;
    return query select * from ordo.read_steps(namespace, vt, qty);
end
$$;

alter function ordo.complete_and_read_steps(text, jsonb[], double precision, integer)
    set plan_cache_mode = force_generic_plan set jit = off;

revoke all on function ordo.complete_and_read_steps(text, jsonb[], double precision, integer) from public;
grant execute on function ordo.complete_and_read_steps(text, jsonb[], double precision, integer) to ordo_worker;

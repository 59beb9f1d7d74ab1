-- The worker functions keep their plans instead of planning their statements at every call.
--
-- A session runs a PL/pgSQL statement on a cached plan, but one with parameters is planned afresh at each call for as
-- long as a plan made without their values looks dearer than the plans made with them; for these statements that
-- was every call. Profiling a worker's cycle (ordo.read_steps of one step and
-- ordo.complete_steps of its result, pgbench on one connection, load-tests/sql/worker-calls-ab.sh) put 40% of the
-- backend's time in the planner. With the plans kept, a cycle of one step took 0.95 ms instead of 1.5
-- (load-tests/RESULTS.md).
--
-- A plan kept for the session must not depend on how big the tables were when it was made: ordo.step and ordo.task
-- grow by the thousand in minutes, and a plan made on a small table hashes or scans it whole. So these functions look
-- rows up only through their indexes (no sequential scans, hash or merge joins: each step and task is found by its
-- key, as many times as the call has steps), and never compile a plan: a disabled plan node adds a penalty to the
-- plan's cost that would lift it past jit_above_cost (see V14).
--
-- ordo.read keeps planning its claim at every call (its own setting overrides the caller's): a plan kept for the
-- session covers every queue partition and locks them all at each call; planned for the call, only the queue read.
-- The statements run on a queue partition by EXECUTE are planned at every call, as before (V13).

alter function ordo.read_steps(text, double precision, integer)
    set plan_cache_mode = force_generic_plan
    set enable_seqscan = off set enable_hashjoin = off set enable_mergejoin = off set jit = off;

alter function ordo.complete_steps(text, jsonb[])
    set plan_cache_mode = force_generic_plan
    set enable_seqscan = off set enable_hashjoin = off set enable_mergejoin = off set jit = off;

alter function ordo.read(text, double precision, integer) set plan_cache_mode = auto;

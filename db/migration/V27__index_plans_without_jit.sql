-- Functions that plan with sequential scans off run without JIT, as the worker's functions of V15 do.
--
-- enable_seqscan = off does not forbid a sequential scan: it adds 10^10 to its cost. Where a statement has no other
-- way to read a table, its plan keeps the scan and costs over 10^10, far above jit_above_cost (100,000), and on a
-- server built with LLVM (the Debian and Docker PostgreSQL packages) the plan is JIT-compiled, inlined and optimised
-- at every run. ordo.enforce_step_timeouts reads the shortest timeout off ordo.template_step that way: since V26 it
-- took 0.3-0.6 s of CPU at every leader interval, nearly all of it in LLVM (pg_stat_statements: 11,966 ms of JIT in
-- 21 calls during a fan-out burn-down; PlansWithoutJitTest). The others compile nothing today, but one new statement
-- without an index path would. Their statements are short lookups by key, which JIT never speeds up.
--
-- The orchestration pass sets both in its transactions (OrchestrationPass.INDEX_PLANS).

alter function ordo.enforce_step_timeouts(integer) set jit = off;
alter function ordo.promote_due_retries(double precision, integer) set jit = off;
alter function ordo.reclaim_expired_leases() set jit = off;
alter function ordo.submit_task(text, text, text, jsonb, jsonb) set jit = off;
alter function ordo.read(text, double precision, integer) set jit = off;
alter function ordo.pop(text, integer) set jit = off;
alter function ordo.lock_batch(text, integer) set jit = off;
alter function ordo.notify_if_idle(text) set jit = off;

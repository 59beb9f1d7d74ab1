-- ordo.read_steps reads its messages in a statement of their own again, before it locks their steps.
--
-- V14 read the messages and locked their steps in one statement. Under READ COMMITTED that statement's snapshot
-- is taken when it starts, but ordo.read, a volatile function, reads the queue with a snapshot of its own, taken
-- later. A message sent by an orchestration pass that committed in between was read while its step was seen as
-- the pass had found it: pending, with no message. The locking clause should have brought the step up to date,
-- and mostly did; now and then it did not, and read_steps dropped the message as one whose step had moved on. The
-- step stayed enqueued with no message, and its task never finished. Seen as: three tasks stuck in ./ordo bench
-- runs on PostgreSQL 15 (one worker read started 1.3 ms before the pass whose messages it read, and started two
-- of that pass's four steps), two in the load-tests' report test, and, with pgbench sessions enqueueing as a pass
-- does while others read, 8 of 29,000 steps in 20 s. ReadStepsTest races three enqueueing sessions against three
-- reading ones: with V14 it stranded 3 or 4 steps of about 9,000 in each of three runs, with this none.
--
-- With the read first, the statement that locks the steps starts after every pass whose messages it read has
-- committed, and sees their steps enqueued.
--
-- Everything else is as in V14, and the settings of V15 are set again (create or replace clears them).

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
    v_read bigint[];
    v_claims ordo.step_claim[];
    v_startable integer;
    v_drop bigint[];
begin
    perform ordo.authorize_worker(namespace);
    -- the messages first, in a statement of their own: the next one's snapshot is taken after the read, so it sees
    -- the steps as the passes that sent these messages left them (see the header of V16)
    select array_agg(m) into v_msgs from ordo.read(v_queue, read_steps.vt, read_steps.qty) m;
    if v_msgs is null then
        return;
    end if;
    -- then their steps in id order: the order complete_steps locks them in
    with msgs as (
        select m.msg_id, (m.message ->> 'step_id')::bigint as step_id, m.headers
        from unnest(v_msgs) m
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

alter function ordo.read_steps(text, double precision, integer)
    set plan_cache_mode = force_generic_plan
    set enable_seqscan = off set enable_hashjoin = off set enable_mergejoin = off set jit = off;

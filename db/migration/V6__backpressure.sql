-- Backpressure: per-namespace queue-depth thresholds from ordo.config
-- (backpressure.<ns>.warning / .critical / .shed_below_priority), a state per namespace that the leader
-- refreshes with hysteresis, refusal of submissions (SQLSTATE OR429) and a signal for orchestrators to
-- stop feeding a saturated namespace until it drains below warning.

alter table ordo.namespace
    add column backpressure text not null default 'ok'
        constraint namespace_backpressure_valid check (backpressure in ('ok', 'warning', 'critical')),
    add column backpressure_changed_at timestamptz not null default now();

-- Defaults when a namespace has no configured thresholds.
create function ordo.backpressure_default(setting text) returns bigint
    language sql immutable as
$$ select case setting when 'warning' then 50000 when 'critical' then 100000 when 'shed_below_priority' then 0 end $$;

create function ordo.backpressure_threshold(ns text, setting text) returns bigint
    language sql stable as
$$
    select coalesce((select (c.value #>> '{}')::bigint from ordo.config c where c.key = 'backpressure.' || ns || '.' || setting),
                    ordo.backpressure_default(setting))
$$;

-- Recomputes every namespace's state from the queue statistics: critical at or above the critical depth,
-- and it stays critical until the depth falls below warning; warning at or above the warning depth.
create function ordo.refresh_backpressure() returns integer
    language sql as
$$
    with state as (
        select n.name, n.backpressure as old_state,
               case
                   when q.stats_depth >= ordo.backpressure_threshold(n.name, 'critical') then 'critical'
                   when q.stats_depth >= ordo.backpressure_threshold(n.name, 'warning')
                       then case when n.backpressure = 'critical' then 'critical' else 'warning' end
                   else 'ok'
               end as new_state
        from ordo.namespace n join ordo.queue q on q.queue_name = n.queue_name
    ),
    changed as (
        update ordo.namespace n set backpressure = s.new_state, backpressure_changed_at = now()
        from state s where n.name = s.name and s.new_state <> s.old_state
        returning n.name
    )
    select count(*)::integer from changed
$$;

-- The leader's statistics refresh now also moves the namespaces' backpressure state.
create or replace function ordo.duty_refresh_queue_stats(p_term bigint) returns void
    language plpgsql as
$$
begin
    perform ordo.assert_leader(p_term);
    perform ordo.refresh_queue_stats();
    perform ordo.refresh_backpressure();
end
$$;

-- Refuses a submission (OR429, retryable) when the namespace is saturated, or when it is above its
-- warning depth and the task's priority is below the shedding priority.
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
    select n.backpressure, q.stats_depth into v_state, v_depth
    from ordo.namespace n join ordo.queue q on q.queue_name = n.queue_name
    where n.name = ns;
    v_critical := ordo.backpressure_threshold(ns, 'critical');
    if v_state = 'critical' or v_depth >= v_critical then
        raise exception 'namespace % is saturated: its queue holds % steps, at or above the critical threshold % (backpressure.%.critical); retry later',
            ns, v_depth, v_critical, ns using errcode = 'OR429';
    end if;
    v_warning := ordo.backpressure_threshold(ns, 'warning');
    v_shed := ordo.backpressure_threshold(ns, 'shed_below_priority');
    if (v_state = 'warning' or v_depth >= v_warning) and priority < v_shed then
        raise exception 'namespace % is above its warning threshold % with % queued steps: tasks below priority % are shed; retry later',
            ns, v_warning, v_depth, v_shed using errcode = 'OR429';
    end if;
end
$$;

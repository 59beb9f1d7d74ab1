-- Every refresh of queue statistics locks the queues' rows in the order of their names.
--
-- The leader's refresh of all queues (ordo.refresh_queue_stats()) updated the rows in whatever order its join
-- produced them, and each node's sampler (ordo.metrics_all) refreshes the stale ones one by one, in name order, in
-- one transaction. Two orders over the same rows: with two orchestrators the demo logged "could not sample queue
-- statistics: deadlock detected" now and then. Both now take the rows in name order.
--
-- ordo.metrics_all also called ordo.metrics once per column of its result ((f(x)).* expands to one call per
-- column): seven calls, and up to seven refreshes, per queue. It now calls it once.

create or replace function ordo.refresh_queue_stats(queue text default null)
    returns void
    language sql as
$$
    with locked as materialized (
        select q.queue_name
        from ordo.queue q
        where refresh_queue_stats.queue is null or q.queue_name = refresh_queue_stats.queue
        order by q.queue_name
        for no key update
    )
    update ordo.queue q
    set stats_depth = coalesce(s.depth, 0),
        stats_visible_depth = coalesce(s.visible, 0),
        stats_refreshed_at = clock_timestamp()
    from locked l
    left join lateral (
        select count(*) as depth, count(*) filter (where m.vt <= clock_timestamp()) as visible
        from ordo.message m
        where m.queue_name = l.queue_name
    ) s on true
    where q.queue_name = l.queue_name
$$;

create or replace function ordo.metrics_all(max_stats_age double precision default 1.0)
    returns setof ordo.queue_metrics
    language sql as
$$
    select m.*
    from (select q.queue_name from ordo.queue q order by q.queue_name) q
    cross join lateral ordo.metrics(q.queue_name, max_stats_age) m
    order by q.queue_name
$$;

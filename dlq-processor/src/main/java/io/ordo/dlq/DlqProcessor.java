package io.ordo.dlq;

import io.opentelemetry.api.OpenTelemetry;
import io.ordo.OrdoException;
import io.ordo.config.ClusterConfig;
import io.ordo.config.InvalidConfigException;
import io.ordo.config.LiveConfig;
import io.ordo.coordination.Coordination;
import io.ordo.coordination.NodeInfo;
import io.ordo.coordination.NodeMembership;
import io.ordo.coordination.NodeRole;
import io.ordo.coordination.Subscription;
import io.ordo.db.Database;
import io.ordo.db.SqlErrors;
import io.ordo.queue.IdleWaiter;
import io.ordo.queue.WakeSignal;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.jooq.exception.DataAccessException;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A dlq-processor node: classifies new dead letters by their error class ({@link DlqPolicy#rules()}), requeues
 * transient ones a bounded number of times, raises alerts when a namespace passes its thresholds, and deletes
 * resolved letters past retention. It registers as a {@code dlq} node and heartbeats. Its {@link DlqPolicy} follows
 * the {@code dlq.*} config keys through {@link LiveConfig}, without a restart.
 * <p>
 * Any number of nodes may run: each batch of new letters is claimed with {@code FOR UPDATE SKIP LOCKED} and
 * classified in the transaction that claimed it, so every letter is classified exactly once. New letters wake
 * idle nodes through NOTIFY on {@code ordo.dead_letter}; polling with backoff is the fallback.
 */
public final class DlqProcessor implements AutoCloseable {
    /** Channel on which inserts into {@code ordo.dead_letter} are announced (migration V7). */
    public static final String CHANNEL = "ordo.dead_letter";
    private static final System.Logger LOG = System.getLogger(DlqProcessor.class.getName());

    private final DSLContext dsl;
    private final DlqSettings settings;
    private final LiveConfig config;
    private final Clock clock;
    private final String actor;
    private final DlqMetrics metrics;
    private final AlertChecker alerts;
    private final WakeSignal wake = new WakeSignal();
    private final List<Subscription> subscriptions = new ArrayList<>();
    private final NodeMembership membership;
    private final Thread loop;
    private volatile DlqPolicy policy;
    private volatile boolean running = true;
    private volatile Instant lastRoundAt;
    private volatile Instant nextAlertCheck;
    private volatile Instant nextPurge;

    private DlqProcessor(Database database, Coordination coordination, LiveConfig config, DlqSettings settings,
                         OpenTelemetry otel, Clock clock) {
        this.dsl = database.dsl();
        this.metrics = new DlqMetrics(otel);
        this.settings = settings;
        this.config = config;
        this.clock = clock;
        this.actor = "dlq:" + settings.nodeId();
        this.alerts = new AlertChecker(dsl, actor, metrics);
        this.policy = DlqPolicy.of(config.version(), config.values()); // a bad value fails the start, naming the key
        config.onChange((previous, current, changed) -> applyConfig());
        Instant now = clock.instant();
        this.nextAlertCheck = now;
        this.nextPurge = now;
        subscriptions.add(coordination.subscribe(CHANNEL, payload -> wake.signal()));
        Map<String, String> metadata = settings.http() == null ? Map.of() : Map.of("http_port", Integer.toString(settings.http().port()));
        this.membership = NodeMembership.join(coordination, new NodeInfo(settings.nodeId(), NodeRole.DLQ, List.of(), hostName(),
                version(), now, config.current().heartbeatInterval(), metadata), config::version);
        this.loop = Thread.ofPlatform().name("ordo-dlq-" + settings.nodeId()).start(this::run);
    }

    /**
     * Registers the node and starts processing.
     *
     * @param config  this node's live configuration; the processor follows its changes but does not close it
     * @param otel    where its counters go ({@link OpenTelemetry#noop()} for none)
     * @throws InvalidConfigException if a {@code dlq.*} value cannot be used, naming the key
     */
    public static DlqProcessor start(Database database, Coordination coordination, LiveConfig config, DlqSettings settings,
                                     OpenTelemetry otel, Clock clock) {
        return new DlqProcessor(database, coordination, config, settings, otel, clock);
    }

    /** Whether the processing loop runs (false once stopped, or if it died). */
    public boolean isRunning() {
        return running && loop.isAlive();
    }

    /** When the loop last finished a round of work without failing; null before the first. */
    public Instant lastRoundAt() {
        return lastRoundAt;
    }

    public DlqMetrics metrics() {
        return metrics;
    }

    /** The policy in force on this node. */
    public DlqPolicy policy() {
        return policy;
    }

    public DlqSettings settings() {
        return settings;
    }

    private void run() {
        ClusterConfig polling = config.current();
        IdleWaiter idle = new IdleWaiter(wake, polling.pollIntervalMin(), polling.pollIntervalMax());
        Duration errorBackoff = polling.pollIntervalMin();
        while (running) {
            try {
                ClusterConfig latest = config.current();
                if (!latest.pollIntervalMin().equals(polling.pollIntervalMin()) || !latest.pollIntervalMax().equals(polling.pollIntervalMax())) {
                    polling = latest;
                    idle = new IdleWaiter(wake, polling.pollIntervalMin(), polling.pollIntervalMax());
                }
                int classified = classifyOnce();
                Instant now = clock.instant();
                if (!now.isBefore(nextAlertCheck)) {
                    nextAlertCheck = now.plus(settings.alertInterval());
                    checkAlertsOnce();
                }
                if (!now.isBefore(nextPurge)) {
                    nextPurge = now.plus(settings.retentionInterval());
                    purgeOnce();
                }
                errorBackoff = polling.pollIntervalMin();
                lastRoundAt = now;
                if (classified == 0) {
                    idle.idle();
                } else {
                    idle.busy();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                if (!running) {
                    return;
                }
                metrics.error();
                LOG.log(System.Logger.Level.WARNING, "dlq-processor " + settings.nodeId() + ": round failed, retrying in "
                        + errorBackoff.toMillis() + " ms: " + e.getMessage());
                try {
                    Thread.sleep(errorBackoff);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return;
                }
                errorBackoff = errorBackoff.multipliedBy(2).compareTo(polling.pollIntervalMax()) > 0
                        ? polling.pollIntervalMax() : errorBackoff.multipliedBy(2);
            }
        }
    }

    private void applyConfig() {
        try {
            policy = DlqPolicy.of(config.version(), config.values());
        } catch (InvalidConfigException e) {
            LOG.log(System.Logger.Level.ERROR, "dlq-processor " + settings.nodeId() + " keeps its policy of config version "
                    + policy.configVersion() + ": " + e.getMessage());
        }
        wake.signal();
    }

    /**
     * Claims up to {@link DlqPolicy#batchSize()} unclassified letters, classifies them, and requeues the transient
     * ones that may still be requeued automatically, in one transaction. Returns how many it classified.
     */
    public int classifyOnce() {
        DlqPolicy p = policy;
        return dsl.transactionResult(cfg -> classify(cfg.dsl(), p));
    }

    private record Candidate(long id, String namespace, Long stepId) {
    }

    private int classify(DSLContext tx, DlqPolicy p) {
        List<Record> rows = tx.fetch("""
                select id, namespace, step_id, reason, error_class, status from ordo.dead_letter
                where classified_at is null
                order by id
                limit ?
                for update skip locked""", p.batchSize());
        if (rows.isEmpty()) {
            return 0;
        }
        int n = rows.size();
        Long[] ids = new Long[n];
        String[] classes = new String[n];
        String[] why = new String[n];
        String[] rules = new String[n];
        List<Candidate> transientOpen = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Record r = rows.get(i);
            ClassificationRules.Decision d = p.rules().classify(r.get(4, String.class), r.get(3, String.class));
            ids[i] = r.get(0, Long.class);
            classes[i] = d.classification().label();
            why[i] = d.rule() == null ? "no rule matched error class " + r.get(4, String.class)
                    : "error class " + r.get(4, String.class) + " matched " + d.rule().match()
                      + (d.rule().reason() == null ? "" : " with reason " + d.rule().reason());
            rules[i] = d.rule() == null ? null : io.ordo.Json.write(ruleJson(d.rule()));
            metrics.classified(d.classification());
            if (d.classification() == Classification.TRANSIENT && "open".equals(r.get(5, String.class)) && r.get(2, Long.class) != null) {
                transientOpen.add(new Candidate(ids[i], r.get(1, String.class), r.get(2, Long.class)));
            }
        }
        tx.execute("""
                with u as (
                    select * from unnest(?::bigint[], ?::text[], ?::text[], ?::jsonb[]) as u(id, classification, why, rule)
                ),
                upd as (
                    update ordo.dead_letter d
                    set classification = u.classification, classified_at = now(), classified_by = ?
                    from u where d.id = u.id and d.classified_at is null
                    returning d.id, d.namespace, d.error_class, u.classification, u.why, u.rule
                )
                insert into ordo.dead_letter_event (dead_letter_id, namespace, kind, actor, reason, detail)
                select upd.id, upd.namespace, 'classified', ?, upd.why,
                       jsonb_build_object('classification', upd.classification, 'error_class', upd.error_class, 'rule', upd.rule)
                from upd
                order by upd.id""", ids, classes, why, rules, actor, actor);
        if (p.autoRequeueMax() > 0 && !transientOpen.isEmpty()) {
            autoRequeue(tx, p, transientOpen);
        }
        return n;
    }

    private static Map<String, String> ruleJson(ClassificationRules.Rule rule) {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        m.put("match", rule.match());
        if (rule.reason() != null) {
            m.put("reason", rule.reason());
        }
        m.put("as", rule.as().label());
        return m;
    }

    private void autoRequeue(DSLContext tx, DlqPolicy p, List<Candidate> candidates) {
        Map<Long, Integer> prior = new HashMap<>();
        for (Record r : tx.fetch("""
                select d.step_id, count(*) from ordo.dead_letter_event e join ordo.dead_letter d on d.id = e.dead_letter_id
                where e.kind = 'auto_requeued' and d.step_id = any (?::bigint[])
                group by d.step_id""", (Object) candidates.stream().map(Candidate::stepId).toArray(Long[]::new))) {
            prior.put(r.get(0, Long.class), r.get(1, Integer.class));
        }
        for (Candidate c : candidates) {
            int done = prior.getOrDefault(c.stepId(), 0);
            if (done >= p.autoRequeueMax()) {
                continue;
            }
            String reason = "transient failure: automatic requeue " + (done + 1) + " of " + p.autoRequeueMax();
            try {
                // a savepoint: a letter that cannot be requeued (its task was cancelled meanwhile) leaves the batch intact
                tx.transaction(nested -> nested.dsl().fetch("select ordo.requeue_dead_letter(?, null, ?, ?, true, ?)",
                        c.id(), actor, reason, p.autoRequeueDelay().toMillis()));
                prior.put(c.stepId(), done + 1);
                metrics.autoRequeued(c.namespace());
            } catch (DataAccessException e) {
                LOG.log(System.Logger.Level.INFO, "dead letter " + c.id() + " not requeued automatically: " + SqlErrors.serverMessage(e));
            }
        }
    }

    /** Checks the alert thresholds now; returns the alerts raised (none within a cooldown). */
    public List<DeadLetterAlert> checkAlertsOnce() {
        return alerts.check(policy);
    }

    /** Deletes up to {@link DlqPolicy#retentionBatch()} resolved letters older than the retention. Returns how many. */
    public int purgeOnce() {
        DlqPolicy p = policy;
        int n = dsl.fetchOne("select ordo.purge_dead_letters(now() - ? * interval '1 millisecond', ?)",
                p.retention().toMillis(), p.retentionBatch()).get(0, Integer.class);
        if (n > 0) {
            metrics.purged(n);
            if (n == p.retentionBatch()) {
                nextPurge = clock.instant(); // more to delete: go on next round
            }
        }
        return n;
    }

    /**
     * Stops gracefully: marks the node draining, finishes the batch in progress (its transaction commits or rolls
     * back whole), then leaves the registry.
     */
    @Override
    public void close() {
        if (!running) {
            return;
        }
        try {
            membership.drain();
        } catch (OrdoException e) {
            LOG.log(System.Logger.Level.WARNING, "dlq-processor " + settings.nodeId() + " could not mark itself draining: " + e.getMessage());
        }
        running = false;
        wake.signal();
        try {
            loop.join(Duration.ofSeconds(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        subscriptions.forEach(Subscription::close);
        membership.close();
    }

    private static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            return "unknown";
        }
    }

    static String version() {
        return Objects.requireNonNullElse(DlqProcessor.class.getPackage().getImplementationVersion(), "0.1.0-SNAPSHOT");
    }
}

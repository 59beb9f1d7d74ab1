package io.ordo.dlq;

import io.ordo.dlq.DeadLetterAlert.Kind;
import org.jooq.DSLContext;
import org.jooq.Record;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;

/**
 * Compares each namespace's dead letters with the policy's thresholds and raises an alert when one is passed: an
 * {@code alerted} event in {@code ordo.dead_letter_event} (which is also how several nodes agree that an alert was
 * raised once per cooldown), a metric, a structured log line and, when configured, a webhook POST.
 */
final class AlertChecker {
    private static final System.Logger LOG = System.getLogger(AlertChecker.class.getName());
    private static final Duration WEBHOOK_TIMEOUT = Duration.ofSeconds(10);

    private final DSLContext dsl;
    private final String actor;
    private final DlqMetrics metrics;
    private final HttpClient http;

    AlertChecker(DSLContext dsl, String actor, DlqMetrics metrics) {
        this.dsl = dsl;
        this.actor = actor;
        this.metrics = metrics;
        this.http = HttpClient.newBuilder().connectTimeout(WEBHOOK_TIMEOUT).build();
    }

    /** Checks every namespace once; returns the alerts this call raised (and published). */
    List<DeadLetterAlert> check(DlqPolicy policy) {
        List<DeadLetterAlert> raised = dsl.transactionResult(cfg -> record(cfg.dsl(), policy));
        for (DeadLetterAlert alert : raised) {
            publish(alert, policy);
        }
        return raised;
    }

    private List<DeadLetterAlert> record(DSLContext tx, DlqPolicy policy) {
        // one node at a time, so that a second node sees the first one's alert and respects the cooldown
        tx.execute("select pg_advisory_xact_lock(1869767791, 7)");
        long windowMs = policy.alertWindow().toMillis();
        List<DeadLetterAlert> raised = new ArrayList<>();
        for (Record r : tx.fetch("""
                select namespace,
                       count(*) filter (where dead_lettered_at >= now() - ? * interval '1 millisecond'),
                       count(*) filter (where status = 'open')
                from ordo.dead_letter
                where status = 'open' or dead_lettered_at >= now() - ? * interval '1 millisecond'
                group by namespace
                order by namespace""", windowMs, windowMs)) {
            String namespace = r.get(0, String.class);
            DlqPolicy.Thresholds t = policy.thresholds(namespace);
            long recent = r.get(1, Long.class);
            long open = r.get(2, Long.class);
            if (recent >= t.rate()) {
                raise(tx, policy, namespace, Kind.RATE, recent, t.rate()).ifPresent(raised::add);
            }
            if (open >= t.count()) {
                raise(tx, policy, namespace, Kind.COUNT, open, t.count()).ifPresent(raised::add);
            }
        }
        return raised;
    }

    private java.util.Optional<DeadLetterAlert> raise(DSLContext tx, DlqPolicy policy, String namespace, Kind kind,
                                                      long observed, long threshold) {
        DeadLetterAlert draft = new DeadLetterAlert(namespace, kind, observed, threshold, policy.alertWindow(), null, actor);
        Record inserted = tx.fetchOne("""
                insert into ordo.dead_letter_event (dead_letter_id, namespace, kind, actor, reason, detail)
                select null, ?, 'alerted', ?, ?,
                       jsonb_build_object('alert', ?, 'observed', ?, 'threshold', ?, 'window_ms', ?)
                where not exists (select 1 from ordo.dead_letter_event e
                                  where e.kind = 'alerted' and e.namespace = ? and e.detail ->> 'alert' = ?
                                    and e.at > now() - ? * interval '1 millisecond')
                returning at""",
                namespace, actor, draft.describe(), kind.label(), observed, threshold, policy.alertWindow().toMillis(),
                namespace, kind.label(), policy.alertCooldown().toMillis());
        if (inserted == null) {
            return java.util.Optional.empty(); // raised within the cooldown already
        }
        return java.util.Optional.of(new DeadLetterAlert(namespace, kind, observed, threshold, policy.alertWindow(),
                inserted.get(0, OffsetDateTime.class).toInstant(), actor));
    }

    private void publish(DeadLetterAlert alert, DlqPolicy policy) {
        metrics.alert(alert);
        LOG.log(System.Logger.Level.WARNING, alert.toJson());
        if (policy.webhook() == null) {
            return;
        }
        HttpRequest request = HttpRequest.newBuilder(policy.webhook())
                .timeout(WEBHOOK_TIMEOUT)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(alert.toJson()))
                .build();
        http.sendAsync(request, HttpResponse.BodyHandlers.discarding()).whenComplete((response, error) -> {
            if (error != null || response.statusCode() >= 300) {
                metrics.webhookFailed();
                LOG.log(System.Logger.Level.WARNING, "dlq alert webhook " + policy.webhook() + " failed: "
                        + (error != null ? error : "HTTP " + response.statusCode()));
            }
        });
    }
}

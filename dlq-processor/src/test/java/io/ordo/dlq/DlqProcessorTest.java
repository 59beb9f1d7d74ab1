package io.ordo.dlq;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.ordo.Json;
import io.ordo.dlq.TestWorker.Failed;
import io.ordo.dlq.TestWorker.Succeeded;
import io.ordo.task.TaskClient;
import io.ordo.template.TemplateRegistry;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The dlq-processor node: classification by several nodes at once, automatic requeues, alerts, retention. */
@ExtendWith(OrdoDatabaseExtension.class)
class DlqProcessorTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static DSLContext dsl;
    private static TestDatabase db;

    @BeforeAll
    static void start(TestDatabase database) {
        db = database;
        dsl = database.dsl();
    }

    /** Inserts letters the way the orchestrator does for messages (no task), in one statement. */
    private static void insertLetters(String namespace, String errorClass, int n) {
        dsl.execute("""
                insert into ordo.dead_letter (namespace, reason, error_class, message, last_error, first_failed_at)
                select ?, 'attempts_exhausted', ?, jsonb_build_object('i', i), jsonb_build_object('class', ?::text), now()
                from generate_series(1, ?) i""", namespace, errorClass, errorClass, n);
    }

    private static void setConfig(String key, String jsonValue) {
        dsl.fetch("select ordo.set_config(?, ?::jsonb, 'test')", key, jsonValue);
    }

    @Test
    void two_processors_running_at_once_classify_every_letter_exactly_once() {
        try (DlqFixture fixture = new DlqFixture(db)) {
            DlqProcessor first = fixture.processor("dlq-a");
            DlqProcessor second = fixture.processor("dlq-b");
            assertThat(dsl.fetch("select node_id from ordo.node where role = 'dlq' and status = 'active' and node_id in ('dlq-a', 'dlq-b')"
                    + " order by node_id")
                    .getValues(0, String.class)).containsExactly("dlq-a", "dlq-b");
            String[] classes = {"StepTimeout", "UnknownHandler", "java.io.IOException", "com.example.WeirdError"};
            for (int round = 0; round < 30; round++) {
                insertLetters(round % 2 == 0 ? "twins_a" : "twins_b", classes[round % classes.length], 100);
            }
            await().atMost(WAIT).pollInterval(Duration.ofMillis(50)).until(() -> dsl.fetchOne(
                    "select count(*) from ordo.dead_letter where namespace like 'twins_%' and classified_at is null").get(0, Integer.class) == 0);

            assertThat(dsl.fetchOne("""
                    select count(*) from ordo.dead_letter_event e join ordo.dead_letter d on d.id = e.dead_letter_id
                    where e.kind = 'classified' and d.namespace like 'twins_%'""").get(0, Integer.class)).isEqualTo(3000);
            assertThat(dsl.fetch("select dead_letter_id from ordo.dead_letter_event where kind = 'classified'"
                    + " group by dead_letter_id having count(*) > 1")).as("letters classified twice").isEmpty();
            assertThat(first.metrics().classified() + second.metrics().classified()).isEqualTo(3000);
            Map<String, String> byClass = dsl.fetch("select distinct error_class, classification from ordo.dead_letter"
                    + " where namespace like 'twins_%'").intoMap(r -> r.get(0, String.class), r -> r.get(1, String.class));
            assertThat(byClass).containsExactlyInAnyOrderEntriesOf(Map.of("StepTimeout", "transient", "UnknownHandler", "permanent",
                    "java.io.IOException", "transient", "com.example.WeirdError", "unknown"));
            assertThat(dsl.fetch("select distinct classified_by from ordo.dead_letter where namespace like 'twins_%'")
                    .getValues(0, String.class)).allMatch(by -> by.equals("dlq:dlq-a") || by.equals("dlq:dlq-b"));
        }
        assertThat(dsl.fetchOne("select count(*) from ordo.node where node_id in ('dlq-a', 'dlq-b')").get(0, Integer.class))
                .as("stopped nodes leave the registry").isZero();
    }

    @Test
    void a_new_letter_wakes_an_idle_processor_at_once_rather_than_at_its_next_poll() {
        try (DlqFixture fixture = new DlqFixture(db)) {
            DlqProcessor processor = fixture.server("dlq-sleepy", -1, Map.of("queue.poll_interval_min", "20s",
                    "queue.poll_interval_max", "20s")).processor();
            await().atMost(WAIT).until(() -> processor.lastRoundAt() != null);
            insertLetters("wakeup", "StepTimeout", 1);
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20)).until(() -> dsl.fetchOne(
                    "select count(*) from ordo.dead_letter where namespace = 'wakeup' and classified_at is not null").get(0, Integer.class) == 1);
        }
    }

    @Test
    @Tag("chaos")
    void letters_are_classified_exactly_once_when_a_processor_loses_its_database_sessions_or_stops_mid_stream() throws Exception {
        try (DlqFixture fixture = new DlqFixture(db)) {
            DlqProcessor survivor = fixture.processor("dlq-survivor");
            DlqProcessor victim = fixture.processor("dlq-victim");
            for (int round = 0; round < 20; round++) {
                insertLetters("chaos_ns", round % 2 == 0 ? "WorkerLost" : "UnknownHandler", 100);
                if (round == 5 || round == 10) {
                    db.terminateSessions("dlq-dlq-victim"); // its transactions in flight roll back; its pool reconnects
                }
                if (round == 15) {
                    victim.close(); // finishes the batch it holds, then leaves
                }
            }
            await().atMost(WAIT).pollInterval(Duration.ofMillis(50)).until(() -> dsl.fetchOne(
                    "select count(*) from ordo.dead_letter where namespace = 'chaos_ns' and classified_at is null").get(0, Integer.class) == 0);
            assertThat(dsl.fetchOne("select count(*) from ordo.dead_letter_event e join ordo.dead_letter d on d.id = e.dead_letter_id"
                    + " where e.kind = 'classified' and d.namespace = 'chaos_ns'").get(0, Integer.class)).isEqualTo(2000);
            assertThat(dsl.fetch("select dead_letter_id from ordo.dead_letter_event where kind = 'classified'"
                    + " group by dead_letter_id having count(*) > 1")).as("letters classified twice").isEmpty();
            assertThat(survivor.metrics().classified()).isPositive();
        }
    }

    @Test
    void a_transient_failure_is_requeued_automatically_a_bounded_number_of_times() {
        new TemplateRegistry(dsl).register(DlqFixture.chainTemplate("shipping", "ship", "carrier_api", 1));
        try (DlqFixture fixture = new DlqFixture(db)) {
            DlqProcessor processor = fixture.processor("dlq-auto");
            // the policy is read from the config table and follows it without a restart
            setConfig("dlq.auto_requeue_max", "2");
            setConfig("dlq.auto_requeue_delay", "\"0s\"");
            await().atMost(WAIT).until(() -> processor.policy().autoRequeueMax() == 2);
            fixture.orchestrator("orch-auto");
            fixture.track(new TestWorker(dsl, "shipping", Map.of(
                    "ok", s -> new Succeeded(Map.of()),
                    "carrier_api", s -> new Failed("java.net.ConnectException", "connection refused", false))));

            long taskId = new TaskClient(dsl).submit("shipping", "ship", "{}");
            await().atMost(WAIT).pollInterval(Duration.ofMillis(50)).until(() -> dsl.fetchOne(
                    "select count(*) from ordo.dead_letter where task_id = ? and classified_at is not null and status = 'open'"
                            + " and classification = 'transient'", taskId).get(0, Integer.class) == 1
                    && dsl.fetchOne("select count(*) from ordo.dead_letter where task_id = ?", taskId).get(0, Integer.class) == 3);

            List<Record> all = dsl.fetch("select status, resolved_by, resolved_reason from ordo.dead_letter where task_id = ? order by id", taskId);
            assertThat(all).extracting(r -> r.get(0, String.class)).containsExactly("requeued", "requeued", "open");
            assertThat(all.get(0).get(1, String.class)).isEqualTo("dlq:dlq-auto");
            assertThat(all.get(0).get(2, String.class)).contains("1 of 2");
            assertThat(all.get(1).get(2, String.class)).contains("2 of 2");
            assertThat(dsl.fetchOne("select count(*) from ordo.dead_letter_event e join ordo.dead_letter d on d.id = e.dead_letter_id"
                    + " where d.task_id = ? and e.kind = 'auto_requeued'", taskId).get(0, Integer.class)).isEqualTo(2);
            assertThat(dsl.fetchOne("select status from ordo.task where id = ?", taskId).get(0, String.class)).isEqualTo("failed");
            assertThat(processor.metrics().autoRequeued()).isEqualTo(2);
        } finally {
            dsl.fetch("select ordo.reset_config('dlq.auto_requeue_max', 'test')");
        }
    }

    @Test
    void an_alert_is_raised_once_per_cooldown_as_a_metric_a_log_event_and_a_webhook_call() throws Exception {
        List<String> posted = new CopyOnWriteArrayList<>();
        HttpServer hook = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        hook.createContext("/hook", exchange -> {
            posted.add(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        hook.start();
        List<String> logged = new CopyOnWriteArrayList<>();
        Logger log = Logger.getLogger(AlertChecker.class.getName());
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                logged.add(record.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        log.addHandler(capture);
        try (DlqFixture fixture = new DlqFixture(db)) {
            setConfig("dlq.alert.paging.rate", "5");
            setConfig("dlq.alert.cooldown", "\"1h\"");
            setConfig("dlq.alert.webhook", "\"http://127.0.0.1:" + hook.getAddress().getPort() + "/hook\"");
            DlqProcessor processor = fixture.processor("dlq-alerts");
            insertLetters("paging", "java.io.IOException", 6);

            await().atMost(WAIT).until(() -> posted.stream().anyMatch(b -> b.contains("\"paging\"")));
            JsonNode alert = Json.parse(posted.stream().filter(b -> b.contains("\"paging\"")).findFirst().orElseThrow());
            assertThat(alert.path("event").asText()).isEqualTo("ordo.dlq.alert");
            assertThat(alert.path("alert").asText()).isEqualTo("rate");
            assertThat(alert.path("observed").asLong()).isGreaterThanOrEqualTo(5);
            assertThat(alert.path("threshold").asLong()).isEqualTo(5);
            assertThat(alert.path("raised_by").asText()).isEqualTo("dlq:dlq-alerts");
            assertThat(logged).anyMatch(m -> m.contains("\"event\":\"ordo.dlq.alert\"") && m.contains("\"paging\""));
            assertThat(processor.metrics().alerts()).isGreaterThanOrEqualTo(1);
            assertThat(fixture.telemetry("dlq-alerts").prometheus().scrape())
                    .containsPattern("ordo_dlq_alerts(_total)?\\{[^}]*namespace=\"paging\"[^}]*} 1");
            assertThat(dsl.fetchOne("select count(*) from ordo.dead_letter_event where kind = 'alerted' and namespace = 'paging'")
                    .get(0, Integer.class)).isEqualTo(1);

            // within the cooldown, more letters raise nothing more, on this node or any other
            insertLetters("paging", "java.io.IOException", 6);
            DlqProcessor other = fixture.processor("dlq-alerts-2");
            assertThat(processor.checkAlertsOnce()).noneMatch(a -> a.namespace().equals("paging"));
            assertThat(other.checkAlertsOnce()).noneMatch(a -> a.namespace().equals("paging"));
            assertThat(dsl.fetchOne("select count(*) from ordo.dead_letter_event where kind = 'alerted' and namespace = 'paging'")
                    .get(0, Integer.class)).isEqualTo(1);
            assertThat(posted.stream().filter(b -> b.contains("\"paging\""))).hasSize(1);
        } finally {
            log.removeHandler(capture);
            hook.stop(0);
            dsl.fetch("select ordo.reset_config('dlq.alert.webhook', 'test')");
        }
    }

    @Test
    void a_dlq_server_registers_with_the_port_it_listens_on_and_leaves_the_registry_when_stopped() throws Exception {
        try (DlqFixture fixture = new DlqFixture(db)) {
            DlqServer server = fixture.server("dlq-web", 0);
            assertThat(server.port()).isPositive();
            assertThat(dsl.fetchOne("select role, status, metadata->>'http_port' from ordo.node where node_id = 'dlq-web'").intoArray())
                    .containsExactly("dlq", "active", Integer.toString(server.port()));
            java.net.http.HttpResponse<String> reply = java.net.http.HttpClient.newHttpClient().send(
                    java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + server.port() + "/v1/dlq/stats")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(reply.statusCode()).isEqualTo(401);
            assertThat(Json.parse(reply.body()).path("type").asText()).isEqualTo("urn:ordo:problem:unauthenticated");
            server.close();
            assertThat(dsl.fetchOne("select count(*) from ordo.node where node_id = 'dlq-web'").get(0, Integer.class)).isZero();
        }
    }

    @Test
    void a_malformed_dlq_setting_is_refused_when_it_is_set_and_names_the_key() {
        assertThatThrownBy(() -> setConfig("dlq.rules", "\"[{\\\"match\\\": \\\"X\\\"}]\""))
                .hasMessageContaining("config key \"dlq.rules\"").hasMessageContaining("\"as\" must be");
        assertThatThrownBy(() -> setConfig("dlq.rules", "\"{oops\"")).hasMessageContaining("malformed JSON");
        assertThatThrownBy(() -> setConfig("dlq.alert.webhook", "\"mailto:ops@example.com\""))
                .hasMessageContaining("config key \"dlq.alert.webhook\" must be an http:// or https:// URL");
        assertThatThrownBy(() -> setConfig("dlq.auto_requeue_max", "1000")).hasMessageContaining("dlq.auto_requeue_max");
        assertThatThrownBy(() -> setConfig("dlq.alert.Bad-Ns.rate", "5")).hasMessageContaining("unknown config key");
        assertThat(dsl.fetchOne("select count(*) from ordo.config where key in ('dlq.rules', 'dlq.alert.webhook')").get(0, Integer.class))
                .isZero();
    }

    @Test
    void retention_deletes_resolved_letters_past_it_in_batches_and_never_an_open_one() {
        dsl.execute("""
                insert into ordo.dead_letter (namespace, reason, error_class, dead_lettered_at, status, resolved_by, resolved_reason, resolved_at)
                select 'retained', 'attempts_exhausted', 'X', now() - interval '60 days',
                       case when i <= 25 then 'discarded' else 'open' end,
                       case when i <= 25 then 'ops' end, case when i <= 25 then 'old' end,
                       case when i <= 25 then now() - interval '40 days' end
                from generate_series(1, 30) i""");
        dsl.execute("""
                insert into ordo.dead_letter (namespace, reason, error_class, status, resolved_by, resolved_reason, resolved_at)
                select 'retained', 'attempts_exhausted', 'X', 'discarded', 'ops', 'recent', now() - interval '1 day'
                from generate_series(1, 5)""");
        dsl.execute("""
                insert into ordo.dead_letter_event (dead_letter_id, namespace, kind, actor, reason)
                select id, namespace, 'discarded', 'ops', resolved_reason from ordo.dead_letter where namespace = 'retained' and status = 'discarded'""");

        assertThat(dsl.fetchOne("select ordo.purge_dead_letters(now() - interval '30 days', 10)").get(0, Integer.class))
                .as("one batch at most").isEqualTo(10);
        try (DlqFixture fixture = new DlqFixture(db)) {
            setConfig("dlq.retention_batch", "7");
            DlqProcessor processor = fixture.processor("dlq-retention");
            await().atMost(WAIT).until(() -> dsl.fetchOne(
                    "select count(*) from ordo.dead_letter where namespace = 'retained' and resolved_reason = 'old'").get(0, Integer.class) == 0);
            assertThat(processor.metrics().purged()).isEqualTo(15);
        }
        assertThat(dsl.fetchOne("select count(*) from ordo.dead_letter where namespace = 'retained' and status = 'open'")
                .get(0, Integer.class)).as("open letters are never deleted, however old").isEqualTo(5);
        assertThat(dsl.fetchOne("select count(*) from ordo.dead_letter where namespace = 'retained' and resolved_reason = 'recent'")
                .get(0, Integer.class)).isEqualTo(5);
        assertThat(dsl.fetchOne("select count(*) from ordo.dead_letter_event where namespace = 'retained' and kind = 'discarded'")
                .get(0, Integer.class)).as("events go with their letters").isEqualTo(5);
    }
}

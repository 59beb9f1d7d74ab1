package io.ordo.orchestrator;

import com.fasterxml.jackson.databind.JsonNode;
import io.opentelemetry.api.OpenTelemetry;
import io.ordo.Json;
import io.ordo.http.auth.Role;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The task, template, queue, cluster, config and token routes against a real node and database. */
@ExtendWith(OrdoDatabaseExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TaskApiTest {
    private ApiFixture api;

    @BeforeAll
    void start(TestDatabase db) {
        api = new ApiFixture(db);
        assertThat(api.put("/v1/templates", Role.OPERATOR, ApiFixture.template("shop", "order", "1", "pick", "pack", "ship"))
                .statusCode()).isEqualTo(201);
    }

    @AfterAll
    void stop() {
        api.close();
    }

    private static JsonNode json(HttpResponse<String> res) {
        return Json.parse(res.body());
    }

    private HttpResponse<String> submit(String body) {
        return api.post("/v1/tasks", Role.SUBMITTER, body);
    }

    private void assertProblem(HttpResponse<String> res, int status, String field) {
        assertThat(res.statusCode()).as(res.body()).isEqualTo(status);
        assertThat(res.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        JsonNode p = json(res);
        assertThat(p.get("status").asInt()).isEqualTo(status);
        assertThat(p.get("detail").asText()).isNotBlank();
        if (field != null) {
            assertThat(p.path("field").asText()).as(res.body()).isEqualTo(field);
        }
    }

    @Test
    void a_submission_creates_the_task_with_201_and_location_and_a_repeat_of_its_key_returns_it_with_200() {
        HttpResponse<String> first = submit("{\"namespace\":\"shop\",\"template\":\"order\",\"context\":{\"sku\":\"A-1\"},"
                + "\"idempotency_key\":\"order-1\",\"priority\":5,\"correlation_id\":\"c-1\"}");
        assertThat(first.statusCode()).as(first.body()).isEqualTo(201);
        long id = json(first).get("id").asLong();
        assertThat(first.headers().firstValue("Location")).hasValue("/v1/tasks/" + id);
        assertThat(json(first).get("context").get("sku").asText()).isEqualTo("A-1");
        assertThat(json(first).get("steps")).hasSize(3);

        HttpResponse<String> repeat = submit("{\"namespace\":\"shop\",\"template\":\"order\",\"context\":{\"sku\":\"A-1\"},"
                + "\"idempotency_key\":\"order-1\"}");
        assertThat(repeat.statusCode()).isEqualTo(200);
        assertThat(json(repeat).get("id").asLong()).isEqualTo(id);
        assertThat(repeat.headers().firstValue("Location")).isEmpty();
    }

    @Test
    void concurrent_repeats_of_one_idempotency_key_create_exactly_one_task() throws Exception {
        int n = 8;
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Callable<HttpResponse<String>>> calls = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                calls.add(() -> submit("{\"namespace\":\"shop\",\"template\":\"order\",\"idempotency_key\":\"race-1\"}"));
            }
            List<Integer> statuses = new ArrayList<>();
            Set<Long> ids = new TreeSet<>();
            for (Future<HttpResponse<String>> f : pool.invokeAll(calls)) {
                statuses.add(f.get().statusCode());
                ids.add(json(f.get()).get("id").asLong());
            }
            assertThat(statuses).containsOnly(200, 201);
            assertThat(statuses.stream().filter(s -> s == 201)).hasSize(1);
            assertThat(ids).hasSize(1);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void a_task_shows_its_steps_attempts_results_timestamps_and_transition_log() {
        long id = json(submit("{\"namespace\":\"shop\",\"template\":\"order\"}")).get("id").asLong();
        TestWorker worker = new TestWorker(api.db.dsl(), "shop", OpenTelemetry.noop());
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> {
            worker.runOnce();
            return json(api.get("/v1/tasks/" + id, Role.READER)).get("status").asText().equals("complete");
        });
        JsonNode task = json(api.get("/v1/tasks/" + id, Role.READER));
        assertThat(task.get("steps_complete").asInt()).isEqualTo(3);
        assertThat(task.get("completed_at").asText()).isNotBlank();
        for (JsonNode step : task.get("steps")) {
            assertThat(step.get("status").asText()).isEqualTo("complete");
            assertThat(step.get("attempt").asInt()).isEqualTo(1);
            assertThat(step.get("result").get("step").asText()).isEqualTo(step.get("name").asText());
            assertThat(step.get("started_at").asText()).isNotBlank();
        }
        JsonNode log = json(api.get("/v1/tasks/" + id + "/transitions", Role.READER));
        List<String> states = new ArrayList<>();
        log.get("items").forEach(t -> states.add((t.get("step_name").isNull() ? "task" : t.get("step_name").asText()) + ":"
                + t.get("to_state").asText()));
        assertThat(states).startsWith("task:pending").contains("pick:enqueued", "pick:in_progress", "pick:complete", "ship:complete")
                .endsWith("task:complete");
        JsonNode page = json(api.get("/v1/tasks/" + id + "/transitions?limit=2", Role.READER));
        assertThat(page.get("items")).hasSize(2);
        JsonNode next = json(api.get("/v1/tasks/" + id + "/transitions?limit=2&after=" + page.get("next_cursor").asText(), Role.READER));
        assertThat(next.get("items").get(0).get("seq").asLong()).isGreaterThan(page.get("items").get(1).get("seq").asLong());
    }

    @Test
    void tasks_are_listed_newest_first_by_namespace_and_status_in_cursor_pages() {
        api.put("/v1/templates", Role.OPERATOR, ApiFixture.template("listing", "one", "1", "a"));
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            ids.add(json(submit("{\"namespace\":\"listing\",\"template\":\"one\"}")).get("id").asLong());
        }
        JsonNode first = json(api.get("/v1/tasks?namespace=listing&limit=3", Role.READER));
        assertThat(first.get("items")).hasSize(3);
        assertThat(first.get("items").get(0).get("id").asLong()).isEqualTo(ids.get(4));
        assertThat(first.get("items").get(0).has("context")).isFalse();
        JsonNode second = json(api.get("/v1/tasks?namespace=listing&limit=3&cursor=" + first.get("next_cursor").asText(), Role.READER));
        assertThat(second.get("items")).hasSize(2);
        assertThat(second.get("next_cursor").isNull()).isTrue();
        assertThat(second.get("items").get(1).get("id").asLong()).isEqualTo(ids.get(0));
        JsonNode cancelled = json(api.get("/v1/tasks?namespace=listing&status=cancelled", Role.READER));
        assertThat(cancelled.get("items")).isEmpty();
        assertProblem(api.get("/v1/tasks?status=done", Role.READER), 400, "status");
        assertProblem(api.get("/v1/tasks?limit=0", Role.READER), 400, "limit");
        assertProblem(api.get("/v1/tasks?cursor=abc", Role.READER), 400, "cursor");
        assertProblem(api.get("/v1/tasks?namespace=Bad-Name", Role.READER), 400, "namespace");
    }

    @Test
    void cancelling_a_task_cancels_it_again_is_harmless_and_a_finished_task_is_a_conflict() {
        api.put("/v1/templates", Role.OPERATOR, ApiFixture.template("cancelling", "slow", "1", "a", "b"));
        long id = json(submit("{\"namespace\":\"cancelling\",\"template\":\"slow\"}")).get("id").asLong();
        HttpResponse<String> cancel = api.post("/v1/tasks/" + id + "/cancel", Role.OPERATOR, "{\"reason\":\"customer asked\"}");
        assertThat(cancel.statusCode()).as(cancel.body()).isEqualTo(200);
        assertThat(json(cancel).get("status").asText()).isEqualTo("cancelled");
        assertThat(api.post("/v1/tasks/" + id + "/cancel", Role.OPERATOR, null).statusCode()).isEqualTo(200);
        JsonNode log = json(api.get("/v1/tasks/" + id + "/transitions", Role.READER));
        assertThat(log.get("items").get(log.get("items").size() - 1).get("actor").asText()).isEqualTo("api:test-operator");

        long done = json(submit("{\"namespace\":\"cancelling\",\"template\":\"slow\"}")).get("id").asLong();
        TestWorker worker = new TestWorker(api.db.dsl(), "cancelling", OpenTelemetry.noop());
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> {
            worker.runOnce();
            return json(api.get("/v1/tasks/" + done, Role.READER)).get("status").asText().equals("complete");
        });
        assertProblem(api.post("/v1/tasks/" + done + "/cancel", Role.OPERATOR, null), 409, null);
        assertProblem(api.post("/v1/tasks/999999999/cancel", Role.OPERATOR, null), 404, null);
        assertProblem(api.post("/v1/tasks/" + id + "/cancel", Role.OPERATOR, "{\"reason\":\"x\",\"force\":true}"), 400, "force");
    }

    @Test
    void templates_are_registered_as_yaml_or_json_read_back_and_a_changed_body_under_a_taken_version_is_a_conflict() {
        String yaml = """
                namespace: billing
                name: invoice
                version: "1.2"
                steps:
                  - name: render
                    handler: pdf.render
                  - name: send
                    handler: mail.send
                    depends_on: [render]
                """;
        HttpResponse<String> created = api.put("/v1/templates", Role.OPERATOR, yaml);
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        assertThat(created.headers().firstValue("Location")).hasValue("/v1/templates/billing/invoice/1.2");
        assertThat(api.put("/v1/templates", Role.OPERATOR, yaml).statusCode()).isEqualTo(200);
        JsonNode t = json(api.get("/v1/templates/billing/invoice/1.2", Role.READER));
        assertThat(t.get("steps")).hasSize(2);
        assertThat(json(api.get("/v1/templates?namespace=billing", Role.READER)).get("items")).hasSize(1);
        assertProblem(api.put("/v1/templates", Role.OPERATOR, yaml.replace("mail.send", "mail.post")), 409, null);
        assertProblem(api.get("/v1/templates/billing/invoice/9", Role.READER), 404, null);
        assertProblem(api.put("/v1/templates", Role.OPERATOR, ApiFixture.template("billing", "loop", "1", "a")
                .replace("\"depends_on\":[]", "\"depends_on\":[\"a\"]")), 400, null);
    }

    @Test
    void hostile_ids_names_and_paths_get_problem_details_and_change_nothing() {
        Map<String, Long> before = api.rowCounts();
        assertProblem(api.get("/v1/tasks/abc", Role.READER), 400, "id");
        assertProblem(api.get("/v1/tasks/1;drop", Role.READER), 400, "path");
        assertProblem(api.get("/v1/tasks/1%3Bdrop%20table%20ordo.task", Role.READER), 400, "id");
        assertProblem(api.get("/v1/tasks/99999999999999999999999999", Role.READER), 400, "id");
        assertProblem(api.get("/v1/tasks/" + "9".repeat(500), Role.READER), 400, "id");
        assertProblem(api.get("/v1/tasks/" + "9".repeat(50_000), Role.READER), 414, null);
        assertProblem(api.get("/v1/tasks/0", Role.READER), 400, "id");
        assertProblem(api.get("/v1/tasks/-1", Role.READER), 400, "id");
        assertProblem(api.get("/v1/tasks/9223372036854775807", Role.READER), 404, null);
        assertProblem(api.post("/v1/tasks/abc/cancel", Role.OPERATOR, null), 400, "id");
        assertProblem(api.get("/v1/tasks/abc/transitions", Role.READER), 400, "id");

        HttpResponse<String> traversal = api.get("/v1/templates/..%2F..%2Fetc/passwd/1", Role.READER);
        assertThat(traversal.statusCode()).isIn(400, 404);
        assertThat(traversal.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(traversal.body()).doesNotContain("root:");
        assertProblem(api.get("/v1/templates/shop%27%3B%20drop%20table%20ordo.task%3B--/order/1", Role.READER), 400, "namespace");
        assertProblem(api.get("/v1/templates/shop/ORDER/1", Role.READER), 400, "name");
        assertProblem(api.get("/v1/templates/shop/order/1.x", Role.READER), 400, "version");

        assertProblem(submit("{\"namespace\":\"shop'; drop table ordo.task; --\",\"template\":\"order\"}"), 400, "namespace");
        assertProblem(submit("{\"namespace\":\"" + "a".repeat(10_000) + "\",\"template\":\"order\"}"), 400, "namespace");
        assertProblem(submit("{\"namespace\":\"shop\",\"template\":\"../../etc/passwd\"}"), 400, "template");
        assertProblem(submit("{\"namespace\":\"shop\",\"template\":\"order\u0000\"}"), 400, "template");
        assertProblem(submit("{\"namespace\":\"shop\",\"template\":\"order\",\"version\":\"1; select 1\"}"), 400, "version");
        assertProblem(submit("{\"namespace\":\"nowhere\",\"template\":\"order\"}"), 404, null);
        assertProblem(submit("{\"namespace\":\"shop\",\"template\":\"nothing\"}"), 404, null);
        assertProblem(api.put("/v1/config/election.interval%27%3B--", Role.OPERATOR, "{\"value\":\"1s\"}"), 400, "key");
        assertProblem(api.put("/v1/config/no.such_key", Role.OPERATOR, "{\"value\":\"1s\"}"), 400, "key");
        assertProblem(api.send("DELETE", "/v1/tokens/abc", Role.ADMIN, null), 400, "id");
        HttpResponse<String> unknown = api.get("/v1/nothing/here", Role.ADMIN);
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(unknown.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(api.rowCounts()).isEqualTo(before);
    }

    @Test
    void malformed_json_unknown_fields_and_wrong_types_are_refused_naming_the_field() {
        Map<String, Long> before = api.rowCounts();
        assertProblem(submit("{\"namespace\":\"shop\",\"template\":"), 400, "body");
        assertProblem(submit("not json at all"), 400, "body");
        assertProblem(submit(""), 400, "body");
        assertProblem(submit("[]"), 400, "body");
        assertProblem(submit("null"), 400, "body");
        assertProblem(submit("{\"namespace\":\"shop\",\"template\":\"order\"} {}"), 400, "body");
        assertProblem(submit("{\"namespace\":\"shop\",\"namespace\":\"other\",\"template\":\"order\"}"), 400, "body");
        assertProblem(submit("{\"namespace\":\"shop\",\"template\":\"order\",\"tenant\":\"x\"}"), 400, "tenant");
        assertProblem(submit("{\"namespace\":\"shop\",\"template\":\"order\",\"priority\":\"high\"}"), 400, "priority");
        assertProblem(submit("{\"namespace\":\"shop\",\"template\":\"order\",\"priority\":1000}"), 400, "priority");
        assertProblem(submit("{\"namespace\":\"shop\",\"template\":\"order\",\"context\":[1,2]}"), 400, "context");
        assertProblem(submit("{\"namespace\":\"shop\",\"template\":\"order\",\"idempotency_key\":\"" + "k".repeat(201) + "\"}"), 400,
                "idempotency_key");
        assertProblem(submit("{\"template\":\"order\"}"), 400, "namespace");
        assertProblem(api.put("/v1/templates", Role.OPERATOR, "steps: [unclosed"), 400, null);
        assertProblem(api.put("/v1/config/election.interval", Role.OPERATOR, "{\"value\":\"fast\"}"), 400, "value");
        assertProblem(api.put("/v1/config/election.interval", Role.OPERATOR, "{\"value\":\"1s\",\"extra\":1}"), 400, "extra");
        assertProblem(api.post("/v1/tokens", Role.ADMIN, "{\"role\":\"root\"}"), 400, "role");
        assertThat(api.rowCounts()).isEqualTo(before);
    }

    @Test
    void bodies_over_the_limit_get_413_whether_their_length_is_announced_or_streamed() {
        Map<String, Long> before = api.rowCounts();
        String big = "{\"namespace\":\"shop\",\"template\":\"order\",\"context\":{\"blob\":\"" + "x".repeat(200 * 1024) + "\"}}";
        assertProblem(submit(big), 413, "body");
        HttpRequest streamed = HttpRequest.newBuilder(api.uri("/v1/tasks"))
                .header("Authorization", "Bearer " + api.tokens.get(Role.SUBMITTER))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big.getBytes())))
                .build();
        HttpResponse<String> res = api.send(streamed);
        assertThat(res.statusCode()).isEqualTo(413);
        assertThat(res.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertProblem(api.put("/v1/templates", Role.OPERATOR, "# " + "y".repeat(100 * 1024)), 413, "body");
        // far past what the server reads at all: refused before routing and the connection closed (RFC 9110 15.5.14);
        // the 413 races the client's unsent bytes, so a client may see a reset instead, but never anything else
        String huge = "{\"x\":\"" + "z".repeat(3 * 1024 * 1024) + "\"}";
        assertRefusedOrCut(() -> submit("{\"x\":\"" + "z".repeat(2 * 1024 * 1024) + "\"}"));
        assertRefusedOrCut(() -> api.send(HttpRequest.newBuilder(api.uri("/v1/tasks"))
                .header("Authorization", "Bearer " + api.tokens.get(Role.SUBMITTER))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(huge.getBytes()))).build()));
        assertThat(api.rowCounts()).isEqualTo(before);
        assertThat(submit("{\"namespace\":\"shop\",\"template\":\"order\"}").statusCode()).isEqualTo(201);
    }

    private void assertRefusedOrCut(Supplier<HttpResponse<String>> request) {
        HttpResponse<String> res;
        try {
            res = request.get();
        } catch (IllegalStateException e) {
            assertThat(e).hasCauseInstanceOf(IOException.class);
            return;
        }
        assertProblem(res, 413, "body");
    }

    @Test
    void a_saturated_namespace_refuses_submissions_with_429_and_retry_after() {
        api.put("/v1/templates", Role.OPERATOR, ApiFixture.template("crowded", "job", "1", "a"));
        assertThat(api.put("/v1/config/backpressure.crowded.critical", Role.OPERATOR, "{\"value\":1}").statusCode()).isEqualTo(200);
        assertThat(submit("{\"namespace\":\"crowded\",\"template\":\"job\"}").statusCode()).isEqualTo(201);
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            api.db.dsl().execute("select ordo.refresh_queue_stats()");
            return "critical".equals(api.db.dsl().fetchOne("select backpressure from ordo.namespace where name = 'crowded'")
                    .get(0, String.class));
        });
        long tasks = api.rowCounts().get("task");
        HttpResponse<String> refused = submit("{\"namespace\":\"crowded\",\"template\":\"job\"}");
        assertProblem(refused, 429, null);
        assertThat(refused.headers().firstValue("Retry-After")).hasValueSatisfying(v -> assertThat(Integer.parseInt(v)).isPositive());
        assertThat(api.rowCounts().get("task")).isEqualTo(tasks);
        assertThat(api.get("/metrics", null).body()).contains("ordo_backpressure_refusals_total{ordo_namespace=\"crowded\"} 1");
        JsonNode queues = json(api.get("/v1/queues", Role.READER));
        JsonNode crowded = null;
        for (JsonNode q : queues.get("items")) {
            if ("crowded".equals(q.path("namespace").asText())) {
                crowded = q;
            }
        }
        assertThat(crowded).isNotNull();
        assertThat(crowded.get("queue").asText()).isEqualTo("ns_crowded");
        assertThat(crowded.get("backpressure").asText()).isEqualTo("critical");
        assertThat(crowded.get("depth").asLong()).isGreaterThanOrEqualTo(1);
        assertThat(crowded.has("sent_per_second")).isTrue();
        assertThat(crowded.has("oldest_age_seconds")).isTrue();
    }

    @Test
    void cluster_and_config_are_reported_and_config_changes_through_the_validated_path() {
        JsonNode cluster = json(api.get("/v1/cluster", Role.READER));
        assertThat(cluster.get("this_node").asText()).isEqualTo(api.node.nodeId());
        await().atMost(Duration.ofSeconds(10)).until(() -> !json(api.get("/v1/cluster", Role.READER)).get("leader").isNull());
        cluster = json(api.get("/v1/cluster", Role.READER));
        assertThat(cluster.get("leader").get("node_id").asText()).isEqualTo(api.node.nodeId());
        assertThat(cluster.get("leader").get("term").asLong()).isPositive();
        assertThat(cluster.get("nodes").findValuesAsText("id")).contains(api.node.nodeId());

        HttpResponse<String> set = api.put("/v1/config/archive.retention_days", Role.OPERATOR, "{\"value\":14}");
        assertThat(set.statusCode()).as(set.body()).isEqualTo(200);
        long version = json(set).get("version").asLong();
        JsonNode config = json(api.get("/v1/config", Role.READER));
        assertThat(config.get("version").asLong()).isEqualTo(version);
        assertThat(config.get("keys").findValuesAsText("key")).contains("election.interval", "backpressure.*.critical");
        JsonNode entry = null;
        for (JsonNode e : config.get("entries")) {
            if (e.get("key").asText().equals("archive.retention_days")) {
                entry = e;
            }
        }
        assertThat(entry).isNotNull();
        assertThat(entry.get("value").asInt()).isEqualTo(14);
        assertThat(entry.get("updated_by").asText()).isEqualTo("api:test-operator");
        await().atMost(Duration.ofSeconds(10)).until(() -> api.node.config().version() >= version);
        assertThat(api.node.config().current().archiveRetentionDays()).isEqualTo(14);
        assertProblem(api.put("/v1/config/archive.retention_days", Role.OPERATOR, "{\"value\":0}"), 400, "value");
        assertThat(api.send("DELETE", "/v1/config/archive.retention_days", Role.OPERATOR, null).statusCode()).isEqualTo(200);
    }

    @Test
    void an_admin_creates_lists_and_revokes_tokens_and_a_revoked_token_is_refused() {
        HttpResponse<String> created = api.post("/v1/tokens", Role.ADMIN, "{\"role\":\"reader\",\"name\":\"dashboard\"}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        String secret = json(created).get("secret").asText();
        long id = json(created).get("token").get("id").asLong();
        assertThat(api.send("GET", "/v1/queues", secret, null, Map.of()).statusCode()).isEqualTo(200);
        assertThat(api.send("POST", "/v1/tasks", secret, "{}", Map.of()).statusCode()).isEqualTo(403);
        String list = api.get("/v1/tokens", Role.ADMIN).body();
        assertThat(list).contains("dashboard").doesNotContain(secret);
        assertThat(api.db.dsl().fetch("select token_sha256 from ordo.api_token").toString()).doesNotContain(secret);
        assertThat(api.send("DELETE", "/v1/tokens/" + id, Role.ADMIN, null).statusCode()).isEqualTo(204);
        assertThat(api.send("GET", "/v1/queues", secret, null, Map.of()).statusCode()).isEqualTo(401);
        assertProblem(api.send("DELETE", "/v1/tokens/" + id, Role.ADMIN, null), 404, null);
    }
}

package io.ordo.dlq;

import com.fasterxml.jackson.databind.JsonNode;
import io.helidon.webserver.WebServer;
import io.ordo.Json;
import io.ordo.http.HttpServers;
import io.ordo.http.HttpSettings;
import io.ordo.http.Requests;
import io.ordo.http.auth.Access;
import io.ordo.http.auth.ApiTokens;
import io.ordo.http.auth.Role;
import io.ordo.task.TaskClient;
import io.ordo.template.TemplateRegistry;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.jooq.DSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** The /v1/dlq admin endpoints over HTTP: who may call what, what malformed requests get, and what calls change. */
@ExtendWith(OrdoDatabaseExtension.class)
class DlqHttpServiceTest {
    private static DSLContext dsl;
    private static WebServer server;
    private static final HttpClient http = HttpClient.newHttpClient();
    private static String reader;
    private static String operator;
    private static String revokedAdmin;

    @BeforeAll
    static void start(TestDatabase db) {
        dsl = db.dsl();
        ApiTokens tokens = new ApiTokens(dsl, Clock.systemUTC());
        reader = tokens.create(Role.READER, "viewer").secret();
        operator = tokens.create(Role.OPERATOR, "oncall").secret();
        ApiTokens.Created admin = tokens.create(Role.ADMIN, "old-admin");
        tokens.revoke(admin.token().id());
        revokedAdmin = admin.secret();
        new TemplateRegistry(dsl).register("""
                {"namespace": "web_a", "name": "job", "version": "1", "steps": [{"name": "work", "handler": "worker"}]}""");
        new TemplateRegistry(dsl).register("""
                {"namespace": "web_b", "name": "job", "version": "1", "steps": [{"name": "work", "handler": "worker"}]}""");
        HttpSettings http = HttpSettings.defaults(0);
        server = HttpServers.start(http, r -> DlqServer.routing(r, new DeadLetters(dsl), new Access(tokens, true),
                new Requests(http.maxBodyBytes())));
    }

    @AfterAll
    static void stop() {
        server.stop();
    }

    /** A task whose only step failed for good, and its dead letter, as the orchestrator leaves them. Returns the letter id. */
    private static long failedTask(String namespace, String errorClass) {
        long taskId = new TaskClient(dsl).submit(namespace, "job", "{}");
        dsl.execute("delete from ordo.message where queue_name = 'orchestration' and (message->>'task_id')::bigint = ?", taskId);
        dsl.execute("""
                update ordo.step set status = 'failed', attempt = 1, completed_at = now(),
                       errors = jsonb_build_array(jsonb_build_object('attempt', 1, 'at', now(), 'error', jsonb_build_object('class', ?::text)))
                where task_id = ?""", errorClass, taskId);
        dsl.execute("update ordo.task set status = 'failed', completed_at = now() where id = ?", taskId);
        return dsl.fetchOne("""
                insert into ordo.dead_letter (namespace, task_id, step_id, template_name, template_version, step_name, handler,
                                              reason, error_class, message, last_error, attempts, first_failed_at)
                select t.namespace, t.id, s.id, t.template_name, t.template_version, s.name, s.handler, 'permanent_failure', ?,
                       jsonb_build_object('task_id', t.id, 'step_id', s.id), s.errors -> 0 -> 'error', s.errors, now()
                from ordo.task t join ordo.step s on s.task_id = t.id where t.id = ?
                returning id""", errorClass, taskId).get(0, Long.class);
    }

    private record Reply(int status, String contentType, JsonNode body, HttpResponse<String> raw) {
    }

    private static Reply call(String method, String path, String token, String body, String contentType) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path));
        if (token != null) {
            b.header("Authorization", token.contains(" ") ? token : "Bearer " + token);
        }
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), r.headers().firstValue("Content-Type").orElse(""),
                r.body().isEmpty() ? null : Json.parse(r.body()), r);
    }

    private static Reply get(String path, String token) throws IOException, InterruptedException {
        return call("GET", path, token, null, null);
    }

    private static Reply post(String path, String token, String body) throws IOException, InterruptedException {
        return call("POST", path, token, body, body == null ? null : "application/json");
    }

    /** Everything a dead-letter call could change. */
    private static String state() {
        return dsl.fetchOne("""
                select (select string_agg(id || ':' || status || ':' || coalesce(resolved_by, '-'), ',' order by id) from ordo.dead_letter),
                       (select count(*) from ordo.dead_letter_event),
                       (select string_agg(id || ':' || status, ',' order by id) from ordo.task),
                       (select string_agg(id || ':' || status || ':' || coalesce(input::text, '-'), ',' order by id) from ordo.step),
                       (select count(*) from ordo.message where queue_name = 'orchestration'),
                       (select count(*) from ordo.transition)""").formatJSON();
    }

    private static void assertProblem(Reply reply, int status, String detailContains) {
        assertThat(reply.status()).as(String.valueOf(reply.body())).isEqualTo(status);
        assertThat(reply.contentType()).isEqualTo("application/problem+json");
        assertThat(reply.body().path("status").asInt()).isEqualTo(status);
        assertThat(reply.body().path("type").asText()).startsWith("urn:ordo:problem:");
        assertThat(reply.body().path("title").asText()).isNotBlank();
        assertThat(reply.body().path("detail").asText()).contains(detailContains);
    }

    @Test
    void calls_without_a_valid_token_get_401_and_change_nothing() throws Exception {
        long id = failedTask("web_a", "Boom");
        String before = state();
        Reply none = post("/v1/dlq/" + id + "/requeue", null, "{}");
        assertProblem(none, 401, "needs an API token");
        assertThat(none.raw().headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
        assertProblem(post("/v1/dlq/" + id + "/discard", "not-a-token", "{\"reason\": \"x\"}"), 401, "unknown or revoked");
        assertProblem(post("/v1/dlq/requeue", "Basic dXNlcjpwYXNz", "{\"filter\": {}}"), 401, "Bearer <token>");
        assertProblem(post("/v1/dlq/requeue", "Bearer ", "{\"filter\": {}}"), 401, "Bearer <token>");
        assertProblem(post("/v1/dlq/" + id + "/requeue", revokedAdmin, "{}"), 401, "unknown or revoked");
        assertProblem(get("/v1/dlq", null), 401, "needs an API token");
        assertProblem(get("/v1/dlq/" + id, "wrong"), 401, "unknown or revoked");
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void a_reader_may_read_but_every_change_is_forbidden_and_changes_nothing() throws Exception {
        long id = failedTask("web_a", "Boom");
        String before = state();
        assertThat(get("/v1/dlq/" + id, reader).status()).isEqualTo(200);
        assertThat(get("/v1/dlq/stats", reader).status()).isEqualTo(200);
        assertProblem(post("/v1/dlq/" + id + "/requeue", reader, "{\"reason\": \"retry\"}"), 403, "needs the role operator");
        assertProblem(post("/v1/dlq/" + id + "/discard", reader, "{\"reason\": \"noise\"}"), 403, "role reader");
        assertProblem(post("/v1/dlq/requeue", reader, "{\"filter\": {}, \"dry_run\": false}"), 403, "operator");
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void malformed_requests_get_400_with_a_problem_that_says_what_is_wrong_and_change_nothing() throws Exception {
        long id = failedTask("web_a", "Boom");
        String before = state();
        String requeue = "/v1/dlq/" + id + "/requeue";
        assertProblem(post(requeue, operator, "{\"input\": {"), 400, "Unexpected end-of-input");
        assertProblem(post(requeue, operator, "{input: 1}"), 400, "malformed JSON");
        Reply unknown = post(requeue, operator, "{\"inptu\": {\"amount\": 1}}");
        assertProblem(unknown, 400, "unknown field 'inptu'; known fields: input, reason");
        assertThat(unknown.body().path("field").asText()).isEqualTo("inptu");
        assertProblem(post(requeue, operator, "[1, 2]"), 400, "Cannot deserialize");
        assertProblem(post(requeue, operator, "{\"reason\": \"x\"} trailing"), 400, "");
        assertProblem(post(requeue, operator, "{\"reason\": \"x\", \"reason\": \"y\"}"), 400, "Duplicate field 'reason'");
        assertProblem(post("/v1/dlq/" + id + "/discard", operator, "{}"), 400, "reason is required");
        assertProblem(post("/v1/dlq/" + id + "/discard", operator, null), 400, "needs a JSON body");
        assertProblem(post("/v1/dlq/" + id + "/discard", operator, "{\"reason\": \"  \"}"), 400, "reason must be 1 to 2000 characters");
        assertProblem(post("/v1/dlq/abc/requeue", operator, "{}"), 400, "id must be a positive integer");
        assertProblem(post(requeue + "?force=true", operator, "{}"), 400, "unknown query parameter 'force'");
        assertProblem(post("/v1/dlq/requeue", operator, "{\"dry_run\": true}"), 400, "filter is required");
        assertProblem(post("/v1/dlq/requeue", operator, "{\"filter\": {\"status\": \"open\"}}"), 400, "unknown field 'filter.status'");
        assertProblem(post("/v1/dlq/requeue", operator, "{\"filter\": {\"namespace\": \"Not Valid\"}}"), 400, "filter.namespace must match");
        assertProblem(post("/v1/dlq/requeue", operator, "{\"filter\": {\"task_id\": \"seven\"}}"), 400, "filter.task_id");
        assertProblem(post("/v1/dlq/requeue", operator, "{\"filter\": {}, \"dry_run\": \"yes\"}"), 400, "dry_run");
        assertProblem(post("/v1/dlq/requeue", operator, "{\"filter\": {}, \"limit\": 0}"), 400, "limit must be between 1 and");
        assertProblem(post("/v1/dlq/requeue", operator, "{\"filter\": {\"from\": \"yesterday\"}}"), 400, "filter.from must be a UTC timestamp");
        assertProblem(get("/v1/dlq?namespce=web_a", reader), 400, "unknown query parameter 'namespce'");
        assertProblem(get("/v1/dlq?limit=0", reader), 400, "limit must be an integer between 1 and 1000");
        assertProblem(get("/v1/dlq?cursor=bm9wZQ", reader), 400, "cursor is not one this API gave out");
        assertProblem(get("/v1/dlq?status=lost", reader), 400, "status must be open, requeued or discarded");
        assertProblem(get("/v1/dlq?from=2025-01-02T00:00:00Z&to=2025-01-01T00:00:00Z", reader), 400, "from must be before to");
        assertProblem(get("/v1/dlq?namespace=a&namespace=b", reader), 400, "may be given once");
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void letters_are_listed_by_filter_in_pages_and_read_one_by_one_with_their_history() throws Exception {
        Set<Long> mine = new HashSet<>();
        for (int i = 0; i < 5; i++) {
            mine.add(failedTask("web_b", "PageMe"));
        }
        failedTask("web_b", "Other");
        List<Long> seen = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            Reply page = get("/v1/dlq?namespace=web_b&error_class=PageMe&status=open&limit=2" + (cursor == null ? "" : "&cursor=" + cursor), reader);
            assertThat(page.status()).isEqualTo(200);
            assertThat(page.contentType()).isEqualTo("application/json");
            page.body().path("items").forEach(item -> {
                seen.add(item.path("id").asLong());
                assertThat(item.path("namespace").asText()).isEqualTo("web_b");
                assertThat(item.path("error_class").asText()).isEqualTo("PageMe");
                assertThat(item.path("attempts").isArray()).isTrue();
            });
            cursor = page.body().path("next_cursor").isNull() ? null : page.body().path("next_cursor").asText();
            pages++;
        } while (cursor != null);
        assertThat(pages).isEqualTo(3);
        assertThat(seen).containsExactlyInAnyOrderElementsOf(mine);
        assertThat(seen).isSortedAccordingTo((a, b) -> Long.compare(b, a));

        long id = seen.getFirst();
        dsl.fetch("select ordo.discard_dead_letter(?, 'ops:test', 'seen it')", id);
        Reply one = get("/v1/dlq/" + id, reader);
        assertThat(one.status()).isEqualTo(200);
        assertThat(one.body().path("status").asText()).isEqualTo("discarded");
        assertThat(one.body().path("history").get(0).path("kind").asText()).isEqualTo("discarded");
        assertThat(one.body().path("history").get(0).path("actor").asText()).isEqualTo("ops:test");
        assertProblem(get("/v1/dlq/987654321", reader), 404, "no dead letter 987654321");

        Reply stats = get("/v1/dlq/stats", reader);
        assertThat(stats.body().path("by_namespace").path("web_b").path("open").asLong()).isEqualTo(5);
        assertThat(stats.body().path("by_namespace").path("web_b").path("discarded").asLong()).isEqualTo(1);
        assertThat(stats.body().path("counts").toString()).contains("\"error_class\":\"PageMe\"");
    }

    @Test
    void an_operator_requeues_and_discards_and_each_change_records_the_token_time_and_reason() throws Exception {
        long requeued = failedTask("web_a", "Fixable");
        long discarded = failedTask("web_a", "Hopeless");
        long taskId = dsl.fetchOne("select task_id from ordo.dead_letter where id = ?", requeued).get(0, Long.class);

        Reply r = post("/v1/dlq/" + requeued + "/requeue", operator, "{\"input\": {\"amount\": 42}, \"reason\": \"amount fixed\"}");
        assertThat(r.status()).as(String.valueOf(r.body())).isEqualTo(200);
        assertThat(r.body().path("status").asText()).isEqualTo("requeued");
        assertThat(r.body().path("resolved_by").asText()).isEqualTo("api:oncall");
        assertThat(r.body().path("resolved_reason").asText()).isEqualTo("amount fixed");
        assertThat(r.body().path("resolved_at").asText()).isNotEmpty();
        assertThat(r.body().path("history").get(0).path("kind").asText()).isEqualTo("requeued");
        assertThat(dsl.fetchOne("select t.status, s.status, s.input->>'amount' from ordo.task t join ordo.step s on s.task_id = t.id"
                + " where t.id = ?", taskId).intoArray()).containsExactly("in_progress", "pending", "42");
        assertThat(dsl.fetchOne("select count(*) from ordo.message where queue_name = 'orchestration' and message->>'type' = 'resume'"
                + " and (message->>'task_id')::bigint = ?", taskId).get(0, Integer.class)).isEqualTo(1);
        assertProblem(post("/v1/dlq/" + requeued + "/requeue", operator, null), 409, "requeued already");

        Reply d = post("/v1/dlq/" + discarded + "/discard", operator, "{\"reason\": \"duplicate order\"}");
        assertThat(d.status()).isEqualTo(200);
        assertThat(d.body().path("status").asText()).isEqualTo("discarded");
        assertThat(d.body().path("resolved_by").asText()).isEqualTo("api:oncall");
        assertThat(d.body().path("history").get(0).path("reason").asText()).isEqualTo("duplicate order");
        assertProblem(post("/v1/dlq/" + discarded + "/discard", operator, "{\"reason\": \"again\"}"), 409, "discarded already");
        assertProblem(post("/v1/dlq/987654321/discard", operator, "{\"reason\": \"gone\"}"), 404, "unknown dead letter");
    }

    @Test
    void a_bulk_dry_run_counts_what_a_bulk_requeue_would_take_and_changes_nothing() throws Exception {
        for (int i = 0; i < 3; i++) {
            failedTask("web_b", "Bulky");
        }
        String before = state();
        Reply dry = post("/v1/dlq/requeue", operator, "{\"filter\": {\"namespace\": \"web_b\", \"error_class\": \"Bulky\"}, \"dry_run\": true}");
        assertThat(dry.status()).isEqualTo(200);
        assertThat(dry.body().path("dry_run").asBoolean()).isTrue();
        assertThat(dry.body().path("count").asInt()).isEqualTo(3);
        assertThat(state()).isEqualTo(before);

        Reply real = post("/v1/dlq/requeue", operator, "{\"filter\": {\"namespace\": \"web_b\", \"error_class\": \"Bulky\"},"
                + " \"reason\": \"dependency restored\"}");
        assertThat(real.body().path("count").asInt()).isEqualTo(3);
        assertThat(dsl.fetchOne("select count(*) from ordo.dead_letter where error_class = 'Bulky' and status = 'requeued'"
                + " and resolved_by = 'api:oncall' and resolved_reason = 'dependency restored'").get(0, Integer.class)).isEqualTo(3);
    }
}

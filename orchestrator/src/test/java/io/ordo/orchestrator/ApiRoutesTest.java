package io.ordo.orchestrator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.ordo.Json;
import io.ordo.http.auth.Role;
import io.ordo.orchestrator.api.OpenApiService;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.http.HttpResponse;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/** Every route is in the OpenAPI document with its role, and vice versa; every protected route refuses who it must. */
@ExtendWith(OrdoDatabaseExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ApiRoutesTest {
    private ApiFixture api;
    private List<RouteRecorder.Route> routes;

    @BeforeAll
    void start(TestDatabase db) {
        api = new ApiFixture(db);
        routes = RouteRecorder.record(r -> Main.routing(r, api.node));
    }

    @AfterAll
    void stop() {
        api.close();
    }

    @Test
    void every_route_is_in_the_openapi_document_with_its_role_and_every_documented_route_exists() throws Exception {
        Set<String> registered = new TreeSet<>();
        for (RouteRecorder.Route r : routes) {
            assertThat(r.guarded()).as("route %s %s must declare who may call it (Access.require/open/observability)",
                    r.method(), r.path()).isNotNull();
            registered.add(r.method() + " " + r.path() + " " + documentedRole(r));
        }
        JsonNode doc = new YAMLMapper().readTree(OpenApiService.document());
        Set<String> documented = new TreeSet<>();
        for (Iterator<Map.Entry<String, JsonNode>> paths = doc.get("paths").fields(); paths.hasNext(); ) {
            Map.Entry<String, JsonNode> path = paths.next();
            for (Iterator<Map.Entry<String, JsonNode>> ops = path.getValue().fields(); ops.hasNext(); ) {
                Map.Entry<String, JsonNode> op = ops.next();
                documented.add(op.getKey().toUpperCase(Locale.ROOT) + " " + path.getKey() + " " + op.getValue().path("x-ordo-role").asText("?"));
            }
        }
        assertThat(registered).isEqualTo(documented);
    }

    @Test
    void the_openapi_document_is_served() {
        HttpResponse<String> res = api.get("/openapi", null);
        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(res.body()).contains("openapi: 3.0.3");
    }

    @Test
    void every_protected_route_refuses_a_request_without_a_token_or_with_a_lesser_role_and_changes_nothing() {
        Map<String, Long> before = api.rowCounts();
        int checked = 0;
        for (RouteRecorder.Route r : routes) {
            String path = concrete(r.path());
            String body = r.method().equals("GET") || r.method().equals("DELETE") ? null : "{}";
            if (r.role() == null) {
                HttpResponse<String> open = api.send(r.method(), path, (Role) null, body);
                assertThat(open.statusCode()).as("%s %s is open", r.method(), path).isNotIn(401, 403);
                continue;
            }
            HttpResponse<String> anonymous = api.send(r.method(), path, (Role) null, body);
            assertProblem(anonymous, 401, r);
            assertThat(anonymous.headers().firstValue("WWW-Authenticate")).hasValue("Bearer realm=\"ordo\"");
            assertProblem(api.send(r.method(), path, "ordo_not-a-real-token", body, Map.of()), 401, r);
            for (Role lesser : Role.values()) {
                if (!lesser.includes(r.role())) {
                    assertProblem(api.send(r.method(), path, lesser, body), 403, r);
                }
            }
            checked++;
        }
        assertThat(checked).isGreaterThanOrEqualTo(15);
        assertThat(api.rowCounts()).isEqualTo(before);
    }

    private static void assertProblem(HttpResponse<String> res, int status, RouteRecorder.Route r) {
        assertThat(res.statusCode()).as("%s %s", r.method(), r.path()).isEqualTo(status);
        assertThat(res.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        JsonNode problem = Json.parse(res.body());
        assertThat(problem.get("status").asInt()).isEqualTo(status);
        assertThat(problem.get("type").asText()).startsWith("urn:ordo:problem:");
        assertThat(problem.get("detail").asText()).isNotBlank();
    }

    private static String documentedRole(RouteRecorder.Route r) {
        if (r.role() != null) {
            return r.role().label();
        }
        return r.path().startsWith("/health") || r.path().equals("/metrics") ? "observability" : "open";
    }

    private static String concrete(String path) {
        return path.replace("{id}", "1").replace("{namespace}", "authns").replace("{name}", "tpl").replace("{version}", "1")
                .replace("{key}", "election.interval");
    }
}

package io.ordo.orchestrator;

import io.helidon.webserver.WebServer;
import io.ordo.http.HttpServers;
import io.ordo.http.HttpSettings;
import io.ordo.http.auth.Role;
import io.ordo.http.telemetry.Telemetry;
import io.ordo.testing.TestDatabase;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;

/** An orchestrator node with its HTTP API on a free port, over a test database, and a token of every role. */
final class ApiFixture implements AutoCloseable {
    final TestDatabase db;
    final Telemetry telemetry;
    final OrchestratorNode node;
    final WebServer server;
    final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    final Map<Role, String> tokens = new EnumMap<>(Role.class);

    ApiFixture(TestDatabase db, Telemetry telemetry, HttpSettings http) {
        this.db = db;
        this.telemetry = telemetry;
        this.node = OrchestratorNode.start(db.database(), telemetry,
                ServerSettings.forNode("api-test-" + db.name(), http).withStatsInterval(Duration.ofMillis(500)), Clock.systemUTC());
        this.server = HttpServers.start(http, r -> Main.routing(r, node));
        for (Role role : Role.values()) {
            tokens.put(role, node.tokens().create(role, "test-" + role.label()).secret());
        }
    }

    ApiFixture(TestDatabase db) {
        this(db, Telemetry.inMemory(io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter.create()), HttpSettings.defaults(0)
                .withMaxBodyBytes(64 * 1024));
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.port() + path);
    }

    HttpResponse<String> send(String method, String path, Role role, String body) {
        return send(method, path, role == null ? null : tokens.get(role), body, Map.of());
    }

    HttpResponse<String> send(String method, String path, String token, String body, Map<String, String> headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(20))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        headers.forEach(b::header);
        return send(b.build());
    }

    HttpResponse<String> send(HttpRequest request) {
        try {
            return client.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    HttpResponse<String> get(String path, Role role) {
        return send("GET", path, role, null);
    }

    HttpResponse<String> post(String path, Role role, String body) {
        return send("POST", path, role, body);
    }

    HttpResponse<String> put(String path, Role role, String body) {
        return send("PUT", path, role, body);
    }

    /** Rows of the tables the API writes, to prove a refused request changed nothing. */
    Map<String, Long> rowCounts() {
        Map<String, Long> out = new java.util.TreeMap<>();
        for (String table : new String[]{"task", "step", "transition", "task_template", "namespace", "config", "api_token", "message"}) {
            out.put(table, db.dsl().fetchOne("select count(*) from ordo." + table).get(0, Long.class));
        }
        return out;
    }

    static String template(String ns, String name, String version, String... steps) {
        StringBuilder s = new StringBuilder();
        String previous = null;
        for (String step : steps) {
            if (!s.isEmpty()) {
                s.append(',');
            }
            s.append("{\"name\":\"").append(step).append("\",\"handler\":\"h\",\"depends_on\":[")
                    .append(previous == null ? "" : "\"" + previous + "\"").append("]}");
            previous = step;
        }
        return "{\"namespace\":\"" + ns + "\",\"name\":\"" + name + "\",\"version\":\"" + version + "\",\"steps\":[" + s + "]}";
    }

    @Override
    public void close() {
        server.stop();
        node.close();
        telemetry.close();
    }
}

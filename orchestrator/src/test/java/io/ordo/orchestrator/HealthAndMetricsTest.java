package io.ordo.orchestrator;

import com.fasterxml.jackson.databind.JsonNode;
import io.helidon.webserver.WebServer;
import io.ordo.Json;
import io.ordo.http.HttpServers;
import io.ordo.http.HttpSettings;
import io.ordo.http.auth.Access;
import io.ordo.http.auth.Role;
import io.ordo.http.health.HealthCheck;
import io.ordo.http.health.HealthResult;
import io.ordo.http.health.HealthService;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Liveness, readiness, details, the Prometheus scrape, closed observability and TLS. */
@ExtendWith(OrdoDatabaseExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HealthAndMetricsTest {
    private ApiFixture api;

    @BeforeAll
    void start(TestDatabase db) {
        api = new ApiFixture(db);
    }

    @AfterAll
    void stop() {
        api.close();
    }

    @Test
    @Order(1)
    void a_running_node_is_live_and_ready_and_reports_its_details() {
        HttpResponse<String> live = api.get("/health/live", null);
        assertThat(live.statusCode()).isEqualTo(200);
        assertThat(Json.parse(live.body()).get("checks").findValuesAsText("name")).contains("orchestrator_running", "orchestrator_loop");
        HttpResponse<String> ready = api.get("/health/ready", null);
        assertThat(ready.statusCode()).as(ready.body()).isEqualTo(200);
        assertThat(Json.parse(ready.body()).get("checks").findValuesAsText("name"))
                .containsExactly("database", "migrations", "draining", "connection_pool");
        await().atMost(Duration.ofSeconds(10)).until(() -> !Json.parse(api.get("/health", null).body()).get("details")
                .path("leader").isNull() && Json.parse(api.get("/health", null).body()).get("details").has("queues"));
        JsonNode details = Json.parse(api.get("/health", null).body()).get("details");
        assertThat(details.get("leader").get("node_id").asText()).isEqualTo(api.node.nodeId());
        assertThat(details.get("connection_pool").get("max").asInt()).isPositive();
        assertThat(details.get("connection_pool").has("active")).isTrue();
        assertThat(details.get("queues").findValuesAsText("queue")).contains("orchestration");
        assertThat(details.has("processing")).isTrue();
    }

    @Test
    @Order(2)
    void the_metrics_scrape_is_prometheus_text_with_the_engine_and_queue_meters() {
        await().atMost(Duration.ofSeconds(10)).until(() -> api.get("/metrics", null).body().contains("ordo_queue_depth"));
        HttpResponse<String> res = api.get("/metrics", null);
        assertThat(res.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain; version=0.0.4");
        assertThat(res.body())
                .contains("# TYPE ordo_queue_depth gauge")
                .contains("ordo_queue_depth{ordo_queue=\"orchestration\"}")
                .contains("# TYPE ordo_queue_oldest_age_seconds gauge")
                .contains("# TYPE ordo_claim_conflicts_total counter")
                .contains("ordo_lease_takeovers_total")
                .contains("ordo_leader_changes_total{ordo_event=\"elected\"} 1");
    }

    @Test
    @Order(3)
    void health_and_metrics_need_a_reader_token_when_observability_is_closed() {
        HealthService closed = new HealthService(new Access(api.node.tokens(), false),
                List.of(HealthCheck.of("always", () -> HealthResult.up("yes"))), List.of(), Map::of);
        WebServer server = HttpServers.start(HttpSettings.defaults(0), r -> r.register("/health", closed));
        try {
            URI uri = URI.create("http://127.0.0.1:" + server.port() + "/health/live");
            assertThat(api.send(HttpRequest.newBuilder(uri).build()).statusCode()).isEqualTo(401);
            assertThat(api.send(HttpRequest.newBuilder(uri).header("Authorization", "Bearer " + api.tokens.get(Role.READER)).build())
                    .statusCode()).isEqualTo(200);
        } finally {
            server.stop();
        }
    }

    @Test
    @Order(4)
    void the_server_speaks_tls_from_a_keystore_in_the_configuration(@TempDir Path dir) throws Exception {
        Path keystore = dir.resolve("server.p12");
        Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "ordo", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=localhost",
                "-ext", "san=dns:localhost,ip:127.0.0.1", "-validity", "2", "-storetype", "PKCS12",
                "-keystore", keystore.toString(), "-storepass", "changeit", "-keypass", "changeit")
                .redirectErrorStream(true).start();
        assertThat(keytool.waitFor()).as(new String(keytool.getInputStream().readAllBytes())).isZero();
        HealthService health = new HealthService(Access.openOnly(), List.of(HealthCheck.of("always", () -> HealthResult.up("yes"))),
                List.of(), Map::of);
        WebServer server = HttpServers.start(HttpSettings.defaults(0).withTls(keystore, "changeit"), r -> r.register("/health", health));
        try {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(keystore)) {
                trust.load(in, "changeit".toCharArray());
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext ssl = SSLContext.getInstance("TLS");
            ssl.init(null, tmf.getTrustManagers(), null);
            HttpClient client = HttpClient.newBuilder().sslContext(ssl).connectTimeout(Duration.ofSeconds(5)).build();
            HttpResponse<String> res = client.send(HttpRequest.newBuilder(URI.create("https://localhost:" + server.port() + "/health/live"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(res.statusCode()).isEqualTo(200);
            assertThat(res.body()).contains("\"status\":\"UP\"");
        } finally {
            server.stop();
        }
    }

    @Test
    @Order(5)
    void a_draining_node_is_not_ready_but_still_live() {
        api.node.drain();
        HttpResponse<String> ready = api.get("/health/ready", null);
        assertThat(ready.statusCode()).isEqualTo(503);
        assertThat(ready.body()).contains("\"name\":\"draining\",\"status\":\"DOWN\"");
        assertThat(api.get("/health/live", null).statusCode()).isEqualTo(200);
        assertThat(api.get("/health", null).statusCode()).isEqualTo(503);
    }
}

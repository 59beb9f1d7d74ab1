package io.ordo.http.health;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerResponse;
import io.ordo.Json;
import io.ordo.http.auth.Access;

import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * {@code /health/live} (the process and its loops go round), {@code /health/ready} (it can take work) and
 * {@code /health} (both, plus details). Live and ready answer 200 when every check is up, else 503. Any Ordo
 * service registers it on its own port with its own checks.
 */
public final class HealthService implements HttpService {
    private final Access access;
    private final List<HealthCheck> live;
    private final List<HealthCheck> ready;
    private final Supplier<Map<String, Object>> details;

    public HealthService(Access access, List<HealthCheck> live, List<HealthCheck> ready, Supplier<Map<String, Object>> details) {
        this.access = access;
        this.live = List.copyOf(live);
        this.ready = List.copyOf(ready);
        this.details = details;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/live", access.observability((req, res) -> send(res, report(live), null)))
                .get("/ready", access.observability((req, res) -> send(res, report(ready), null)))
                .get("/", access.observability((req, res) -> {
                    ObjectNode liveReport = report(live);
                    ObjectNode readyReport = report(ready);
                    ObjectNode body = Json.object();
                    boolean up = "UP".equals(liveReport.get("status").asText()) && "UP".equals(readyReport.get("status").asText());
                    body.put("status", up ? "UP" : "DOWN");
                    body.set("live", liveReport);
                    body.set("ready", readyReport);
                    body.set("details", Json.MAPPER.valueToTree(details.get()));
                    send(res, body, up);
                }));
    }

    private static ObjectNode report(List<HealthCheck> checks) {
        boolean allUp = true;
        ArrayNode results = Json.MAPPER.createArrayNode();
        for (HealthCheck check : checks) {
            HealthResult r;
            try {
                r = check.check();
            } catch (RuntimeException e) {
                r = HealthResult.down("check failed: " + e.getMessage());
            }
            allUp &= r.up();
            results.addObject().put("name", check.name()).put("status", r.up() ? "UP" : "DOWN").put("detail", r.detail());
        }
        ObjectNode out = Json.object();
        out.put("status", allUp ? "UP" : "DOWN");
        out.set("checks", results);
        return out;
    }

    private static void send(ServerResponse res, ObjectNode body, Boolean up) {
        boolean ok = up != null ? up : "UP".equals(body.get("status").asText());
        res.status(ok ? Status.OK_200 : Status.SERVICE_UNAVAILABLE_503);
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.header(HeaderNames.CACHE_CONTROL, "no-store");
        res.send(body.toString());
    }
}

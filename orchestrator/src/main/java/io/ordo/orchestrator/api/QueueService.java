package io.ordo.orchestrator.api;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.ordo.http.auth.Access;
import io.ordo.http.auth.Role;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * {@code GET /v1/queues}: per queue its depth, visible depth, oldest message age, the rate of sends per second
 * since the previous sample, open dead letters and its namespace's backpressure state.
 */
public final class QueueService implements HttpService {
    private final Access access;
    private final Supplier<List<Queue>> queues;

    /** One queue as the API shows it; rates are null until two samples exist. */
    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    public record Queue(String queue, String namespace, long depth, long visibleDepth, Double oldestAgeSeconds, long totalSent,
                        Double sentPerSecond, String backpressure, long openDeadLetters, Instant scrapedAt) {
    }

    public QueueService(Access access, Supplier<List<Queue>> queues) {
        this.access = access;
        this.queues = queues;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", access.require(Role.READER, this::list));
    }

    private void list(ServerRequest req, ServerResponse res) {
        Responses.ok(res, Map.of("items", queues.get()));
    }
}

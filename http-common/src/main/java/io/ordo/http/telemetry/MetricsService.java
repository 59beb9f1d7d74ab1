package io.ordo.http.telemetry;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.ordo.http.auth.Access;

/** {@code GET /metrics}: every meter of the process in the Prometheus text format. */
public final class MetricsService implements HttpService {
    private final Access access;
    private final PrometheusReader reader;

    public MetricsService(Access access, PrometheusReader reader) {
        this.access = access;
        this.reader = reader;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", access.observability((req, res) -> {
            res.header(HeaderNames.CONTENT_TYPE, PrometheusReader.CONTENT_TYPE);
            res.send(reader.scrape());
        }));
    }
}

package io.ordo.worker.container;

import io.helidon.webserver.WebServer;
import io.ordo.db.Database;
import io.ordo.http.HttpServers;
import io.ordo.http.HttpSettings;
import io.ordo.http.auth.Access;
import io.ordo.http.health.DatabaseChecks;
import io.ordo.http.health.HealthCheck;
import io.ordo.http.health.HealthResult;
import io.ordo.http.health.HealthService;
import io.ordo.worker.OrdoWorker;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The health port of a worker container, for the platform's probes: {@code /health/live} is up while the worker runs
 * or drains; {@code /health/ready} is up while it takes work and its database answers, and down from the moment the
 * container is told to stop. Open routes only: a worker's database role cannot check API tokens.
 */
final class WorkerHealth {
    private WorkerHealth() {
    }

    static WebServer start(int port, OrdoWorker worker, Database database, AtomicBoolean stopping) {
        List<HealthCheck> live = List.of(HealthCheck.of("worker_running", () -> switch (worker.state()) {
            case RUNNING, DRAINING -> HealthResult.up(worker.state().name().toLowerCase(java.util.Locale.ROOT));
            case NEW -> HealthResult.up("starting");
            case STOPPED -> HealthResult.down("the worker has stopped");
        }));
        List<HealthCheck> ready = List.of(
                HealthCheck.downWhen("draining", () -> stopping.get() || worker.state() != OrdoWorker.State.RUNNING,
                        "the worker is not taking work (starting, draining or stopped)"),
                DatabaseChecks.reachable(database));
        HealthService health = new HealthService(Access.openOnly(), live, ready, () -> {
            Map<String, Object> details = new LinkedHashMap<>();
            details.put("node_id", worker.settings().nodeId());
            details.put("namespace", worker.settings().namespace());
            details.put("state", worker.state().name().toLowerCase(java.util.Locale.ROOT));
            details.put("steps_held", worker.inFlight());
            details.put("concurrency", worker.settings().concurrency());
            return details;
        });
        return HttpServers.start(HttpSettings.defaults(port), r -> r.register("/health", health));
    }
}

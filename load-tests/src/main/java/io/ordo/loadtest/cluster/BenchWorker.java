package io.ordo.loadtest.cluster;

import io.ordo.config.ConfigStore;
import io.ordo.coordination.PostgresCoordination;
import io.ordo.db.Database;
import io.ordo.db.DatabaseSettings;
import io.ordo.queue.QueueListener;
import io.ordo.worker.OrdoWorker;
import io.ordo.worker.WorkerSettings;

import java.time.Clock;
import java.time.Duration;

/**
 * A namespace worker as {@code ./ordo worker} runs one (a pool, a shared listener, the node registry), in-process,
 * with the {@link BenchHandlers}. Its sessions carry the node id as application_name.
 */
public final class BenchWorker implements AutoCloseable {
    private final Database database;
    private final QueueListener listener;
    private final PostgresCoordination coordination;
    private final OrdoWorker worker;

    private BenchWorker(DatabaseSettings settings, WorkerSettings worker) {
        this.database = Database.connect(settings.withMaxPoolSize(6).withApplicationName(worker.nodeId()));
        try {
            this.listener = new QueueListener(database);
            this.coordination = new PostgresCoordination(database, Clock.systemUTC());
            ConfigStore configs = new ConfigStore(database.dsl());
            this.worker = OrdoWorker.builder(database.dataSource()).settings(worker).listener(listener)
                    .nodeRegistry(coordination, configs::latestVersion)
                    .handlers(new BenchHandlers().handlers())
                    .build().start();
        } catch (RuntimeException e) {
            database.close();
            throw e;
        }
    }

    public static BenchWorker start(DatabaseSettings settings, WorkerSettings worker) {
        return new BenchWorker(settings, worker);
    }

    public String nodeId() {
        return worker.settings().nodeId();
    }

    /** Stops gracefully (see {@link OrdoWorker#stop()}). */
    @Override
    public void close() {
        try {
            worker.stop(Duration.ofSeconds(10));
        } finally {
            coordination.close();
            listener.close();
            database.close();
        }
    }
}

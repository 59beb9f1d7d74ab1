package io.ordo.testing;

import io.ordo.db.DatabaseSettings;

/** Starts PostgreSQL in a container when Testcontainers is on the classpath and Docker answers. */
final class TestcontainersServer {
    private TestcontainersServer() {
    }

    static PostgresServer tryStart() {
        if ("false".equalsIgnoreCase(System.getenv("ORDO_TEST_DOCKER"))) {
            return null;
        }
        try {
            Class.forName("org.testcontainers.DockerClientFactory");
        } catch (ClassNotFoundException e) {
            return null;
        }
        return Container.start();
    }

    /** Kept apart so that the Testcontainers classes load only when they are present. */
    private static final class Container {
        static PostgresServer start() {
            try {
                if (!org.testcontainers.DockerClientFactory.instance().isDockerAvailable()) {
                    return null;
                }
                var container = new org.testcontainers.containers.PostgreSQLContainer<>("postgres:16-alpine")
                        .withCommand("postgres", "-c", "fsync=off", "-c", "max_connections=300");
                container.start();
                Runtime.getRuntime().addShutdownHook(new Thread(container::stop));
                DatabaseSettings settings = new DatabaseSettings(container.getJdbcUrl(), container.getUsername(),
                        container.getPassword(), 10, "ordo-test");
                return PostgresServer.of(settings, "a Testcontainers PostgreSQL at " + container.getJdbcUrl());
            } catch (RuntimeException | LinkageError e) {
                return null;
            }
        }
    }
}

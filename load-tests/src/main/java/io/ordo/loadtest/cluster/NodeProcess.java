package io.ordo.loadtest.cluster;

import io.ordo.OrdoException;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * An Ordo node running as a JVM of its own, started from this JVM's classpath (under {@code ./ordo} that is the cli
 * jar and its dependencies): an orchestrator ({@code io.ordo.orchestrator.Main}, what {@code ./ordo server} runs, on
 * an ephemeral HTTP port) or a worker container ({@code io.ordo.worker.container.WorkerMain}, what {@code ./ordo
 * worker} runs) with the {@link BenchHandlers}. Its database sessions' application_name contains its node id; its
 * output goes to a log file.
 */
public final class NodeProcess {
    /** What runs in the process. */
    public enum Kind {
        ORCHESTRATOR, WORKER
    }

    private final Kind kind;
    private final String nodeId;
    private final List<String> command;
    private final Map<String, String> env;
    private final Path logDir;
    private Process process;
    private Instant startedAt;
    private int starts;

    private NodeProcess(Kind kind, String nodeId, List<String> command, Map<String, String> env, Path logDir) {
        this.kind = kind;
        this.nodeId = nodeId;
        this.command = List.copyOf(command);
        this.env = Map.copyOf(env);
        this.logDir = logDir;
    }

    /**
     * An {@code ordo server} process on {@code jdbcUrl} and an ephemeral HTTP port, with cluster config keys set
     * locally ({@code lease.ttl} → 5s, as the environment variable {@code ORDO_LEASE_TTL}).
     */
    public static NodeProcess orchestrator(String nodeId, String jdbcUrl, Map<String, String> config, Path logDir) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("ORDO_DATABASE_URL", jdbcUrl);
        env.put("ORDO_NODE_ID", nodeId);
        config.forEach((k, v) -> env.put("ORDO_" + k.toUpperCase(java.util.Locale.ROOT).replace('.', '_'), v));
        List<String> command = new java.util.ArrayList<>(java("io.ordo.orchestrator.Main"));
        command.addAll(List.of("--port", "0"));
        return new NodeProcess(Kind.ORCHESTRATOR, nodeId, command, env, logDir);
    }

    /**
     * A worker container of {@code namespace} on {@code jdbcUrl}; {@code settings} are {@code ORDO_WORKER_*} keys
     * ({@code concurrency} → 64, {@code visibility_timeout} → 5s).
     */
    public static NodeProcess worker(String nodeId, String jdbcUrl, String namespace, Map<String, String> settings, Path logDir) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("ORDO_DATABASE_URL", withApplicationName(jdbcUrl, nodeId));
        env.put("ORDO_WORKER_NAMESPACE", namespace);
        env.put("ORDO_WORKER_NODE_ID", nodeId);
        env.put(BenchHandlers.NAMESPACE_VARIABLE, namespace);
        settings.forEach((k, v) -> env.put("ORDO_WORKER_" + k.toUpperCase(java.util.Locale.ROOT), v));
        return new NodeProcess(Kind.WORKER, nodeId, java("io.ordo.worker.container.WorkerMain"), env, logDir);
    }

    /** The URL with {@code ApplicationName} set, which wins over the name the worker container gives its pool. */
    static String withApplicationName(String jdbcUrl, String name) {
        String cleaned = jdbcUrl.replaceAll("([?&])ApplicationName=[^&]*&?", "$1").replaceAll("[?&]$", "");
        return cleaned + (cleaned.contains("?") ? "&" : "?") + "ApplicationName=" + name;
    }

    /** A node's JVM: this JVM's java, classpath and garbage collector (as the launcher chose it), with a smaller heap. */
    private static List<String> java(String mainClass) {
        List<String> command = new java.util.ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx512m");
        java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("-XX:+Use") && a.endsWith("GC"))
                .forEach(command::add);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass));
        return command;
    }

    public Kind kind() {
        return kind;
    }

    public String nodeId() {
        return nodeId;
    }

    /** When the current process was started. */
    public Instant startedAt() {
        return startedAt;
    }

    public synchronized boolean isAlive() {
        return process != null && process.isAlive();
    }

    public synchronized long pid() {
        return process == null ? -1 : process.pid();
    }

    /** Starts the process (again); its output is appended to {@code <logDir>/<node id>.log}. */
    public synchronized NodeProcess start() {
        if (isAlive()) {
            throw new IllegalStateException(nodeId + " is running");
        }
        try {
            Files.createDirectories(logDir);
            File log = logDir.resolve(nodeId + ".log").toFile();
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log));
            pb.environment().putAll(env);
            startedAt = Instant.now();
            starts++;
            Files.writeString(log.toPath(), "---- start " + starts + " at " + startedAt + "\n",
                    java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
            process = pb.start();
            return this;
        } catch (IOException e) {
            throw new OrdoException("cannot start " + nodeId + ": " + e.getMessage(), e);
        }
    }

    /** SIGKILL, as a crash: nothing is given back; waits until the process is gone. */
    public synchronized void kill() {
        if (process != null) {
            process.destroyForcibly();
            waitFor(Duration.ofSeconds(10));
        }
    }

    /** SIGTERM: the node stops gracefully; waits up to {@code grace}, then kills it. */
    public synchronized void stop(Duration grace) {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!waitFor(grace)) {
                kill();
            }
        }
    }

    private boolean waitFor(Duration timeout) {
        try {
            return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public String toString() {
        return kind.name().toLowerCase(java.util.Locale.ROOT) + " " + nodeId + (isAlive() ? " (pid " + pid() + ")" : " (stopped)");
    }
}

package io.ordo.deploy;

import io.ordo.db.DatabaseSettings;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * An Ordo process started the way an image starts it: {@code java -cp <classpath> <entry point> <args>}, configured
 * by environment variables only, with its output in a log file. {@link #terminate()} sends SIGTERM, as Kubernetes and
 * docker do.
 */
final class OrdoProcess implements AutoCloseable {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500)).build();
    private static final List<String> JVM = List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");

    private final String name;
    private final int port;
    private final Process process;
    private final Path log;
    private volatile Instant exitedAt;

    private OrdoProcess(String name, int port, Process process, Path log) {
        this.name = name;
        this.port = port;
        this.process = process;
        this.log = log;
        process.onExit().thenRun(() -> exitedAt = Instant.now());
    }

    /** Starts {@code mainClass} with {@code env} added to a clean environment (PATH and HOME only). */
    static OrdoProcess start(String name, int port, String mainClass, List<String> args, Map<String, String> env, Path logDir)
            throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(JVM);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(mainClass);
        command.addAll(args);
        Files.createDirectories(logDir);
        Path log = logDir.resolve(name + ".log");
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().keySet().removeIf(k -> !k.equals("PATH") && !k.equals("HOME"));
        builder.environment().putAll(env);
        return new OrdoProcess(name, port, builder.start(), log);
    }

    /** The database URL with its credentials in it: the processes get nothing else. */
    static String jdbcUrl(DatabaseSettings s) {
        StringBuilder url = new StringBuilder(s.jdbcUrl());
        char sep = s.jdbcUrl().contains("?") ? '&' : '?';
        if (s.user() != null && !s.jdbcUrl().contains("user=")) {
            url.append(sep).append("user=").append(URLEncoder.encode(s.user(), StandardCharsets.UTF_8));
            sep = '&';
        }
        if (s.password() != null && !s.jdbcUrl().contains("password=")) {
            url.append(sep).append("password=").append(URLEncoder.encode(s.password(), StandardCharsets.UTF_8));
        }
        return url.toString();
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    String name() {
        return name;
    }

    int port() {
        return port;
    }

    boolean alive() {
        return process.isAlive();
    }

    Instant exitedAt() {
        return exitedAt;
    }

    /** The HTTP status of {@code GET path} on the process's port, or -1 when nothing answers. */
    int get(String path) {
        return fetch(path).status();
    }

    /** The body of {@code GET path}, or "" when nothing answers. */
    String body(String path) {
        return fetch(path).body();
    }

    private record Answer(int status, String body) {
    }

    private Answer fetch(String path) {
        try {
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .timeout(Duration.ofSeconds(2)).GET().build();
            HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
            return new Answer(response.statusCode(), response.body());
        } catch (IOException e) {
            return new Answer(-1, "");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Answer(-1, "");
        }
    }

    /** Sends SIGTERM. */
    void terminate() {
        process.destroy();
    }

    /** Waits for the process to exit and returns its exit code; fails with the end of its log if it does not. */
    int awaitExit(Duration timeout) throws InterruptedException, IOException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError(name + " did not exit within " + timeout + "; its log ends with:\n" + tail());
        }
        return process.exitValue();
    }

    /** The last lines of the process's output. */
    String tail() throws IOException {
        List<String> lines = Files.readAllLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    /**
     * Polls {@code GET path} every few milliseconds until nothing answers any more, recording each status that
     * differs from the one before (-1: nothing answered); for watching readiness through a stop.
     */
    Watch watch(String path) {
        Watch watch = new Watch();
        watch.thread = Thread.ofPlatform().daemon().name("watch-" + name).start(() -> {
            int last = Integer.MIN_VALUE;
            while (!watch.stop) {
                int status = get(path);
                if (status != last) {
                    watch.seen.add(status);
                    last = status;
                }
                if (status == -1 && !process.isAlive()) {
                    return;
                }
                try {
                    Thread.sleep(3);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        return watch;
    }

    /** Statuses seen by {@link #watch}, in order, each change once. */
    static final class Watch {
        final List<Integer> seen = new CopyOnWriteArrayList<>();
        volatile boolean stop;
        Thread thread;

        /** Waits until the watch has seen {@code status} (for example 200 before a stop). */
        Watch seeing(int status) {
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5))
                    .until(() -> seen.contains(status));
            return this;
        }

        List<Integer> await() throws InterruptedException {
            thread.join(Duration.ofSeconds(30));
            stop = true;
            return List.copyOf(seen);
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
        }
    }
}

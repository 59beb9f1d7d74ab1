package io.ordo.deploy;

import com.sun.net.httpserver.HttpServer;
import io.ordo.deploy.Dockerfile.Instruction;
import io.ordo.deploy.Dockerfile.Stage;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Dockerfile builds each deployable with Maven and runs it on a JRE 21+ as a non-root user, with container-aware
 * JVM flags, an entry point that exists, a health check on the port it exposes, and no secret. No Docker engine is
 * needed: the file is read, and what it refers to is checked in the repository and on the classpath.
 */
class DockerfileTest {
    private static final Pattern SECRET_NAME = Pattern.compile("(?i).*(PASSWORD|SECRET|TOKEN|CREDENTIAL|PRIVATE_KEY|DATABASE_URL).*");
    private static final Pattern TEMURIN_JRE = Pattern.compile("^eclipse-temurin:(\\d+)(?:[.\\d_+-]*)-jre(?:-[a-z0-9.]+)?$");
    private static Dockerfile dockerfile;

    @BeforeAll
    static void read() throws IOException {
        dockerfile = Dockerfile.read(Repository.file("Dockerfile"));
    }

    @Test
    void the_build_stage_packages_every_deployable_with_maven_on_jdk_21_or_newer() {
        Stage build = dockerfile.stage("build");
        Matcher jdk = Pattern.compile("^maven:[0-9.]+-eclipse-temurin-(\\d+)$").matcher(dockerfile.resolvedBase(build));
        assertThat(jdk.matches()).as("build stage base " + dockerfile.resolvedBase(build)).isTrue();
        assertThat(Integer.parseInt(jdk.group(1))).isGreaterThanOrEqualTo(21);
        String run = build.all("RUN").stream().map(Instruction::text).reduce("", String::concat);
        assertThat(run).contains("mvn ").contains("-DskipTests").contains("package").contains("dependency:copy-dependencies")
                .contains("-DincludeScope=runtime").contains("-am");
        Matcher modules = Pattern.compile("-pl\\s+(\\S+)").matcher(run);
        assertThat(modules.find()).as("the build names its modules with -pl").isTrue();
        for (String module : modules.group(1).split(",")) {
            assertThat(Repository.file(module + "/pom.xml")).as("module " + module).exists();
            assertThat(run).as("the build collects the jars of " + module).contains("cp " + module + "/target/dependency/*.jar");
        }
    }

    @ParameterizedTest
    @CsvSource({
            "orchestrator,   io.ordo.orchestrator.Main,           8080",
            "dlq-processor,  io.ordo.dlq.DlqCommand,              8082",
            "example-worker, io.ordo.worker.container.WorkerMain, 8081"})
    void each_target_runs_its_entry_point_on_a_jre_as_a_non_root_user(String target, String mainClass, int port) throws Exception {
        Stage stage = dockerfile.stage(target);
        Stage root = stage;
        while (true) {
            String parent = root.base();
            Stage next = dockerfile.stages().stream().filter(s -> parent.equals(s.name())).findFirst().orElse(null);
            if (next == null) {
                break;
            }
            root = next;
        }
        Matcher jre = TEMURIN_JRE.matcher(dockerfile.resolvedBase(root));
        assertThat(jre.matches()).as(target + " runs on " + dockerfile.resolvedBase(root) + ", a Temurin JRE").isTrue();
        assertThat(Integer.parseInt(jre.group(1))).as(target + " Java version").isGreaterThanOrEqualTo(21);

        Instruction user = dockerfile.effective(stage, "USER");
        assertThat(user).as(target + " sets USER").isNotNull();
        String uid = user.text().split(":")[0];
        assertThat(uid).as(target + " USER is numeric, so runAsNonRoot can check it").matches("[0-9]+");
        assertThat(Integer.parseInt(uid)).as(target + " USER is not root").isPositive();
        int userIndex = stage.instructions().indexOf(stage.last("USER"));
        assertThat(stage.instructions().subList(userIndex + 1, stage.instructions().size()))
                .as(target + " runs nothing as root after USER").noneMatch(i -> i.keyword().equals("RUN"));

        List<String> entrypoint = dockerfile.effective(stage, "ENTRYPOINT").execForm();
        assertThat(entrypoint.getFirst()).isEqualTo("java");
        assertThat(entrypoint).as(target + ": the heap follows the container's memory limit")
                .anyMatch(a -> a.startsWith("-XX:MaxRAMPercentage=")).contains("-XX:+ExitOnOutOfMemoryError")
                .noneMatch(a -> a.startsWith("-Xmx") || a.startsWith("-Xms") || a.equals("-XX:-UseContainerSupport"));
        assertThat(entrypoint.get(entrypoint.indexOf("-cp") + 1)).isEqualTo("/app/lib/*");
        assertThat(entrypoint.getLast()).isEqualTo(mainClass);
        Method main = Class.forName(mainClass).getMethod("main", String[].class);
        assertThat(Modifier.isStatic(main.getModifiers()) && Modifier.isPublic(main.getModifiers())).as(mainClass + ".main").isTrue();
        assertThat(stage.all("COPY")).as(target + " copies its own classpath").anyMatch(c -> c.text().equals("--from=build /out/" + target + "/ /app/lib/"));

        assertThat(stage.last("EXPOSE").text()).isEqualTo(Integer.toString(port));
        List<String> health = stage.last("HEALTHCHECK").execForm();
        assertThat(health).as(target + " HEALTHCHECK").containsExactly("/app/bin/healthcheck", Integer.toString(port));
    }

    @Test
    void the_worker_image_serves_its_health_port_and_drains_within_its_grace() {
        Stage worker = dockerfile.stage("example-worker");
        String env = worker.all("ENV").stream().map(Instruction::text).reduce("", (a, b) -> a + " " + b);
        assertThat(env).contains("ORDO_WORKER_HEALTH_PORT=" + worker.last("EXPOSE").text()).contains("ORDO_WORKER_SHUTDOWN_GRACE=");
    }

    @Test
    void no_secret_is_baked_into_an_image() throws IOException {
        for (Stage stage : dockerfile.stages()) {
            for (Instruction i : stage.instructions()) {
                if (i.keyword().equals("ENV") || i.keyword().equals("ARG")) {
                    for (String assignment : i.text().split("\\s+")) {
                        assertThat(assignment.split("=", 2)[0]).as(stage.name() + " " + i.keyword() + " " + assignment)
                                .doesNotMatch(SECRET_NAME);
                    }
                }
            }
        }
        assertThat(dockerfile.args().keySet()).noneMatch(a -> SECRET_NAME.matcher(a).matches());
        List<String> ignored = Files.readAllLines(Repository.file(".dockerignore")).stream().map(String::strip).toList();
        assertThat(ignored).as("the build context leaves out build output and git history").contains("**/target", ".git");
    }

    @Test
    void the_health_probe_script_passes_on_200_and_fails_otherwise() throws Exception {
        Path script = Repository.file("deploy/docker/healthcheck");
        assertThat(Files.isExecutable(script)).as(script + " is executable").isTrue();
        assertThat(dockerfile.stage("runtime").all("COPY")).anyMatch(c -> c.text().contains("deploy/docker/healthcheck /app/bin/healthcheck"));
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/health/ready", exchange -> {
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        server.createContext("/health/draining", exchange -> {
            exchange.sendResponseHeaders(503, -1);
            exchange.close();
        });
        server.start();
        try {
            int port = server.getAddress().getPort();
            assertThat(probe(script, port, "/health/ready")).isZero();
            assertThat(probe(script, port, "/health/draining")).isNotZero();
        } finally {
            server.stop(0);
        }
        int closed;
        try (var socket = new java.net.ServerSocket(0)) {
            closed = socket.getLocalPort();
        }
        assertThat(probe(script, closed, "/health/ready")).as("nothing listening").isNotZero();
    }

    private static int probe(Path script, int port, String path) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("bash", script.toString(), Integer.toString(port), path)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).as("the probe answers within 20 s").isTrue();
        return p.exitValue();
    }
}

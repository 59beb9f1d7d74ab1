package io.ordo.deploy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The repository the tests run in, and the external tools they may use. */
final class Repository {
    private Repository() {
    }

    /** The repository root (set by Maven as {@code ordo.root}; the parent of the working directory otherwise). */
    static Path root() {
        String configured = System.getProperty("ordo.root");
        Path root = configured != null ? Path.of(configured) : Path.of("").toAbsolutePath().getParent();
        return root.toAbsolutePath().normalize();
    }

    static Path file(String relative) {
        return root().resolve(relative);
    }

    /** Whether {@code command} can be run (it answers {@code args} with exit code 0 within 30 s). */
    static boolean available(String... commandAndArgs) {
        try {
            Process p = new ProcessBuilder(commandAndArgs).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return false;
            }
            return p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** The output of a command that exited 0 within two minutes, run in {@code dir}; fails with its output otherwise. */
    static String run(Path dir, List<String> command) throws IOException, InterruptedException {
        Path out = Files.createTempFile("ordo-deploy-test", ".out");
        try {
            Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(out.toFile()).start();
            if (!p.waitFor(2, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new AssertionError(String.join(" ", command) + " did not finish within 2 minutes");
            }
            String text = Files.readString(out, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new AssertionError(String.join(" ", command) + " exited " + p.exitValue() + ":\n" + text);
            }
            return text;
        } finally {
            Files.deleteIfExists(out);
        }
    }
}

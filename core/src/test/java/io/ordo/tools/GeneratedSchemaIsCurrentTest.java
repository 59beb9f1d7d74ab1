package io.ordo.tools;

import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * The jOOQ sources committed under {@code core/src/main/generated} are what the migrations generate today,
 * so the build can compile them without a database and still never drift from the schema.
 */
@ExtendWith(OrdoDatabaseExtension.class)
class GeneratedSchemaIsCurrentTest {

    @Test
    void committed_jooq_sources_match_the_migrated_schema(TestDatabase database, @TempDir Path fresh) throws IOException {
        Path committed = committedSources();
        JooqCodegen.generate(database.settings(), fresh);

        Set<Path> paths = new TreeSet<>(JooqCodegen.files(fresh));
        paths.addAll(JooqCodegen.files(committed));
        List<String> problems = new ArrayList<>();
        for (Path p : paths) {
            Path now = fresh.resolve(p);
            Path old = committed.resolve(p);
            if (!Files.exists(old)) {
                problems.add("missing: " + p);
            } else if (!Files.exists(now)) {
                problems.add("no longer generated: " + p);
            } else {
                String difference = firstDifference(Files.readAllLines(old), Files.readAllLines(now));
                if (difference != null) {
                    problems.add("differs: " + p + " " + difference);
                }
            }
        }
        assertThat(paths).as("generated files").isNotEmpty();
        if (!problems.isEmpty()) {
            fail("the committed jOOQ sources in %s do not match the migrated schema; run `./ordo codegen` and commit %s.%n  %s",
                    JooqCodegen.COMMITTED_SOURCES, JooqCodegen.COMMITTED_SOURCES,
                    String.join(System.lineSeparator() + "  ", problems.subList(0, Math.min(problems.size(), 30)))
                            + (problems.size() > 30 ? System.lineSeparator() + "  ... " + (problems.size() - 30) + " more" : ""));
        }
    }

    /** Surefire runs in core/; an IDE may run from the repository root. */
    private static Path committedSources() {
        Path fromCore = Path.of("src", "main", "generated");
        if (Files.isDirectory(Path.of("src", "main", "java", "io", "ordo"))) {
            return fromCore;
        }
        return JooqCodegen.COMMITTED_SOURCES;
    }

    private static String firstDifference(List<String> committed, List<String> generated) {
        int n = Math.min(committed.size(), generated.size());
        for (int i = 0; i < n; i++) {
            if (!committed.get(i).equals(generated.get(i))) {
                return "at line " + (i + 1) + ": committed `" + committed.get(i).strip() + "`, generated `"
                        + generated.get(i).strip() + "`";
            }
        }
        if (committed.size() != generated.size()) {
            return "in length: committed " + committed.size() + " lines, generated " + generated.size();
        }
        return null;
    }
}

package io.ordo.tools;

import io.ordo.db.DatabaseSettings;
import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.jooq.codegen.GenerationTool;
import org.jooq.meta.jaxb.Configuration;
import org.jooq.meta.jaxb.Database;
import org.jooq.meta.jaxb.Generate;
import org.jooq.meta.jaxb.Generator;
import org.jooq.meta.jaxb.Jdbc;
import org.jooq.meta.jaxb.Logging;
import org.jooq.meta.jaxb.Target;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Generates the jOOQ classes of schema {@code ordo} from a migrated database. The output is committed
 * under {@link #COMMITTED_SOURCES} so that building Ordo needs no database; {@code GeneratedSchemaIsCurrentTest}
 * fails when it no longer matches the migrations, and {@code ./ordo codegen} regenerates it.
 * <p>
 * The output is deterministic: no dates, versions or configuration hashes in it, and nothing whose name
 * depends on the day (archive partitions) or on the queues that happen to exist.
 */
public final class JooqCodegen {
    public static final String PACKAGE = "io.ordo.db.generated";
    /** Where the generated sources are committed, relative to the repository root. */
    public static final Path COMMITTED_SOURCES = Path.of("core", "src", "main", "generated");

    /**
     * Left out by name: Flyway's table, queue partitions and their counters ({@code q_<queue>},
     * {@code q_<queue>_sent}) and day partitions ({@code archive_20250101}, {@code transition_20250101}).
     */
    static final String EXCLUDES = String.join("|",
            "flyway_schema_history", "q_.*", "archive_\\d+", "transition_\\d+");
    /** Left out whatever their names: every partition of a partitioned table (the parent carries the columns). */
    static final String EXCLUDE_PARTITIONS_SQL = """
            select c.relname
            from pg_catalog.pg_class c
            join pg_catalog.pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'ordo' and c.relispartition""";

    private JooqCodegen() {
    }

    /**
     * Writes the classes of schema {@code ordo} in the migrated database into {@code directory}
     * (package {@value #PACKAGE} below it), replacing what that package held.
     */
    public static void generate(DatabaseSettings database, Path directory) {
        System.setProperty("org.jooq.no-logo", "true");
        System.setProperty("org.jooq.no-tips", "true");
        Configuration configuration = new Configuration()
                .withLogging(Logging.WARN)
                .withJdbc(new Jdbc()
                        .withDriver("org.postgresql.Driver")
                        .withUrl(database.jdbcUrl())
                        .withUser(database.user())
                        .withPassword(database.password()))
                .withGenerator(new Generator()
                        .withName("org.jooq.codegen.JavaGenerator")
                        .withDatabase(new Database()
                                .withName("org.jooq.meta.postgres.PostgresDatabase")
                                .withInputSchema("ordo")
                                .withIncludes(".*")
                                .withExcludes(EXCLUDES)
                                .withExcludeSql(EXCLUDE_PARTITIONS_SQL)
                                .withSqlMatchesPartialQualification(true)
                                // SQL functions are called through plain SQL; overloads (delete, archive)
                                // would generate numbered class names that shift as functions are added.
                                .withIncludeRoutines(false)
                                .withTableValuedFunctionsAsTables(false)
                                .withTableValuedFunctionsAsRoutines(false)
                                .withIncludeTriggerRoutines(false))
                        .withGenerate(new Generate()
                                .withGeneratedAnnotation(false)
                                .withGeneratedAnnotationDate(false)
                                .withGeneratedAnnotationJooqVersion(false)
                                .withGeneratedAnnotationConfigurationHash(false)
                                .withRoutines(false)
                                .withSources(false)
                                .withSourcesOnViews(false)
                                .withJavaTimeTypes(true)
                                .withRecords(true)
                                .withPojos(false)
                                .withDaos(false))
                        .withTarget(new Target()
                                .withPackageName(PACKAGE)
                                .withDirectory(directory.toAbsolutePath().toString())
                                .withEncoding("UTF-8")
                                .withLocale("en")
                                .withClean(true)));
        try {
            GenerationTool.generate(configuration);
        } catch (Exception e) {
            throw new IllegalStateException("jOOQ code generation failed: " + e.getMessage(), e);
        }
    }

    /** Every file below {@code directory}, as sorted relative paths. */
    static List<Path> files(Path directory) {
        if (!Files.isDirectory(directory)) {
            return List.of();
        }
        try (Stream<Path> walk = Files.walk(directory)) {
            return walk.filter(Files::isRegularFile).map(directory::relativize).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * {@code ./ordo codegen}: migrates a fresh database (on {@code ORDO_TEST_DATABASE_URL}'s server, else
     * an embedded PostgreSQL), generates into a temporary directory and then replaces the given one
     * (default: {@link #COMMITTED_SOURCES} below the working directory).
     */
    public static void main(String[] args) throws Exception {
        java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.WARNING); // Flyway and Hikari chatter
        Path target = (args.length > 0 ? Path.of(args[0]) : COMMITTED_SOURCES).toAbsolutePath().normalize();
        Files.createDirectories(target.getParent());
        Path staging = Files.createTempDirectory(target.getParent(), ".codegen-");
        try {
            try (TestDatabase database = OrdoDatabaseExtension.create()) {
                generate(database.settings(), staging);
            }
            deleteRecursively(target);
            Files.move(staging, target);
        } finally {
            deleteRecursively(staging);
        }
        System.out.println("ordo codegen: wrote " + files(target).size() + " files to " + target);
    }

    private static void deleteRecursively(Path directory) throws IOException {
        if (!Files.exists(directory)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(directory)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}

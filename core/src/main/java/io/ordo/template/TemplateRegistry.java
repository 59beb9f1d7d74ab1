package io.ordo.template;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.ordo.InvalidInputException;
import io.ordo.Json;
import io.ordo.OrdoException;
import io.ordo.db.SqlErrors;
import org.jooq.DSLContext;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Registers task templates (YAML or JSON) through {@code ordo.register_template}, which validates them:
 * no cycles, no unknown dependencies, no duplicate names, positive timeouts, at least one attempt.
 */
public final class TemplateRegistry {
    // BigDecimal keeps "version: 1.10" as 1.10 instead of the double 1.1
    private static final YAMLMapper YAML = (YAMLMapper) new YAMLMapper()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .configure(com.fasterxml.jackson.databind.cfg.JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES, false);
    private final DSLContext dsl;

    public TemplateRegistry(DSLContext dsl) {
        this.dsl = dsl;
    }

    /** Result of one registration. */
    public record Registered(String namespace, String name, String version, boolean created) {
    }

    /** Registers a template given as YAML or JSON text (JSON is YAML too). */
    public Registered register(String yamlOrJson) {
        JsonNode tree;
        try {
            tree = YAML.readTree(yamlOrJson);
        } catch (IOException e) {
            throw new InvalidInputException("template is neither valid YAML nor JSON: " + e.getMessage(), e);
        }
        if (tree == null || !tree.isObject()) {
            throw new InvalidInputException("template must be a YAML or JSON object");
        }
        String json = Json.write(tree);
        JsonNode result = Json.parse(SqlErrors.call(() ->
                dsl.fetchOne("select ordo.register_template(?::jsonb)::text", json).get(0, String.class)));
        return new Registered(result.get("namespace").asText(), result.get("name").asText(),
                result.get("version").asText(), result.get("created").asBoolean());
    }

    /** Registers every *.yaml, *.yml and *.json file in the directory, in name order. */
    public List<Registered> registerDirectory(Path directory) {
        List<Registered> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(directory)) {
            for (Path file : files.filter(f -> f.toString().matches(".*\\.(ya?ml|json)$")).sorted().toList()) {
                try {
                    out.add(register(Files.readString(file)));
                } catch (OrdoException e) {
                    throw new InvalidInputException(file.getFileName() + ": " + e.getMessage(), e);
                }
            }
        } catch (IOException e) {
            throw new InvalidInputException("cannot read templates from " + directory + ": " + e.getMessage(), e);
        }
        return out;
    }

    /** The normalized definition of a registered template, or null. */
    public JsonNode get(String namespace, String name, String version) {
        var row = dsl.fetchOptional("select definition::text from ordo.task_template where namespace = ? and name = ? and version = ?",
                namespace, name, version);
        return row.map(r -> Json.parse(r.get(0, String.class))).orElse(null);
    }

    /** Every registered template's normalized definition, by namespace, name and version. */
    public List<JsonNode> list() {
        return dsl.fetch("select definition::text from ordo.task_template order by namespace, name, version_key")
                .map(r -> Json.parse(r.get(0, String.class)));
    }
}

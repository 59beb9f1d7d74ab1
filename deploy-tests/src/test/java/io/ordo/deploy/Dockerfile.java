package io.ordo.deploy;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A Dockerfile read into its stages and instructions: enough to check what it builds without a Docker engine.
 * Continuation lines are joined and comments dropped; exec-form arguments (JSON arrays) are parsed.
 */
record Dockerfile(Map<String, String> args, List<Stage> stages) {
    /** One instruction, e.g. {@code USER} with its argument text. */
    record Instruction(String keyword, String text) {
        /** The exec form's arguments ({@code ["java", "-cp", ...]}), after any options such as {@code --interval=10s}. */
        List<String> execForm() {
            String json = text.substring(text.indexOf('['));
            try {
                return new ObjectMapper().readValue(json, new TypeReference<List<String>>() { });
            } catch (IOException e) {
                throw new AssertionError(keyword + " is not in exec form (a JSON array): " + text, e);
            }
        }
    }

    /** A build stage: {@code FROM base AS name} and what follows. */
    record Stage(String name, String base, List<Instruction> instructions) {
        List<Instruction> all(String keyword) {
            return instructions.stream().filter(i -> i.keyword().equals(keyword)).toList();
        }

        Instruction last(String keyword) {
            List<Instruction> found = all(keyword);
            return found.isEmpty() ? null : found.getLast();
        }
    }

    static Dockerfile read(Path file) throws IOException {
        List<String> logical = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : Files.readAllLines(file)) {
            String trimmed = line.strip();
            if (trimmed.startsWith("#") || (trimmed.isEmpty() && current.isEmpty())) {
                continue;
            }
            if (trimmed.endsWith("\\")) {
                current.append(trimmed, 0, trimmed.length() - 1).append(' ');
                continue;
            }
            current.append(trimmed);
            if (!current.isEmpty()) {
                logical.add(current.toString().strip());
            }
            current.setLength(0);
        }
        Map<String, String> args = new LinkedHashMap<>();
        List<Stage> stages = new ArrayList<>();
        for (String line : logical) {
            String[] parts = line.split("\\s+", 2);
            String keyword = parts[0].toUpperCase(Locale.ROOT);
            String text = parts.length > 1 ? parts[1] : "";
            if (keyword.equals("FROM")) {
                String[] from = text.split("\\s+");
                String name = from.length >= 3 && from[1].equalsIgnoreCase("AS") ? from[2] : null;
                stages.add(new Stage(name, from[0], new ArrayList<>()));
            } else if (stages.isEmpty()) {
                if (keyword.equals("ARG")) {
                    String[] kv = text.split("=", 2);
                    args.put(kv[0], kv.length > 1 ? kv[1] : null);
                }
            } else {
                stages.getLast().instructions().add(new Instruction(keyword, text));
            }
        }
        return new Dockerfile(args, stages);
    }

    Stage stage(String name) {
        return stages.stream().filter(s -> name.equals(s.name())).findFirst()
                .orElseThrow(() -> new AssertionError("the Dockerfile has no stage " + name));
    }

    /** The base image with the global ARGs substituted. */
    String resolvedBase(Stage stage) {
        String base = stage.base();
        for (var arg : args.entrySet()) {
            if (arg.getValue() != null) {
                base = base.replace("${" + arg.getKey() + "}", arg.getValue()).replace("$" + arg.getKey(), arg.getValue());
            }
        }
        return base;
    }

    /** The instruction that counts for a stage: its own, or the one of the stage it is built FROM. */
    Instruction effective(Stage stage, String keyword) {
        Stage s = stage;
        while (s != null) {
            Instruction i = s.last(keyword);
            if (i != null) {
                return i;
            }
            String parent = s.base();
            s = stages.stream().filter(o -> parent.equals(o.name())).findFirst().orElse(null);
        }
        return null;
    }
}

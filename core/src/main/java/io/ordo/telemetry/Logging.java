package io.ordo.telemetry;

import io.ordo.InvalidInputException;

import java.util.Locale;
import java.util.Map;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Logging of an Ordo process, set up once at start from the environment:
 * {@code ORDO_LOG_FORMAT} ({@code text}, the default, or {@code json}), {@code ORDO_LOG_LEVEL} (TRACE, DEBUG, INFO,
 * WARN or ERROR, INFO by default, like the live config key {@code log.level}) and {@code ORDO_LOG_TASK_CONTEXT} ({@code true} lets debug lines show task contexts,
 * which otherwise never reach a log).
 */
public final class Logging {
    private static volatile boolean showTaskContext;

    private Logging() {
    }

    /** Sends every log record to stderr in the configured format. */
    public static void configure(Map<String, String> env) {
        String format = env.getOrDefault("ORDO_LOG_FORMAT", "text").toLowerCase(Locale.ROOT);
        Formatter formatter = switch (format) {
            case "json" -> new JsonLogFormatter();
            case "text", "" -> new TextLogFormatter();
            default -> throw new InvalidInputException("ORDO_LOG_FORMAT must be text or json, got " + format);
        };
        String levelName = env.getOrDefault("ORDO_LOG_LEVEL", "INFO").toUpperCase(Locale.ROOT);
        Level level = switch (levelName) {
            case "TRACE" -> Level.FINEST;
            case "DEBUG" -> Level.FINE;
            case "INFO" -> Level.INFO;
            case "WARN" -> Level.WARNING;
            case "ERROR" -> Level.SEVERE;
            default -> throw new InvalidInputException("ORDO_LOG_LEVEL must be one of TRACE, DEBUG, INFO, WARN, ERROR, got " + levelName);
        };
        showTaskContext = Boolean.parseBoolean(env.getOrDefault("ORDO_LOG_TASK_CONTEXT", "false"));
        System.setProperty("org.jooq.no-logo", "true");
        System.setProperty("org.jooq.no-tips", "true");
        Logger root = Logger.getLogger("");
        for (Handler h : root.getHandlers()) {
            root.removeHandler(h);
        }
        ConsoleHandler handler = new ConsoleHandler();
        handler.setFormatter(formatter);
        handler.setLevel(Level.ALL); // the root logger's level decides, so that a live change of log.level takes effect
        root.addHandler(handler);
        root.setLevel(level);
    }

    /**
     * What a log line may say about a task's context: the context itself only when {@code ORDO_LOG_TASK_CONTEXT=true},
     * else its size.
     */
    public static String taskContext(String contextJson) {
        if (contextJson == null) {
            return "null";
        }
        return showTaskContext ? contextJson : "<" + contextJson.length() + " chars, hidden>";
    }
}

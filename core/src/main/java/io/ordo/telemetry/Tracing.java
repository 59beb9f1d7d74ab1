package io.ordo.telemetry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.ordo.Json;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * W3C trace context as Ordo stores and ships it. A task keeps {@code {"traceparent": "...", "tracestate": "..."}}
 * in its {@code trace_context}; queue messages carry it in their headers as {@code {"trace_context": {...}}}.
 * Workers call {@link #fromHeaders(JsonNode)} to parent the span of a step on the span that enqueued it.
 */
public final class Tracing {
    /** Instrumentation scope of every tracer and meter Ordo creates. */
    public static final String SCOPE = "io.ordo";

    private static final W3CTraceContextPropagator W3C = W3CTraceContextPropagator.getInstance();
    private static final TextMapGetter<Map<String, String>> GETTER = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Map<String, String> carrier) {
            return carrier.keySet();
        }

        @Override
        public String get(Map<String, String> carrier, String key) {
            return carrier == null ? null : carrier.get(key);
        }
    };

    private Tracing() {
    }

    /** The context a message's headers carry ({@code {"trace_context": {...}}}), or the root context when none. */
    public static Context fromHeaders(String headersJson) {
        return fromHeaders(parseQuietly(headersJson));
    }

    /** The context of headers already parsed (null, or any JSON value), without writing and parsing them again. */
    public static Context fromHeaders(JsonNode headers) {
        return headers == null || !headers.isObject() ? Context.root() : fromTraceContext(headers.get("trace_context"));
    }

    /** The context a task's {@code trace_context} object ({@code {"traceparent": ...}}) names, or the root context. */
    public static Context fromTraceContext(String traceContextJson) {
        return fromTraceContext(parseQuietly(traceContextJson));
    }

    private static Context fromTraceContext(JsonNode traceContext) {
        if (traceContext == null || !traceContext.isObject()) {
            return Context.root();
        }
        Map<String, String> carrier = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = traceContext.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getValue().isTextual()) {
                carrier.put(e.getKey(), e.getValue().asText());
            }
        }
        return W3C.extract(Context.root(), carrier, GETTER);
    }

    /** The context of incoming HTTP-style headers (a {@code traceparent} and maybe a {@code tracestate}). */
    public static Context fromTextHeaders(Map<String, String> headers) {
        return W3C.extract(Context.root(), headers, GETTER);
    }

    /** {@code {"traceparent": ..., "tracestate": ...}} of the span in the context, or null when it has no valid span. */
    public static String traceContextJson(Context context) {
        Map<String, String> carrier = new HashMap<>();
        W3C.inject(context, carrier, Map::put);
        if (!carrier.containsKey("traceparent")) {
            return null;
        }
        ObjectNode out = Json.object();
        carrier.forEach(out::put);
        return out.toString();
    }

    /** {@code {"trace_context": {...}}} for a queue message's headers, or null when the context has no valid span. */
    public static String headersJson(Context context) {
        String traceContext = traceContextJson(context);
        return traceContext == null ? null : "{\"trace_context\":" + traceContext + "}";
    }

    /** The W3C traceparent of the current span, or null when there is none. */
    public static String currentTraceParent() {
        SpanContext span = Span.current().getSpanContext();
        if (!span.isValid()) {
            return null;
        }
        return "00-" + span.getTraceId() + "-" + span.getSpanId() + "-" + span.getTraceFlags().asHex();
    }

    private static JsonNode parseQuietly(String json) {
        if (json == null || json.isBlank()) {
            return null;
        }
        try {
            return Json.MAPPER.readTree(json);
        } catch (java.io.IOException e) {
            return null; // a malformed header only loses the trace, never the message
        }
    }
}

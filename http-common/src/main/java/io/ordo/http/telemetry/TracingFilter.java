package io.ordo.http.telemetry;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import io.ordo.telemetry.Tracing;

import java.util.HashMap;
import java.util.Map;

/**
 * A server span for every API request under a path prefix, continuing the caller's W3C {@code traceparent}.
 * The span is current while the request is handled, so a task submitted in it carries it as its trace context.
 */
public final class TracingFilter implements Filter {
    private static final AttributeKey<String> METHOD = AttributeKey.stringKey("http.request.method");
    private static final AttributeKey<String> PATH = AttributeKey.stringKey("url.path");
    private static final AttributeKey<String> ROUTE = AttributeKey.stringKey("http.route");
    private static final AttributeKey<Long> STATUS = AttributeKey.longKey("http.response.status_code");

    private final Tracer tracer;
    private final String prefix;

    public TracingFilter(OpenTelemetry otel, String prefix) {
        this.tracer = otel.getTracer(Tracing.SCOPE);
        this.prefix = prefix;
    }

    @Override
    public void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        String path = req.path().path();
        if (!path.startsWith(prefix)) {
            chain.proceed();
            return;
        }
        Map<String, String> carrier = new HashMap<>();
        req.headers().first(HeaderNames.create("traceparent")).ifPresent(v -> carrier.put("traceparent", v));
        req.headers().first(HeaderNames.create("tracestate")).ifPresent(v -> carrier.put("tracestate", v));
        String method = req.prologue().method().text();
        Span span = tracer.spanBuilder(method + " " + prefix)
                .setParent(Tracing.fromTextHeaders(carrier))
                .setSpanKind(SpanKind.SERVER)
                .setAttribute(METHOD, method)
                .setAttribute(PATH, path)
                .startSpan();
        try (Scope ignored = span.makeCurrent()) {
            chain.proceed();
        } catch (RuntimeException e) {
            span.recordException(e);
            span.setStatus(StatusCode.ERROR);
            throw e;
        } finally {
            req.matchingPattern().ifPresent(pattern -> {
                String route = pattern.length() > 1 && pattern.endsWith("/") ? pattern.substring(0, pattern.length() - 1) : pattern;
                span.updateName(method + " " + route);
                span.setAttribute(ROUTE, route);
            });
            int status = res.status().code();
            span.setAttribute(STATUS, (long) status);
            if (status >= 500) {
                span.setStatus(StatusCode.ERROR);
            }
            span.end();
        }
    }
}

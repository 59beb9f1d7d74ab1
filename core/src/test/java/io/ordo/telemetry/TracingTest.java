package io.ordo.telemetry;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.ordo.Json;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class TracingTest {
    private static final SpanContext SPAN = SpanContext.create("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7",
            TraceFlags.getSampled(), TraceState.getDefault());

    @Test
    void a_span_written_into_message_headers_is_read_back_as_the_parent_context() {
        String headers = Tracing.headersJson(Context.root().with(Span.wrap(SPAN)));
        assertThat(headers).isEqualTo("{\"trace_context\":{\"traceparent\":\"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\"}}");
        SpanContext read = Span.fromContext(Tracing.fromHeaders(headers)).getSpanContext();
        assertThat(read.getTraceId()).isEqualTo(SPAN.getTraceId());
        assertThat(read.getSpanId()).isEqualTo(SPAN.getSpanId());
        assertThat(read.isRemote()).isTrue();
    }

    @Test
    void headers_already_parsed_give_the_same_parent_context_as_their_text() throws Exception {
        String headers = Tracing.headersJson(Context.root().with(Span.wrap(SPAN)));
        SpanContext read = Span.fromContext(Tracing.fromHeaders(Json.MAPPER.readTree(headers))).getSpanContext();
        assertThat(read.getTraceId()).isEqualTo(SPAN.getTraceId());
        assertThat(read.getSpanId()).isEqualTo(SPAN.getSpanId());
        for (String other : new String[]{"null", "[]", "\"x\"", "{}", "{\"trace_context\":\"x\"}"}) {
            assertThat(Span.fromContext(Tracing.fromHeaders(Json.MAPPER.readTree(other))).getSpanContext().isValid()).as(other).isFalse();
        }
        assertThat(Span.fromContext(Tracing.fromHeaders((com.fasterxml.jackson.databind.JsonNode) null)).getSpanContext().isValid()).isFalse();
    }

    @Test
    void missing_or_malformed_trace_context_gives_the_root_context_and_never_fails() {
        for (String headers : new String[]{null, "", "{}", "not json", "{\"trace_context\":\"x\"}",
                "{\"trace_context\":{\"traceparent\":\"00-zz-yy-01\"}}"}) {
            assertThat(Span.fromContext(Tracing.fromHeaders(headers)).getSpanContext().isValid()).as(headers).isFalse();
        }
        assertThat(Tracing.headersJson(Context.root())).isNull();
    }

    @Test
    void the_current_span_is_the_trace_parent_of_a_submission() {
        assertThat(Tracing.currentTraceParent()).isNull();
        try (Scope ignored = Span.wrap(SPAN).makeCurrent()) {
            assertThat(Tracing.currentTraceParent()).isEqualTo("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        }
    }
}

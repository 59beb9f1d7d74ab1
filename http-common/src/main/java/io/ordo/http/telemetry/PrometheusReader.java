package io.ordo.http.telemetry;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.metrics.InstrumentType;
import io.opentelemetry.sdk.metrics.data.AggregationTemporality;
import io.opentelemetry.sdk.metrics.data.DoublePointData;
import io.opentelemetry.sdk.metrics.data.HistogramPointData;
import io.opentelemetry.sdk.metrics.data.LongPointData;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.metrics.data.PointData;
import io.opentelemetry.sdk.metrics.data.SumData;
import io.opentelemetry.sdk.metrics.export.CollectionRegistration;
import io.opentelemetry.sdk.metrics.export.MetricReader;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A metric reader that collects on demand and renders the Prometheus text format (version 0.0.4), for a
 * {@code /metrics} scrape. Names follow the Prometheus conventions: dots become underscores, seconds get
 * {@code _seconds}, counters get {@code _total}.
 */
public final class PrometheusReader implements MetricReader {
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private volatile CollectionRegistration registration = CollectionRegistration.noop();

    @Override
    public void register(CollectionRegistration registration) {
        this.registration = registration;
    }

    @Override
    public AggregationTemporality getAggregationTemporality(InstrumentType instrumentType) {
        return AggregationTemporality.CUMULATIVE;
    }

    @Override
    public CompletableResultCode forceFlush() {
        return CompletableResultCode.ofSuccess();
    }

    @Override
    public CompletableResultCode shutdown() {
        registration = CollectionRegistration.noop();
        return CompletableResultCode.ofSuccess();
    }

    /** Collects every metric now and renders it. */
    public String scrape() {
        return render(registration.collectAllMetrics());
    }

    static String render(Collection<MetricData> metrics) {
        // one family per name, in name order, so that a scrape is stable
        Map<String, MetricData> byName = new TreeMap<>();
        for (MetricData m : metrics) {
            byName.putIfAbsent(familyName(m), m);
        }
        StringBuilder out = new StringBuilder();
        byName.forEach((name, m) -> renderFamily(out, name, m));
        return out.toString();
    }

    private static void renderFamily(StringBuilder out, String name, MetricData m) {
        switch (m.getType()) {
            case LONG_SUM, DOUBLE_SUM -> {
                SumData<? extends PointData> sum = m.getType() == io.opentelemetry.sdk.metrics.data.MetricDataType.LONG_SUM
                        ? m.getLongSumData() : m.getDoubleSumData();
                String sample = sum.isMonotonic() && !name.endsWith("_total") ? name + "_total" : name;
                header(out, sample, sum.isMonotonic() ? "counter" : "gauge", m.getDescription());
                for (PointData p : sum.getPoints()) {
                    sample(out, sample, p.getAttributes(), null, value(p));
                }
            }
            case LONG_GAUGE -> {
                header(out, name, "gauge", m.getDescription());
                for (LongPointData p : m.getLongGaugeData().getPoints()) {
                    sample(out, name, p.getAttributes(), null, Long.toString(p.getValue()));
                }
            }
            case DOUBLE_GAUGE -> {
                header(out, name, "gauge", m.getDescription());
                for (DoublePointData p : m.getDoubleGaugeData().getPoints()) {
                    sample(out, name, p.getAttributes(), null, number(p.getValue()));
                }
            }
            case HISTOGRAM -> {
                header(out, name, "histogram", m.getDescription());
                for (HistogramPointData p : m.getHistogramData().getPoints()) {
                    List<Double> bounds = p.getBoundaries();
                    List<Long> counts = p.getCounts();
                    long cumulative = 0;
                    for (int i = 0; i < counts.size(); i++) {
                        cumulative += counts.get(i);
                        String le = i < bounds.size() ? number(bounds.get(i)) : "+Inf";
                        sample(out, name + "_bucket", p.getAttributes(), le, Long.toString(cumulative));
                    }
                    sample(out, name + "_sum", p.getAttributes(), null, number(p.getSum()));
                    sample(out, name + "_count", p.getAttributes(), null, Long.toString(p.getCount()));
                }
            }
            default -> { } // exponential histograms and summaries are not produced by Ordo
        }
    }

    private static String familyName(MetricData m) {
        String name = sanitize(m.getName());
        String unit = m.getUnit() == null ? "" : m.getUnit();
        String suffix = switch (unit) {
            case "s" -> "_seconds";
            case "ms" -> "_milliseconds";
            case "By" -> "_bytes";
            case "1" -> "_ratio";
            default -> "";
        };
        return name.endsWith(suffix) ? name : name + suffix;
    }

    private static void header(StringBuilder out, String name, String type, String description) {
        if (description != null && !description.isEmpty()) {
            out.append("# HELP ").append(name).append(' ').append(description.replace("\\", "\\\\").replace("\n", "\\n")).append('\n');
        }
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void sample(StringBuilder out, String name, Attributes attributes, String le, String value) {
        out.append(name);
        Map<String, String> labels = new TreeMap<>();
        attributes.forEach((AttributeKey<?> k, Object v) -> labels.put(sanitize(k.getKey()), String.valueOf(v)));
        if (le != null) {
            labels.put("le", le);
        }
        if (!labels.isEmpty()) {
            out.append('{');
            boolean first = true;
            for (var e : labels.entrySet()) {
                if (!first) {
                    out.append(',');
                }
                first = false;
                out.append(e.getKey()).append("=\"").append(escape(e.getValue())).append('"');
            }
            out.append('}');
        }
        out.append(' ').append(value).append('\n');
    }

    private static String value(PointData p) {
        return p instanceof LongPointData l ? Long.toString(l.getValue()) : number(((DoublePointData) p).getValue());
    }

    private static String number(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "+Inf" : "-Inf";
        }
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }

    static String sanitize(String name) {
        String s = name.replaceAll("[^a-zA-Z0-9_:]", "_");
        return s.isEmpty() || Character.isDigit(s.charAt(0)) ? "_" + s : s;
    }

    private static String escape(String value) {
        return value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}

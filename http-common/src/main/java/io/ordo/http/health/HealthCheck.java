package io.ordo.http.health;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** One named health check. A check that throws counts as down. */
public interface HealthCheck {
    String name();

    HealthResult check();

    static HealthCheck of(String name, Supplier<HealthResult> check) {
        return new HealthCheck() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public HealthResult check() {
                return check.get();
            }
        };
    }

    /** Up while {@code lastBeat} is at most {@code maxAge} old: a loop that stopped going round is down. */
    static HealthCheck heartbeat(String name, Supplier<Instant> lastBeat, Duration maxAge, Clock clock) {
        return of(name, () -> {
            Instant beat = lastBeat.get();
            if (beat == null) {
                return HealthResult.down("no heartbeat yet");
            }
            Duration age = Duration.between(beat, clock.instant());
            String detail = "last heartbeat " + age.toMillis() + " ms ago (limit " + maxAge.toMillis() + " ms)";
            return age.compareTo(maxAge) <= 0 ? HealthResult.up(detail) : HealthResult.down(detail);
        });
    }

    /** Down while the condition holds, e.g. while the node is draining. */
    static HealthCheck downWhen(String name, BooleanSupplier condition, String whenDown) {
        return of(name, () -> condition.getAsBoolean() ? HealthResult.down(whenDown) : HealthResult.up("no"));
    }
}

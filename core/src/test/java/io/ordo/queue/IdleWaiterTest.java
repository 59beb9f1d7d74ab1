package io.ordo.queue;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.function.LongSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class IdleWaiterTest {

    /** A clock that moves only when the test moves it. */
    private static final class Clock implements LongSupplier {
        long nanos;

        @Override
        public long getAsLong() {
            return nanos;
        }
    }

    @Test
    void after_work_it_rechecks_within_a_millisecond_then_backs_off_doubling_to_max() throws InterruptedException {
        Clock clock = new Clock();
        IdleWaiter idle = new IdleWaiter(new WakeSignal(), Duration.ofMillis(8), Duration.ofMillis(40), clock);
        assertThat(idle.currentBackoff()).as("a consumer that has not worked yet starts at min").isEqualTo(Duration.ofMillis(8));

        idle.busy();
        assertThat(idle.currentBackoff()).isEqualTo(IdleWaiter.RECHECK);
        clock.nanos += IdleWaiter.LINGER.toNanos();
        StringBuilder waits = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            assertThat(idle.idle()).as("nobody signalled").isFalse();
            waits.append(idle.currentBackoff().toMillis()).append(' ');
        }
        assertThat(waits.toString().strip()).isEqualTo("2 4 8 16 32 40 40 40");
    }

    @Test
    void for_a_while_after_work_it_rechecks_at_least_every_few_milliseconds_even_after_a_wake_up() throws InterruptedException {
        Clock clock = new Clock();
        WakeSignal signal = new WakeSignal();
        IdleWaiter idle = new IdleWaiter(signal, Duration.ofMillis(50), Duration.ofSeconds(2), clock);
        idle.busy();
        StringBuilder waits = new StringBuilder();
        for (int i = 0; i < 5; i++) {
            assertThat(idle.idle()).as("nobody signalled").isFalse();
            waits.append(idle.currentBackoff().toMillis()).append(' ');
        }
        assertThat(waits.toString().strip()).as("doubling from the recheck, held at the cap").isEqualTo("2 4 4 4 4");

        signal.signal();
        assertThat(idle.idle()).isTrue();
        assertThat(idle.currentBackoff()).as("a wake-up that brought nothing does not lift the cap").isEqualTo(IdleWaiter.BUSY_CAP);

        clock.nanos += IdleWaiter.LINGER.toNanos() - 1;
        idle.idle();
        assertThat(idle.currentBackoff()).as("still lingering").isEqualTo(IdleWaiter.BUSY_CAP);
        clock.nanos += 1;
        idle.idle();
        assertThat(idle.currentBackoff()).as("the linger is over: doubling again").isEqualTo(IdleWaiter.BUSY_CAP.multipliedBy(2));
        signal.signal();
        idle.idle();
        assertThat(idle.currentBackoff()).as("after the linger a wake-up resets to min").isEqualTo(Duration.ofMillis(50));
    }

    @Test
    void the_cap_never_exceeds_max() throws InterruptedException {
        IdleWaiter idle = new IdleWaiter(new WakeSignal(), Duration.ofMillis(1), Duration.ofMillis(2), new Clock());
        idle.busy();
        idle.idle();
        idle.idle();
        assertThat(idle.currentBackoff()).isEqualTo(Duration.ofMillis(2));
    }

    @Test
    void a_full_read_goes_on_at_once_a_short_one_waits_the_recheck_and_an_empty_one_backs_off() throws InterruptedException {
        WakeSignal signal = new WakeSignal();
        Clock clock = new Clock();
        IdleWaiter idle = new IdleWaiter(signal, Duration.ofMillis(8), Duration.ofMillis(40), clock);
        signal.signal(); // a full read must not consume a pending wake-up: it does not wait at all
        idle.afterRead(50, 50);
        assertThat(idle.currentBackoff()).isEqualTo(IdleWaiter.RECHECK);
        assertThat(signal.await(Duration.ZERO)).as("the wake-up is still pending").isTrue();

        idle.afterRead(3, 50); // drained: waited RECHECK for a wake-up that did not come, then doubled
        assertThat(idle.currentBackoff()).isEqualTo(IdleWaiter.RECHECK.multipliedBy(2));

        clock.nanos += IdleWaiter.LINGER.toNanos();
        idle.afterRead(0, 50);
        idle.afterRead(0, 50);
        assertThat(idle.currentBackoff()).isEqualTo(Duration.ofMillis(8));
    }

    @Test
    void a_wake_up_ends_the_wait_and_resets_the_backoff_to_min() throws InterruptedException {
        WakeSignal signal = new WakeSignal();
        IdleWaiter idle = new IdleWaiter(signal, Duration.ofMillis(5), Duration.ofSeconds(60));
        for (int i = 0; i < 4; i++) {
            idle.idle();
        }
        assertThat(idle.currentBackoff()).isEqualTo(Duration.ofMillis(80));
        signal.signal();
        assertThat(idle.idle()).isTrue();
        assertThat(idle.currentBackoff()).isEqualTo(Duration.ofMillis(5));
    }

    @Test
    void a_min_below_the_recheck_interval_is_kept_after_work() {
        IdleWaiter idle = new IdleWaiter(new WakeSignal(), Duration.ofNanos(500_000), Duration.ofMillis(10));
        idle.busy();
        assertThat(idle.currentBackoff()).isEqualTo(Duration.ofNanos(500_000));
        assertThatThrownBy(() -> new IdleWaiter(new WakeSignal(), Duration.ZERO, Duration.ofMillis(10)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}

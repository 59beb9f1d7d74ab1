package io.ordo.queue;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class IdleWaiterTest {

    @Test
    void after_work_it_rechecks_within_a_millisecond_then_backs_off_doubling_to_max() throws InterruptedException {
        IdleWaiter idle = new IdleWaiter(new WakeSignal(), Duration.ofMillis(8), Duration.ofMillis(40));
        assertThat(idle.currentBackoff()).as("a consumer that has not worked yet starts at min").isEqualTo(Duration.ofMillis(8));

        idle.busy();
        assertThat(idle.currentBackoff()).isEqualTo(IdleWaiter.RECHECK);
        StringBuilder waits = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            assertThat(idle.idle()).as("nobody signalled").isFalse();
            waits.append(idle.currentBackoff().toMillis()).append(' ');
        }
        assertThat(waits.toString().strip()).isEqualTo("2 4 8 16 32 40 40 40");
    }

    @Test
    void a_full_read_goes_on_at_once_a_short_one_waits_the_recheck_and_an_empty_one_backs_off() throws InterruptedException {
        WakeSignal signal = new WakeSignal();
        IdleWaiter idle = new IdleWaiter(signal, Duration.ofMillis(8), Duration.ofMillis(40));
        signal.signal(); // a full read must not consume a pending wake-up: it does not wait at all
        idle.afterRead(50, 50);
        assertThat(idle.currentBackoff()).isEqualTo(IdleWaiter.RECHECK);
        assertThat(signal.await(Duration.ZERO)).as("the wake-up is still pending").isTrue();

        idle.afterRead(3, 50); // drained: waited RECHECK for a wake-up that did not come, then doubled
        assertThat(idle.currentBackoff()).isEqualTo(IdleWaiter.RECHECK.multipliedBy(2));

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

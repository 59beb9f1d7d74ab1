package io.ordo.coordination;

import java.time.Clock;

/** The coordination contract, in memory. */
class InMemoryCoordinationTest extends CoordinationContract {
    @Override
    protected Coordination create(Clock clock) {
        return new InMemoryCoordination(clock);
    }
}

package io.ordo.coordination;

import io.ordo.testing.OrdoDatabaseExtension;
import io.ordo.testing.TestDatabase;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Clock;

/** The coordination contract, against PostgreSQL. */
@ExtendWith(OrdoDatabaseExtension.class)
class PostgresCoordinationTest extends CoordinationContract {
    private static TestDatabase db;

    @BeforeAll
    static void database(TestDatabase database) {
        db = database;
    }

    @Override
    protected Coordination create(Clock clock) {
        return new PostgresCoordination(db.database(), clock);
    }
}

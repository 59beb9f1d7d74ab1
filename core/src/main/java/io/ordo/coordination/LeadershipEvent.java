package io.ordo.coordination;

/** What a {@link LeaderElector} tells its listeners. */
public sealed interface LeadershipEvent {
    Leadership leadership();

    /** This node became leader under a new term. */
    record Elected(Leadership leadership) implements LeadershipEvent {
    }

    /** This node is no longer leader (its session ended, a duty's term was refused, or it stepped down). */
    record Lost(Leadership leadership, String reason) implements LeadershipEvent {
    }
}

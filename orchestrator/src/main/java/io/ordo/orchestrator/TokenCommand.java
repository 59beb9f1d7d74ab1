package io.ordo.orchestrator;

import io.ordo.InvalidInputException;
import io.ordo.db.Database;
import io.ordo.db.DatabaseSettings;
import io.ordo.http.auth.ApiTokens;
import io.ordo.http.auth.Role;
import io.ordo.telemetry.Logging;

import java.io.PrintStream;
import java.time.Clock;
import java.util.Map;

/** {@code ordo token create --role ROLE [--name NAME]}: creates an API token and prints its secret, once. */
public final class TokenCommand {
    private TokenCommand() {
    }

    /** Returns the process exit code. */
    public static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
        try {
            Map<String, String> quiet = new java.util.HashMap<>(env);
            quiet.putIfAbsent("ORDO_LOG_LEVEL", "WARN");
            Logging.configure(quiet);
            if (args.length == 0 || !args[0].equals("create")) {
                throw new InvalidInputException("usage: ordo token create --role reader|submitter|operator|admin [--name NAME]");
            }
            Role role = null;
            String name = null;
            for (int i = 1; i < args.length; i++) {
                switch (args[i]) {
                    case "--role" -> role = Role.of(value(args, ++i, "--role"));
                    case "--name" -> name = value(args, ++i, "--name");
                    default -> throw new InvalidInputException("unknown option " + args[i] + "; ordo token create takes --role and --name");
                }
            }
            if (role == null) {
                throw new InvalidInputException("--role is required: reader, submitter, operator or admin");
            }
            String url = env.get("ORDO_DATABASE_URL");
            if (url == null || url.isBlank()) {
                throw new InvalidInputException("set ORDO_DATABASE_URL to the cluster's database (with the embedded PostgreSQL,"
                        + " `ordo server` prints an admin token the first time it starts)");
            }
            try (Database db = Database.connect(DatabaseSettings.fromUrl(url).withMaxPoolSize(2).withApplicationName("ordo-token"))) {
                db.migrate();
                ApiTokens.Created created = new ApiTokens(db.dsl(), Clock.systemUTC()).create(role, name);
                err.println("ordo token: created token " + created.token().id() + " '" + created.token().name() + "' with role "
                        + role.label() + "; its secret is shown only now:");
                out.println(created.secret());
            }
            return 0;
        } catch (InvalidInputException e) {
            err.println("ordo token: " + e.getMessage());
            return 2;
        }
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new InvalidInputException(option + " needs a value");
        }
        return args[i];
    }
}

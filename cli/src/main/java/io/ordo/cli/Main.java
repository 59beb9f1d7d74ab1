package io.ordo.cli;

import io.ordo.db.Database;
import io.ordo.db.DatabaseSettings;
import io.ordo.dlq.DlqCommand;
import io.ordo.loadtest.BenchCommand;
import io.ordo.worker.container.WorkerMain;

import java.util.Arrays;

/** Entry point of {@code ./ordo}: one subcommand per service or tool. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println("usage: ordo <command> [options]; see ./ordo --help");
            System.exit(2);
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        switch (args[0]) {
            case "migrate" -> migrate();
            case "demo" -> System.exit(Demo.run(rest, System.getenv(), System.out));
            case "bench" -> System.exit(BenchCommand.run(rest));
            case "worker" -> System.exit(WorkerMain.run(rest));
            case "server" -> {
                int code = io.ordo.orchestrator.Main.run(rest, System.getenv());
                if (code != 0) {
                    System.exit(code);
                }
            }
            case "token" -> System.exit(io.ordo.orchestrator.TokenCommand.run(rest, System.getenv(), System.out, System.err));
            case "dlq" -> System.exit(DlqCommand.run(rest));
            default -> {
                System.err.println("ordo: unknown command '" + args[0] + "'; see ./ordo --help");
                System.exit(2);
            }
        }
    }

    private static void migrate() {
        String url = System.getenv("ORDO_DATABASE_URL");
        if (url == null || url.isBlank()) {
            System.err.println("ordo migrate: set ORDO_DATABASE_URL to the database to migrate");
            System.exit(2);
        }
        try (Database db = Database.connect(DatabaseSettings.fromUrl(url).withMaxPoolSize(2).withApplicationName("ordo-migrate"))) {
            db.migrate();
            System.out.println("ordo migrate: database is at the latest schema version");
        }
    }
}

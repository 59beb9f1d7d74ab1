package io.ordo.cli;

import io.ordo.dlq.DlqCommand;
import io.ordo.loadtest.BenchCommand;
import io.ordo.orchestrator.MigrateCommand;
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
            case "migrate" -> System.exit(MigrateCommand.run(System.getenv(), System.out, System.err));
            case "demo" -> System.exit(Demo.run(rest, System.getenv(), System.out));
            case "bench" -> System.exit(BenchCommand.run(rest));
            case "worker" -> System.exit(WorkerMain.run(rest));
            case "server" -> System.exit(io.ordo.orchestrator.Main.run(rest, System.getenv()));
            case "token" -> System.exit(io.ordo.orchestrator.TokenCommand.run(rest, System.getenv(), System.out, System.err));
            case "dlq" -> System.exit(DlqCommand.run(rest));
            default -> {
                System.err.println("ordo: unknown command '" + args[0] + "'; see ./ordo --help");
                System.exit(2);
            }
        }
    }
}

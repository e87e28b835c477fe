import ArgumentParser
import Foundation
import PaddockCLI
import PaddockCore

/// The `paddock` command line.
public struct PaddockCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "paddock",
        abstract: "Isolated, ephemeral sandboxes for coding agents.",
        discussion: """
            The CLI talks to a Paddock server at PADDOCK_URL (default http://127.0.0.1:7070) with the token in
            PADDOCK_TOKEN, or the admin token a local server wrote to <data-dir>/admin.token.
            """,
        version: "0.1.0",
        subcommands: [ServerCommand.self] + ClientCommands.all + [DoctorCommand.self, BenchCommand.self])

    public init() {}

    /// Runs the CLI and exits with the right code: a sandboxed command's own exit code is passed through;
    /// Paddock errors print their message and exit 1.
    public static func execute(arguments: [String]? = nil) async {
        do {
            var command = try parseAsRoot(arguments)
            if var async = command as? any AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch let exit as CommandExit {
            Foundation.exit(exit.code)
        } catch let error as PaddockError {
            FileHandle.standardError.write(Data("paddock: \(error.message)\n".utf8))
            Foundation.exit(1)
        } catch {
            exit(withError: error)
        }
    }
}

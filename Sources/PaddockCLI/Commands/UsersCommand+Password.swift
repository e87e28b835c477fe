import ArgumentParser
import Foundation
import PaddockAPI
import PaddockCore

extension UsersCommand {
    /// `paddock users set-password NAME`: for admins; the password comes from stdin, never from the command line.
    struct SetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-password",
            abstract: "Set a user's web sign-in password, read from stdin (one line); their browsers are signed out.")
        @Argument(help: "User name.") var name: String

        func run() async throws {
            var password = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            // `echo pw | paddock users set-password` adds one newline; the password is the line.
            if password.hasSuffix("\r\n") {
                password.removeLast(2)
            } else if password.hasSuffix("\n") {
                password.removeLast()
            }
            guard !password.isEmpty else {
                throw ValidationError(
                    "no password on stdin; pipe it in, e.g. `paddock users set-password \(name) < file`")
            }
            _ = try await APIClient.fromEnvironment().raw(
                .PUT, "/v1/users/\(name)/password", json: SetPasswordBody(password: password))
            print("set the password of \(name); their browser sessions were ended")
        }
    }
}

import ArgumentParser
import Foundation
import PaddockAPI

// How every command prints, the host's commands (PaddockHost) too: a table for people, `--json` for scripts.

/// Global connection flags.
public struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON.") public var json = false

    public init() {}
}

/// Prints a value as the API's JSON (snake_case keys, ISO 8601 dates), sorted and indented.
public func printJSON(_ value: some Encodable) throws {
    let encoder = APICoding.encoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

extension String {
    /// The string padded with spaces to `n` characters, for table columns; a longer string is left whole.
    public func padding(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}

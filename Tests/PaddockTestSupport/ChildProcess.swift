import Dispatch
import Foundation

/// Runs a configured `Process` to its end without holding a cooperative thread: the pool has two threads on a
/// 2-core host, and a test blocked in `readDataToEndOfFile` starves every other test of the run (the full suite
/// then timed out waits that pass alone). Both pipes are read at once, so a child filling its stderr pipe while
/// the test reads stdout cannot deadlock either.
public enum ChildProcess {
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// `process` must have pipes as its standard output and error; `stdin`, when given, is written to a new pipe.
    public static func run(_ process: Process, stdin: Data? = nil) async throws -> Output {
        guard let out = process.standardOutput as? Pipe, let err = process.standardError as? Pipe else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "stdout and stderr must be pipes"])
        }
        let input = Pipe()
        if stdin != nil { process.standardInput = input }
        let box = UncheckedProcess(process)
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                do {
                    try box.process.run()
                    if let stdin {
                        input.fileHandleForWriting.write(stdin)
                        try input.fileHandleForWriting.close()
                    }
                    let collected = CollectedData()
                    let group = DispatchGroup()
                    group.enter()
                    DispatchQueue.global().async {
                        collected.set(err.fileHandleForReading.readDataToEndOfFile())
                        group.leave()
                    }
                    let stdout = out.fileHandleForReading.readDataToEndOfFile()
                    group.wait()
                    let stderr = collected.get()
                    box.process.waitUntilExit()
                    continuation.resume(
                        returning: Output(
                            status: box.process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                            stderr: String(decoding: stderr, as: UTF8.self)))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Stderr as read on its own thread (handed over through the dispatch group's wait).
    private final class CollectedData: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        func set(_ value: Data) { lock.withLock { data = value } }
        func get() -> Data { lock.withLock { data } }
    }

    /// `Process` is not `Sendable`; it is handed to one dispatch thread, which alone touches it from then on.
    private final class UncheckedProcess: @unchecked Sendable {
        let process: Process
        init(_ process: Process) { self.process = process }
    }
}

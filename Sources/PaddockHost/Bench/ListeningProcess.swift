import Foundation
import PaddockCore

/// A helper program a benchmark runs beside Paddock (an app on the host, a relay): started, known ready when it says
/// `ready` on its output or its errors — which are read to the end, so it never blocks on a full pipe — and ended by
/// its pid.
struct ListeningProcess {
    enum Stream { case output, errors }

    let process: Process
    let pipe: Pipe

    static func start(
        _ path: String, _ arguments: [String], readyWhen ready: String, on stream: Stream, what: String
    ) async throws -> ListeningProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = stream == .output ? pipe : FileHandle.nullDevice
        process.standardError = stream == .errors ? pipe : FileHandle.nullDevice
        let (lines, line) = AsyncStream.makeStream(of: Data.self)
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { line.finish() } else { line.yield(data) }
        }
        process.terminationHandler = { _ in line.finish() }
        try process.run()
        let started = ListeningProcess(process: process, pipe: pipe)
        do {
            try await withDeadline(.seconds(10), "\(what) starting") {
                var said = Data()
                for await chunk in lines {
                    said += chunk
                    if String(decoding: said, as: UTF8.self).contains(ready) { return }
                }
                throw PaddockError.internal("\(what) exited before it was ready")
            }
        } catch {
            started.stop()
            throw error
        }
        return started
    }

    /// SIGKILL, not `terminate()`: a child inherits an ignored SIGTERM from this process (ignored dispositions
    /// survive exec), and a SIGTERM left the benchmark's app running after the benchmark.
    func stop() {
        pipe.fileHandleForReading.readabilityHandler = nil
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

import Foundation
import PaddockAPI
import PaddockCore
import PaddockInitProtocol
import PaddockSandbox
import PaddockServices

// Conversions between the wire types (PaddockAPI, which knows only PaddockCore) and the values of the
// services and the sandbox layer, which only the server links.

extension ExecBody {
    /// The command in domain terms, for `SessionService.exec`.
    func command() throws -> SessionCommand {
        SessionCommand(
            cmd, env: env ?? [:], cwd: cwd, user: try SessionService.user(user),
            tty: tty.map { TerminalSize(rows: $0.rows, cols: $0.cols) }, stdin: stdin ?? false)
    }
}

extension FileInfoBody {
    init(_ i: SandboxFileInfo) {
        let type =
            switch i.kind {
            case .file: "file"
            case .directory: "directory"
            case .symlink: "symlink"
            case .other: "other"
            }
        self.init(
            name: i.name, path: i.path, type: type, size: i.size, mode: String(i.mode & 0o7777, radix: 8),
            modifiedAt: Date(timeIntervalSince1970: Double(i.mtimeNanos) / 1e9), symlinkTarget: i.symlinkTarget)
    }
}

extension StatsBody {
    init(_ s: SandboxStats) {
        self.init(
            memoryBytes: s.memoryBytes, memoryLimitBytes: s.memoryLimitBytes,
            cpuSeconds: Double(s.cpuNanoseconds) / 1e9, pids: s.pids, diskUsedBytes: s.diskUsedBytes,
            diskLimitBytes: s.diskLimitBytes, oomEvents: s.oomEvents, pidLimitHits: s.pidLimitHits)
    }
}

extension SecretBody {
    init(_ info: SecretVault.Info) {
        self.init(
            name: info.name, team: info.team, hosts: info.hosts, allowHttp: info.allowHTTP, inBody: info.inBody,
            createdAt: info.createdAt, updatedAt: info.updatedAt)
    }
}

extension StopAllReportBody {
    init(_ r: EmergencyStopService.StopAllReport) {
        self.init(team: r.team, stopped: r.stopped, failed: r.failed)
    }
}

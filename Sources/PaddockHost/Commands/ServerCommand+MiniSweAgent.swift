import ArgumentParser
import Foundation
import PaddockServer
import PaddockServices

extension AgentOptions {
    /// mini-swe-agent's packages on this host (`--agent-bin mini-swe-agent=SITE_PACKAGES`, else the `.venv`'s)
    /// and the Python that runs them in a sandbox: the host's `/usr/bin/pythonX.Y` of the version they were
    /// installed for, which sandboxes on the host template see. Nil when mini-swe-agent is not installed (or
    /// the `.venv`'s is for a Python version the host has no `/usr/bin/pythonX.Y` of).
    func miniSweAgentPackages() throws -> (sitePackages: String, python: String)? {
        var found: (sitePackages: String, python: String)?
        for item in agentBin {
            let (name, path) = try Self.pair(item, "--agent-bin", "mini-swe-agent=SITE_PACKAGES")
            guard name == "mini-swe-agent" else { continue }
            let url = URL(fileURLWithPath: path).standardizedFileURL
            guard FileManager.default.fileExists(atPath: url.path + "/minisweagent/__init__.py") else {
                throw ValidationError(
                    "--agent-bin mini-swe-agent=\(path): no minisweagent package there; give the site-packages "
                        + "directory it is installed in (e.g. .venv/lib/python3.11/site-packages)")
            }
            found = (url.path, url.deletingLastPathComponent().lastPathComponent)
        }
        guard let (sitePackages, version) = found ?? Self.venvFile("minisweagent/__init__.py") else { return nil }
        let python = "/usr/bin/" + version
        guard version.hasPrefix("python3."), FileManager.default.isExecutableFile(atPath: python) else {
            // Found in the .venv by default: that agent is left out, the server still starts.
            guard found != nil else { return nil }
            throw ValidationError(
                "mini-swe-agent in \(sitePackages) was installed for \(version), and sandboxes have no \(python); "
                    + "install it with the host's /usr/bin/python3 (apt-get install python3-venv)")
        }
        return (sitePackages, python)
    }
}

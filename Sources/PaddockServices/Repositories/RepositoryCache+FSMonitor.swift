import Foundation
import PaddockCore
import PaddockSandbox

/// `git status` in a session without stating every file.
///
/// A session's /workspace is a copy-on-write view of a sealed layer whose index matches its files, so what can
/// differ from the index is exactly what the view's upper directory holds — which the sandbox sees, read-only,
/// at `SandboxLayout.workspaceChanges`. The layer's git asks its fsmonitor hook (protocol 2) what changed, and the
/// hook answers with that directory's paths (directories as prefixes, deletions both ways) plus every path it
/// answered before in this session (a file created, added and then deleted leaves the upper directory without a
/// trace). Git then stats only those: a first `git status` on 100,000 files costs what one on a few does, and
/// the sandbox's memory holds no inode for the files it did not touch. Where the directory is missing (a copied
/// workspace) or cannot be read whole, the hook fails, and git stats every file as it would without one.
extension RepositoryCache {
    /// The hook's token: constant, because its answer is always "everything that differs from the layer".
    static let fsmonitorToken = "paddock"
    static let fsmonitorHookName = "paddock-fsmonitor"

    /// The hook, run by git at the top of the worktree as whoever runs git in the sandbox.
    static let fsmonitorHook = """
        #!/bin/sh
        # Paddock: git's fsmonitor hook for a session on a repository layer (see core.fsmonitor).
        # Prints what may differ from the sealed layer: the session's changes, and everything printed before.
        exec 2>/dev/null
        set -e
        state="$PWD/.git/\(fsmonitorHookName)"
        cd \(SandboxLayout.workspaceChanges)
        find . -mindepth 1 \\( -type d -printf '%P/\\0' \\) -o \\( -type c -printf '%P\\0%P/\\0' \\) \\
            -o -printf '%P\\0' > "$state-new"
        if [ -f "$state-seen" ]; then cat "$state-seen" >> "$state-new"; fi
        sort -zu "$state-new" > "$state-sorted"
        mv -f "$state-sorted" "$state-seen"
        rm -f "$state-new"
        printf '\(fsmonitorToken)\\0'
        cat "$state-seen"

        """

    /// Writes the hook into the checkout's `.git`, points git at it, and records the token in the index with every
    /// entry valid (two `git status` runs with a hook that reports nothing: the first makes the index's fsmonitor
    /// extension, the second sets its token), so a session's first `git status` asks the hook instead of stating.
    static func installFSMonitor(_ workspace: String) async throws {
        let dotGit = "\(workspace)/.git"
        let git = HostGit(workspace, safeDirectory: true)
        let hook = "\(dotGit)/\(fsmonitorHookName)"
        // Atomically: in a layer made from another, the old hook is a link to that layer's.
        try Data(fsmonitorHook.utf8).write(to: URL(fileURLWithPath: hook), options: .atomic)
        try executable(hook)
        let sealing = try writeSealingHook(dotGit)
        for _ in 0..<2 {
            try await git.check(
                ["-c", "core.fsmonitor=\(sealing)", "-c", "core.fsmonitorHookVersion=2", "status", "--porcelain"],
                trust: .content, "recording the checkout's state for git's fsmonitor")
        }
        try FileManager.default.removeItem(atPath: sealing)
        for setting in [
            ["core.fsmonitor", "\(SandboxLayout.workspace)/.git/\(fsmonitorHookName)"],
            ["core.fsmonitorHookVersion", "2"],
        ] {
            try await git.check(["config"] + setting, trust: .content, "configuring the checkout")
        }
        try own(hook)
    }

    /// A hook for the server's own git runs on a checkout being sealed, which nothing else writes: nothing changed.
    static func writeSealingHook(_ dotGit: String) throws -> String {
        let sealing = "\(dotGit)/\(fsmonitorHookName)-sealing"
        try Data("#!/bin/sh\nprintf '\(fsmonitorToken)\\0'\n".utf8).write(
            to: URL(fileURLWithPath: sealing), options: .atomic)
        try executable(sealing)
        return sealing
    }

    private static func executable(_ path: String) throws {
        guard chmod(path, 0o755) == 0 else {
            throw PaddockError.internal("making git's fsmonitor hook executable failed (errno \(errno))")
        }
    }
}

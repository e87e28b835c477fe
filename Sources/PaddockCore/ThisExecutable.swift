import Foundation

/// Where this process's executable lives. paddock-init, the pinned tools (`.tools/bin`) and the `.venv` are
/// found next to it or above it (the repository, for `.build/<config>/paddock`).
public enum ThisExecutable {
    /// Its path, from /proc/self/exe; argv[0] where /proc cannot be read (a chroot without it), which is still
    /// the path it was started by.
    public static var path: String {
        do { return try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") } catch {
            return CommandLine.arguments[0]
        }
    }

    /// Its directory, then every directory above it, nearest first ("/" left out).
    public static var directories: [String] {
        var found: [String] = []
        var url = URL(fileURLWithPath: path).deletingLastPathComponent()
        while url.path != "/" && !url.path.isEmpty {
            found.append(url.path)
            url.deleteLastPathComponent()
        }
        return found
    }
}

/// The fixed places inside every sandbox that policies refer to, and the one way paths in policies are resolved.
public enum SandboxPaths {
    /// The home directory of the unprivileged sandbox user; `~` in a policy means this.
    public static let home = "/home/user"
    /// Where the repository snapshot lives; relative paths in a policy are relative to it.
    public static let workspace = "/workspace"

    /// Resolves a path as a policy means it: `~` and `~/x` under `home`, relative paths under `workspace`,
    /// then `.`, `..` and repeated slashes removed lexically (`..` never climbs above `/`).
    ///
    /// Lenient on purpose: it is also used on paths reported from inside the sandbox, which are whatever a
    /// program asked for.
    public static func resolve(_ path: String, home: String = home, workspace: String = workspace) -> String {
        if isNormalAbsolute(path) { return path }
        let absolute: String
        if path == "~" {
            absolute = home
        } else if path.hasPrefix("~/") {
            absolute = home + path.dropFirst()
        } else if path.hasPrefix("/") {
            absolute = path
        } else {
            absolute = workspace + "/" + path
        }
        var parts: [Substring] = []
        for part in absolute.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// True for an absolute path with no empty, `.` or `..` component and no trailing slash — what the kernel
    /// reports — so resolving it can skip splitting and joining.
    static func isNormalAbsolute(_ path: String) -> Bool {
        let bytes = path.utf8
        guard bytes.first == UInt8(ascii: "/") else { return false }
        if bytes.count == 1 { return true }
        var segmentLength = 0
        var dots = 0
        for b in bytes.dropFirst() {
            if b == UInt8(ascii: "/") {
                if segmentLength == 0 || segmentLength == dots { return false }
                segmentLength = 0
                dots = 0
            } else {
                segmentLength += 1
                if b == UInt8(ascii: ".") { dots += 1 }
            }
        }
        // The last segment: not empty (trailing slash), not `.` or `..`.
        return segmentLength > 0 && !(segmentLength <= 2 && segmentLength == dots)
    }

    /// The last path component (`/usr/bin/rm` → `rm`); the whole text when it has no slash.
    static func basename(_ path: String) -> Substring {
        // Byte-wise: `/` is ASCII, and walking Characters costs grapheme breaking on every exec decision.
        let bytes = path.utf8
        var end = bytes.endIndex
        // A trailing slash names the same file (`/usr/bin/` is `bin`).
        while end > bytes.startIndex, bytes[bytes.index(before: end)] == UInt8(ascii: "/") {
            end = bytes.index(before: end)
        }
        guard let slash = bytes[..<end].lastIndex(of: UInt8(ascii: "/")) else { return path[..<end] }
        return path[bytes.index(after: slash)..<end]
    }
}

#if os(Linux)
    import PaddockCore

    /// Reads /proc/self/mountinfo, to find and count mounts below a directory (cleanup and its tests).
    public enum MountTable {
        /// Each mount's point, filesystem type and source, in the kernel's order (a later entry is on top).
        static func entries() -> [(point: String, type: String, source: String)] {
            guard let text = Syscalls.readFile("/proc/self/mountinfo", limit: 16 << 20) else { return [] }
            return text.split(separator: "\n").compactMap { line in
                let fields = line.split(separator: " ", omittingEmptySubsequences: false)
                guard fields.count > 4 else { return nil }
                // Optional fields end at "-"; the filesystem type and the source follow it.
                let dash = fields.firstIndex(of: "-")
                let type = dash.flatMap { $0 + 1 < fields.count ? String(fields[$0 + 1]) : nil }
                let source = dash.flatMap { $0 + 2 < fields.count ? unescape(String(fields[$0 + 2])) : nil }
                return (unescape(String(fields[4])), type ?? "", source ?? "")
            }
        }

        /// The source of the mount on top at exactly `path`.
        static func source(at path: String) -> String? {
            entries().last { $0.point == path }?.source
        }

        /// Mount points at or below `prefix`, newest first: the order to unmount them in, since a mount can only
        /// stack on (or use as an overlay layer) mounts made before it.
        public static func mountPoints(under prefix: String) -> [String] {
            let below = prefix.hasSuffix("/") ? prefix : prefix + "/"
            return entries().map(\.point).filter { $0 == prefix || $0.hasPrefix(below) }.reversed()
        }

        /// The filesystem type of the mount whose mount point is exactly `path` (the last one wins, as the
        /// kernel shows the top of a stack).
        public static func filesystemType(at path: String) -> String? {
            entries().last { $0.point == path }?.type
        }

        /// mountinfo escapes space, tab, newline and backslash as octal.
        static func unescape(_ s: String) -> String {
            guard s.contains("\\") else { return s }
            var out = [UInt8]()
            let bytes = Array(s.utf8)
            var i = 0
            while i < bytes.count {
                if bytes[i] == UInt8(ascii: "\\"), i + 3 < bytes.count,
                    let v = UInt8(String(decoding: bytes[(i + 1)...(i + 3)], as: UTF8.self), radix: 8)
                {
                    out.append(v)
                    i += 4
                } else {
                    out.append(bytes[i])
                    i += 1
                }
            }
            return String(decoding: out, as: UTF8.self)
        }
    }
#endif

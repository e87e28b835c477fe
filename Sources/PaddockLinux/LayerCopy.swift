#if os(Linux)
    import CPaddockShim
    import Dispatch
    import Glibc
    import PaddockCore
    import Synchronization

    /// Copies a sandbox's writable layer to and from a snapshot layer on disk.
    ///
    /// A snapshot layer is the overlay upper of a session, stored in overlay's own format (whiteouts are 0:0
    /// character devices, opaque directories carry `trusted.overlay.opaque`) with ownership *unshifted* to
    /// the ids the sandbox saw (uid 1000 stays 1000 on disk), so it can be applied to a sandbox with any host
    /// uid range. Applying writes through the new sandbox's merged root, so overlay sees ordinary writes and
    /// its caches stay coherent.
    ///
    /// Every path is walked with directory descriptors and `O_NOFOLLOW`: the layer's content comes from a
    /// sandbox and is untrusted, and neither it nor the target tree can send a write outside the target.
    enum LayerCopy {
        static let opaqueAttribute = "trusted.overlay.opaque"
        /// Host ids outside the sandbox's range (Paddock's own root-owned skeleton directories) are stored as
        /// the overflow id, which is also how the sandbox saw them.
        static let overflowID: UInt32 = 65534

        /// What a copy did: bytes of file data and entries written.
        struct Totals: Sendable, Equatable {
            var bytes: UInt64 = 0
            var entries: Int = 0
        }

        /// Maps ids of the sandbox's host range to the ids the sandbox saw.
        struct IDShift: Sendable {
            var hostBase: UInt32
            var rangeSize: UInt32

            func toLayer(_ id: UInt32) -> UInt32 {
                id >= hostBase && id - hostBase < rangeSize ? id - hostBase : overflowID
            }
            func toHost(_ id: UInt32) -> UInt32 { id < rangeSize ? hostBase + id : hostBase + overflowID }
        }

        // MARK: Seal

        /// Copies the overlay upper at `upper` into the new directory `layer` (which must not exist), keeping
        /// whiteouts and opaque markers and unshifting ownership.
        static func seal(upper: String, into layer: String, shift: IDShift) throws(PaddockError) -> Totals {
            let source = try openDirectory(AT_FDCWD, upper)
            defer { close(source) }
            try Syscalls.makeDirectory(layer, mode: 0o755)
            let target = try openDirectory(AT_FDCWD, layer)
            defer { close(target) }
            var batch = SealBatch()
            defer { batch.closeAll() }
            var totals = Totals()
            try copyDirectory(from: source, to: target, totals: &totals, batch: &batch) { uid, gid in
                (shift.toLayer(uid), shift.toLayer(gid))
            }
            totals.bytes += try batch.flush()
            return totals
        }

        /// Regular files of a seal waiting to be copied, and directories waiting for their owner, mode and
        /// times (set once everything in them exists). Files of the whole tree are copied side by side rather
        /// than a directory at a time: sealing holds the sandbox frozen, and a fork waits on it. Flushed every
        /// few hundred entries, so a large tree never holds many descriptors open.
        private struct SealBatch {
            struct File {
                let from: Int32
                let to: Int32
                let name: String
                let st: stat
                let uid: UInt32
                let gid: UInt32
            }
            /// A directory walked to its end; the batch owns (and closes) both descriptors.
            struct Directory {
                let source: Int32
                let target: Int32
                let st: stat
                let uid: UInt32
                let gid: UInt32
            }
            static let flushAt = 256
            var files: [File] = []
            var finished: [Directory] = []
            var isFull: Bool { files.count >= Self.flushAt || finished.count >= Self.flushAt }

            /// Copies the files, then settles the finished directories; returns the bytes copied.
            mutating func flush() throws(PaddockError) -> UInt64 {
                let bytes = try copyFiles(files)
                files.removeAll(keepingCapacity: true)
                defer { closeAll() }
                for d in finished { try setAttributes(d.target, d.st, d.uid, d.gid) }
                return bytes
            }

            mutating func closeAll() {
                for d in finished {
                    close(d.source)
                    close(d.target)
                }
                finished.removeAll(keepingCapacity: true)
            }
        }

        /// Copies every entry of the directory `from` into `to`, recursing into directories; regular files go
        /// to `batch`, which copies them later (`from` and `to` stay open until it has).
        private static func copyDirectory(
            from: Int32, to: Int32, totals: inout Totals, batch: inout SealBatch,
            owner: (UInt32, UInt32) -> (UInt32, UInt32)
        ) throws(PaddockError) {
            for name in try entries(of: from) {
                var st = stat()
                guard fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
                let (uid, gid) = owner(st.st_uid, st.st_gid)
                totals.entries += 1
                switch st.st_mode & S_IFMT {
                case S_IFDIR:
                    try check("creating \(name)") { mkdirat(to, name, 0o700) }
                    let child = try openDirectory(from, name)
                    let childTarget: Int32
                    do { childTarget = try openDirectory(to, name) } catch {
                        close(child)
                        throw error
                    }
                    do {
                        if hasOpaqueMarker(child) { try setOpaqueMarker(childTarget) }
                        try copyDirectory(from: child, to: childTarget, totals: &totals, batch: &batch, owner: owner)
                    } catch {
                        close(child)
                        close(childTarget)
                        throw error
                    }
                    // Walked: the batch owns both descriptors now, until its files are copied and it is settled.
                    batch.finished.append(.init(source: child, target: childTarget, st: st, uid: uid, gid: gid))
                case S_IFREG:
                    batch.files.append(.init(from: from, to: to, name: name, st: st, uid: uid, gid: gid))
                case S_IFLNK:
                    let link = try readLink(from, name)
                    try check("linking \(name)") { symlinkat(link, to, name) }
                    try check("owning \(name)") { fchownat(to, name, uid, gid, AT_SYMLINK_NOFOLLOW) }
                case S_IFCHR where st.st_rdev == 0:
                    // A whiteout: the sandbox deleted this name from a lower layer.
                    try check("recording the deletion of \(name)") { mknodat(to, name, S_IFCHR | 0o000, 0) }
                default:
                    // Sockets, fifos and devices carry no data worth keeping and could not be recreated safely.
                    totals.entries -= 1
                }
                if batch.isFull { totals.bytes += try batch.flush() }
            }
        }

        /// Copies regular files, on as many threads as there are processors.
        private static func copyFiles(_ files: [SealBatch.File]) throws(PaddockError) -> UInt64 {
            guard files.count > 1 else {
                return try files.first.map { f throws(PaddockError) in
                    try copyFile(from: f.from, to: f.to, name: f.name, f.st, f.uid, f.gid)
                } ?? 0
            }
            let outcome = Mutex<(bytes: UInt64, error: PaddockError?)>((0, nil))
            DispatchQueue.concurrentPerform(iterations: files.count) { index in
                let f = files[index]
                let result = Result { () throws(PaddockError) -> UInt64 in
                    try copyFile(from: f.from, to: f.to, name: f.name, f.st, f.uid, f.gid)
                }
                outcome.withLock { state in
                    switch result {
                    case .success(let copied): state.bytes += copied
                    case .failure(let error): if state.error == nil { state.error = error }
                    }
                }
            }
            let (bytes, error) = outcome.withLock { ($0.bytes, $0.error) }
            if let error { throw error }
            return bytes
        }

        // MARK: Apply

        /// Writes the layer at `layer` into the merged root of a running sandbox at `root`: files and
        /// directories are created or replaced, whiteouts delete, opaque directories are emptied first, and
        /// ownership is shifted into the sandbox's host range.
        static func apply(layer: String, onto root: String, shift: IDShift, skipping: Set<String> = [])
            throws(PaddockError) -> Totals
        {
            let source = try openDirectory(AT_FDCWD, layer)
            defer { close(source) }
            let target = try openDirectory(AT_FDCWD, root)
            defer { close(target) }
            var totals = Totals()
            try applyDirectory(
                from: source, to: target, into: .mergedRoot, skipping: skipping, totals: &totals
            ) { (shift.toHost($0), shift.toHost($1)) }
            return totals
        }

        /// Layers `layer` onto the sealed layer directory `target` (which need not exist), so that `target` says
        /// what the two say one after the other: deletions stay whiteouts, opaque directories stay opaque.
        /// `owner` maps the source's ids to the layer's (unshifting a sandbox's upper; identity for a layer).
        static func merge(
            layer: String, into target: String, owner: @escaping (UInt32, UInt32) -> (UInt32, UInt32)
        ) throws(PaddockError) -> Totals {
            let source = try openDirectory(AT_FDCWD, layer)
            defer { close(source) }
            var top = stat()
            guard fstat(source, &top) == 0 else { throw .internal("reading \(layer): \(Syscalls.errnoText())") }
            var existing = stat()
            if lstat(target, &existing) == 0, (existing.st_mode & S_IFMT) != S_IFDIR {
                guard let slash = target.lastIndex(of: "/") else { throw .internal("\(target) is not a path") }
                let parent = try openDirectory(AT_FDCWD, String(target[..<slash]))
                defer { close(parent) }
                try removeEntry(parent, String(target[target.index(after: slash)...]))
            }
            if !Syscalls.exists(target) { try check("creating \(target)") { mkdir(target, 0o700) } }
            let destination = try openDirectory(AT_FDCWD, target)
            defer { close(destination) }
            if hasOpaqueMarker(source) {
                for inner in try entries(of: destination) { try removeEntry(destination, inner) }
                try setOpaqueMarker(destination)
            }
            var totals = Totals()
            try applyDirectory(from: source, to: destination, into: .layer, skipping: [], totals: &totals, owner: owner)
            let (uid, gid) = owner(top.st_uid, top.st_gid)
            try setAttributes(destination, top, uid, gid)
            return totals
        }

        /// Where `applyDirectory` writes: a sandbox's merged root (deletions delete) or a sealed layer (they
        /// are recorded as whiteouts, and opaque markers are kept).
        private enum ApplyTarget { case mergedRoot, layer }

        private static func applyDirectory(
            from: Int32, to: Int32, into kind: ApplyTarget, skipping: Set<String>, totals: inout Totals,
            owner: (UInt32, UInt32) -> (UInt32, UInt32)
        ) throws(PaddockError) {
            for name in try entries(of: from) where !skipping.contains(name) {
                var st = stat()
                guard fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
                let (uid, gid) = owner(st.st_uid, st.st_gid)
                var existing = stat()
                let exists = fstatat(to, name, &existing, AT_SYMLINK_NOFOLLOW) == 0
                let existingIsDirectory = exists && (existing.st_mode & S_IFMT) == S_IFDIR
                totals.entries += 1
                switch st.st_mode & S_IFMT {
                case S_IFDIR:
                    let child = try openDirectory(from, name)
                    defer { close(child) }
                    if exists && !existingIsDirectory { try removeEntry(to, name) }
                    if !existingIsDirectory { try check("creating \(name)") { mkdirat(to, name, 0o700) } }
                    let childTarget = try openDirectory(to, name)
                    defer { close(childTarget) }
                    let opaque = hasOpaqueMarker(child)
                    if existingIsDirectory && opaque {
                        for inner in try entries(of: childTarget) { try removeEntry(childTarget, inner) }
                    }
                    if opaque && kind == .layer { try setOpaqueMarker(childTarget) }
                    try applyDirectory(
                        from: child, to: childTarget, into: kind, skipping: [], totals: &totals, owner: owner)
                    try setAttributes(childTarget, st, uid, gid, current: existingIsDirectory ? existing : nil)
                case S_IFREG:
                    if exists { try removeEntry(to, name) }
                    totals.bytes += try copyFile(from: from, to: to, name: name, st, uid, gid)
                case S_IFLNK:
                    if exists { try removeEntry(to, name) }
                    let link = try readLink(from, name)
                    try check("linking \(name)") { symlinkat(link, to, name) }
                    try check("owning \(name)") { fchownat(to, name, uid, gid, AT_SYMLINK_NOFOLLOW) }
                case S_IFCHR where st.st_rdev == 0:
                    if exists { try removeEntry(to, name) }
                    if kind == .layer {
                        try check("recording the deletion of \(name)") { mknodat(to, name, S_IFCHR | 0o000, 0) }
                    }
                default:
                    totals.entries -= 1
                }
            }
        }

        // MARK: Link

        /// Makes `target` (which must not exist) a tree of hard links to `source`'s files: directories are new,
        /// with the source's owners and modes, and every other entry is a second name of the source's inode. A
        /// repository layer made from its parent's this way costs a directory entry per file, not a copy; it is
        /// only safe because nothing writes a layer's files in place once it is sealed (git replaces a file it
        /// changes by a new one), and the caller replaces, never edits, what it changes.
        static func link(_ source: String, into target: String) throws(PaddockError) -> Totals {
            let from = try openDirectory(AT_FDCWD, source)
            defer { close(from) }
            var top = stat()
            guard fstat(from, &top) == 0 else { throw .internal("reading \(source): \(Syscalls.errnoText())") }
            try Syscalls.makeDirectory(target, mode: top.st_mode & 0o7777, owner: (top.st_uid, top.st_gid))
            let to = try openDirectory(AT_FDCWD, target)
            defer { close(to) }
            var totals = Totals()
            try linkDirectory(from: from, to: to, totals: &totals)
            return totals
        }

        private static func linkDirectory(from: Int32, to: Int32, totals: inout Totals) throws(PaddockError) {
            for name in try entries(of: from) {
                var st = stat()
                guard fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
                    throw .internal("reading \(name) of the layer to link: \(Syscalls.errnoText())")
                }
                totals.entries += 1
                guard (st.st_mode & S_IFMT) == S_IFDIR else {
                    // No AT_SYMLINK_FOLLOW: a symlink is linked as itself, never followed.
                    try check("linking \(name)") { linkat(from, name, to, name, 0) }
                    continue
                }
                try check("creating \(name)") { mkdirat(to, name, 0o700) }
                let child = try openDirectory(from, name)
                defer { close(child) }
                let childTarget = try openDirectory(to, name)
                defer { close(childTarget) }
                try linkDirectory(from: child, to: childTarget, totals: &totals)
                try check("owning \(name)") { fchown(childTarget, st.st_uid, st.st_gid) }
                try check("setting the mode of \(name)") { fchmod(childTarget, st.st_mode & 0o7777) }
            }
        }

        // MARK: Removal

        /// Removes a sealed layer directory. Layers hold whiteout nodes and directories without write
        /// permission for their owner, which root removes regardless.
        static func removeLayer(_ path: String) {
            guard let slash = path.lastIndex(of: "/") else { return }
            let parent = open(String(path[..<slash]), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard parent >= 0 else { return }
            defer { close(parent) }
            try? removeEntry(parent, String(path[path.index(after: slash)...]))
        }

        /// Removes `name` in `dir` and everything below it, never following a symlink.
        private static func removeEntry(_ dir: Int32, _ name: String) throws(PaddockError) {
            var st = stat()
            guard fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                let child = try openDirectory(dir, name)
                for inner in (try? entries(of: child)) ?? [] {
                    do { try removeEntry(child, inner) } catch {
                        close(child)
                        throw error
                    }
                }
                close(child)
                try check("removing \(name)") { unlinkat(dir, name, AT_REMOVEDIR) }
            } else {
                try check("removing \(name)") { unlinkat(dir, name, 0) }
            }
        }

        // MARK: Pieces

        private static func copyFile(
            from: Int32, to: Int32, name: String, _ st: stat, _ uid: UInt32, _ gid: UInt32
        ) throws(PaddockError) -> UInt64 {
            let input = Syscalls.retrying { openat(from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
            guard input >= 0 else { throw .internal("opening \(name) to copy it: \(Syscalls.errnoText())") }
            defer { close(input) }
            let output = Syscalls.retrying {
                openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            }
            guard output >= 0 else { throw .internal("creating \(name): \(Syscalls.errnoText())") }
            defer { close(output) }
            var copied: UInt64 = 0
            // copy_file_range lets the kernel move the bytes (and share extents where the filesystem can).
            while true {
                let n = pk_copy_file_range(input, output, 1 << 30)
                if n < 0 && errno == EINTR { continue }
                if n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
                    // Across filesystems (a tmpfs upper and the layer store; the layer store and an overlay),
                    // sendfile still moves the bytes inside the kernel, one copy instead of read and write's two.
                    copied += try copyBySendfile(input, output, name)
                    break
                }
                guard n >= 0 else { throw .internal("copying \(name): \(Syscalls.errnoText())") }
                if n == 0 { break }
                copied += UInt64(n)
            }
            try setAttributes(output, st, uid, gid)
            return copied
        }

        private static func copyBySendfile(_ input: Int32, _ output: Int32, _ name: String) throws(PaddockError)
            -> UInt64
        {
            var copied: UInt64 = 0
            while true {
                let n = sendfile(output, input, nil, 1 << 30)
                if n < 0 && errno == EINTR { continue }
                if n < 0 && copied == 0 && (errno == EINVAL || errno == ENOSYS) {
                    return try copyByReading(input, output, name)
                }
                guard n >= 0 else { throw .internal("copying \(name): \(Syscalls.errnoText())") }
                if n == 0 { return copied }
                copied += UInt64(n)
            }
        }

        private static func copyByReading(_ input: Int32, _ output: Int32, _ name: String) throws(PaddockError)
            -> UInt64
        {
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            var copied: UInt64 = 0
            while true {
                let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n >= 0 else { throw .internal("reading \(name): \(Syscalls.errnoText())") }
                if n == 0 { return copied }
                var offset = 0
                while offset < n {
                    let w = buffer.withUnsafeBytes { write(output, $0.baseAddress.map { $0 + offset }, n - offset) }
                    if w < 0 && errno == EINTR { continue }
                    guard w > 0 else { throw .internal("writing \(name): \(Syscalls.errnoText())") }
                    offset += w
                }
                copied += UInt64(n)
            }
        }

        /// Owner, mode (after the owner: chown clears set-id bits) and modification time, on an open file.
        /// Owner and mode are left alone when `current` already has them: on an overlay even a no-op change
        /// is a write (skeleton directories such as /tmp exist in every sandbox and every layer).
        private static func setAttributes(
            _ fd: Int32, _ st: stat, _ uid: UInt32, _ gid: UInt32, current: stat? = nil
        ) throws(PaddockError) {
            let sameOwner = current.map { $0.st_uid == uid && $0.st_gid == gid } ?? false
            let sameMode = sameOwner && current.map { $0.st_mode & 0o7777 == st.st_mode & 0o7777 } ?? false
            if !sameOwner { try check("setting the owner") { fchown(fd, uid, gid) } }
            if !sameMode { try check("setting the mode") { fchmod(fd, st.st_mode & 0o7777) } }
            var times = [st.st_atim, st.st_mtim]
            _ = futimens(fd, &times)
        }

        private static func hasOpaqueMarker(_ dir: Int32) -> Bool {
            var value: UInt8 = 0
            return pk_fgetxattr(dir, opaqueAttribute, &value, 1) == 1 && value == UInt8(ascii: "y")
        }

        private static func setOpaqueMarker(_ dir: Int32) throws(PaddockError) {
            var value = UInt8(ascii: "y")
            try check("marking a directory opaque") { pk_fsetxattr(dir, opaqueAttribute, &value, 1) }
        }

        private static func openDirectory(_ parent: Int32, _ name: String) throws(PaddockError) -> Int32 {
            let fd = Syscalls.retrying { openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            guard fd >= 0 else { throw .internal("opening directory \(name): \(Syscalls.errnoText())") }
            return fd
        }

        private static func entries(of dir: Int32) throws(PaddockError) -> [String] {
            // fdopendir takes ownership of its descriptor; give it a duplicate so the caller's stays open.
            let copy = dup(dir)
            guard copy >= 0, let stream = fdopendir(copy) else {
                throw .internal("listing a directory: \(Syscalls.errnoText())")
            }
            defer { closedir(stream) }
            // The duplicate shares the caller's offset, which an earlier listing left at the end.
            rewinddir(stream)
            var names: [String] = []
            while let entry = readdir(stream) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name != "." && name != ".." { names.append(name) }
            }
            return names
        }

        private static func readLink(_ dir: Int32, _ name: String) throws(PaddockError) -> String {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlinkat(dir, name, &buffer, buffer.count - 1)
            guard n >= 0 else { throw .internal("reading link \(name): \(Syscalls.errnoText())") }
            return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }

        private static func check(_ what: @autoclosure () -> String, _ body: () -> Int32) throws(PaddockError) {
            try Syscalls.check(what(), body)
        }
    }
#endif

extension WireMessage {
    private enum Tag: UInt8 {
        case hello = 1, spawn, attach, listProcesses, readFile, writeFile, stat, listDir, makeDir, remove, rename
        case signalProcess
        case dial, setMetadata
        case dialHandoff
        case watch, enableSudo
        case quiesce = 24
        case stdin = 32, closeStdin, signal, resize
        case helloReply = 64, started, stdout, stderr, exited, failure, ok, files, processes
        case fileEvents
        case data = 96, end
    }

    /// The payload of this message (frame it with `wireFrame`).
    public func encoded() -> [UInt8] {
        var w = WireWriter()
        switch self {
        case .hello: w.u8(Tag.hello.rawValue)
        case .spawn(let r):
            w.u8(Tag.spawn.rawValue)
            w.strings(r.argv)
            w.strings(r.env)
            w.string(r.cwd)
            w.user(r.user)
            w.bool(r.tty != nil)
            if let t = r.tty { w.size(t) }
            w.bool(r.stdin)
            w.bool(r.detached)
            w.optionalString(r.tag)
        case .attach(let pid):
            w.u8(Tag.attach.rawValue)
            w.i32(pid)
        case .listProcesses: w.u8(Tag.listProcesses.rawValue)
        case .readFile(let path, let user):
            w.u8(Tag.readFile.rawValue)
            w.string(path)
            w.user(user)
        case .writeFile(let path, let mode, let append, let user):
            w.u8(Tag.writeFile.rawValue)
            w.string(path)
            w.u32(mode)
            w.bool(append)
            w.user(user)
        case .stat(let path, let user):
            w.u8(Tag.stat.rawValue)
            w.string(path)
            w.user(user)
        case .listDir(let path, let depth, let user):
            w.u8(Tag.listDir.rawValue)
            w.string(path)
            w.u32(depth)
            w.user(user)
        case .makeDir(let path, let user):
            w.u8(Tag.makeDir.rawValue)
            w.string(path)
            w.user(user)
        case .remove(let path, let user):
            w.u8(Tag.remove.rawValue)
            w.string(path)
            w.user(user)
        case .rename(let from, let to, let user):
            w.u8(Tag.rename.rawValue)
            w.string(from)
            w.string(to)
            w.user(user)
        case .signalProcess(let pid, let signal):
            w.u8(Tag.signalProcess.rawValue)
            w.i32(pid)
            w.i32(signal)
        case .dial(let port):
            w.u8(Tag.dial.rawValue)
            w.u16(port)
        case .setMetadata(let path, let metadata, let user):
            w.u8(Tag.setMetadata.rawValue)
            w.string(path)
            w.metadata(metadata)
            w.user(user)
        case .dialHandoff(let port):
            w.u8(Tag.dialHandoff.rawValue)
            w.u16(port)
        case .watch(let path, let recursive, let user):
            w.u8(Tag.watch.rawValue)
            w.string(path)
            w.bool(recursive)
            w.user(user)
        case .enableSudo: w.u8(Tag.enableSudo.rawValue)
        case .quiesce: w.u8(Tag.quiesce.rawValue)
        case .stdin(let bytes):
            w.u8(Tag.stdin.rawValue)
            w.data(bytes)
        case .closeStdin: w.u8(Tag.closeStdin.rawValue)
        case .signal(let s):
            w.u8(Tag.signal.rawValue)
            w.i32(s)
        case .resize(let size):
            w.u8(Tag.resize.rawValue)
            w.size(size)
        case .helloReply(let version, let pid):
            w.u8(Tag.helloReply.rawValue)
            w.u32(version)
            w.i32(pid)
        case .started(let pid):
            w.u8(Tag.started.rawValue)
            w.i32(pid)
        case .stdout(let bytes):
            w.u8(Tag.stdout.rawValue)
            w.data(bytes)
        case .stderr(let bytes):
            w.u8(Tag.stderr.rawValue)
            w.data(bytes)
        case .exited(let code, let signal):
            w.u8(Tag.exited.rawValue)
            w.i32(code)
            w.i32(signal)
        case .failure(let code, let errno, let message):
            w.u8(Tag.failure.rawValue)
            w.string(code)
            w.i32(errno)
            w.string(message)
        case .ok: w.u8(Tag.ok.rawValue)
        case .files(let infos):
            w.u8(Tag.files.rawValue)
            w.u32(UInt32(infos.count))
            for i in infos { w.fileInfo(i) }
        case .processes(let list):
            w.u8(Tag.processes.rawValue)
            w.u32(UInt32(list.count))
            for p in list {
                w.i32(p.pid)
                w.strings(p.argv)
                w.string(p.cwd)
                w.optionalString(p.tag)
                w.bool(p.tty)
            }
        case .fileEvents(let events):
            w.u8(Tag.fileEvents.rawValue)
            w.u32(UInt32(events.count))
            for e in events {
                w.u8(e.kind.rawValue)
                w.string(e.path)
            }
        case .data(let bytes):
            w.u8(Tag.data.rawValue)
            w.data(bytes)
        case .end: w.u8(Tag.end.rawValue)
        }
        return w.bytes
    }

    /// Decodes one frame payload.
    public init(decoding payload: [UInt8]) throws(WireError) {
        var r = WireReader(payload)
        let raw = try r.u8()
        guard let tag = Tag(rawValue: raw) else { throw WireError("unknown message tag \(raw)") }
        switch tag {
        case .hello: self = .hello
        case .spawn:
            let argv = try r.strings()
            let env = try r.strings()
            let cwd = try r.string()
            let user = try r.user()
            let tty: TerminalSize? = try r.bool() ? try r.size() : nil
            let stdin = try r.bool()
            let detached = try r.bool()
            let tag = try r.optionalString()
            self = .spawn(
                SpawnRequest(
                    argv: argv, env: env, cwd: cwd, user: user, tty: tty, stdin: stdin, detached: detached, tag: tag))
        case .attach: self = .attach(pid: try r.i32())
        case .listProcesses: self = .listProcesses
        case .readFile: self = .readFile(path: try r.string(), user: try r.user())
        case .writeFile:
            self = .writeFile(path: try r.string(), mode: try r.u32(), append: try r.bool(), user: try r.user())
        case .stat: self = .stat(path: try r.string(), user: try r.user())
        case .listDir: self = .listDir(path: try r.string(), depth: try r.u32(), user: try r.user())
        case .makeDir: self = .makeDir(path: try r.string(), user: try r.user())
        case .remove: self = .remove(path: try r.string(), user: try r.user())
        case .rename: self = .rename(from: try r.string(), to: try r.string(), user: try r.user())
        case .signalProcess: self = .signalProcess(pid: try r.i32(), signal: try r.i32())
        case .dial: self = .dial(port: try r.u16())
        case .setMetadata: self = .setMetadata(path: try r.string(), metadata: try r.metadata(), user: try r.user())
        case .dialHandoff: self = .dialHandoff(port: try r.u16())
        case .quiesce: self = .quiesce
        case .stdin: self = .stdin(try r.data())
        case .closeStdin: self = .closeStdin
        case .signal: self = .signal(try r.i32())
        case .resize: self = .resize(try r.size())
        case .helloReply: self = .helloReply(version: try r.u32(), pid: try r.i32())
        case .started: self = .started(pid: try r.i32())
        case .stdout: self = .stdout(try r.data())
        case .stderr: self = .stderr(try r.data())
        case .exited: self = .exited(code: try r.i32(), signal: try r.i32())
        case .failure: self = .failure(code: try r.string(), errno: try r.i32(), message: try r.string())
        case .ok: self = .ok
        case .files:
            let n = Int(try r.u32())
            guard n <= 1 << 20 else { throw WireError("listing of \(n) entries is too long") }
            var infos: [WireFileInfo] = []
            for _ in 0..<n { infos.append(try r.fileInfo()) }
            self = .files(infos)
        case .processes:
            let n = Int(try r.u32())
            guard n <= 1 << 20 else { throw WireError("list of \(n) processes is too long") }
            var list: [WireProcessInfo] = []
            for _ in 0..<n {
                list.append(
                    WireProcessInfo(
                        pid: try r.i32(), argv: try r.strings(), cwd: try r.string(), tag: try r.optionalString(),
                        tty: try r.bool()))
            }
            self = .processes(list)
        case .watch: self = .watch(path: try r.string(), recursive: try r.bool(), user: try r.user())
        case .enableSudo: self = .enableSudo
        case .fileEvents:
            let n = Int(try r.u32())
            guard n <= 1 << 20 else { throw WireError("batch of \(n) file events is too long") }
            var events: [WireFileEvent] = []
            for _ in 0..<n {
                let raw = try r.u8()
                guard let kind = WireFileEventKind(rawValue: raw) else { throw WireError("unknown file event \(raw)") }
                events.append(WireFileEvent(kind: kind, path: try r.string()))
            }
            self = .fileEvents(events)
        case .data: self = .data(try r.data())
        case .end: self = .end
        }
        guard r.isAtEnd else { throw WireError("trailing bytes after message tag \(raw)") }
    }

    /// This message, length-prefixed and ready to write.
    public func framed() -> [UInt8] { wireFrame(encoded()) }
}

extension WireWriter {
    fileprivate mutating func user(_ u: WireUser) {
        u32(u.uid)
        u32(u.gid)
    }
    fileprivate mutating func size(_ s: TerminalSize) {
        u16(s.rows)
        u16(s.cols)
    }
    fileprivate mutating func fileInfo(_ i: WireFileInfo) {
        string(i.name)
        string(i.path)
        u8(i.kind.rawValue)
        u64(i.size)
        u32(i.mode)
        u32(i.uid)
        u32(i.gid)
        i64(i.mtimeNanos)
        optionalString(i.symlinkTarget)
        metadata(i.metadata)
    }
    /// Sorted key, value, key, value…
    fileprivate mutating func metadata(_ m: [String: String]) {
        strings(m.keys.sorted().flatMap { [$0, m[$0] ?? ""] })
    }
}

extension WireReader {
    fileprivate mutating func user() throws(WireError) -> WireUser { WireUser(uid: try u32(), gid: try u32()) }
    fileprivate mutating func size() throws(WireError) -> TerminalSize {
        TerminalSize(rows: try u16(), cols: try u16())
    }
    fileprivate mutating func fileInfo() throws(WireError) -> WireFileInfo {
        let name = try string()
        let path = try string()
        let rawKind = try u8()
        return WireFileInfo(
            name: name, path: path, kind: WireFileInfo.Kind(rawValue: rawKind) ?? .other, size: try u64(),
            mode: try u32(), uid: try u32(), gid: try u32(), mtimeNanos: try i64(), symlinkTarget: try optionalString(),
            metadata: try metadata())
    }
    fileprivate mutating func metadata() throws(WireError) -> [String: String] {
        let flat = try strings()
        var out: [String: String] = [:]
        for index in stride(from: 0, to: flat.count - 1, by: 2) { out[flat[index]] = flat[index + 1] }
        return out
    }
}

import ArgumentParser
import Foundation
import PaddockAPI
import PaddockCore

#if canImport(Glibc)
    import Glibc
#endif

struct CopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cp", abstract: "Copy files between this machine and a session.",
        discussion: """
            One side is SESSION:PATH; `-` is stdin as the source, stdout as the destination. Examples:
              paddock cp ./notes.txt s1abc:/workspace/notes.txt
              paddock cp s1abc:/workspace/out.log ./out.log
              paddock cp -r ./src s1abc:/workspace/src
              tar c src | paddock cp - s1abc:/workspace/src.tar
              paddock cp s1abc:/workspace/out.log - | grep error
            """)

    @Flag(name: .shortAndLong, help: "Copy directories recursively.") var recursive = false
    @Argument(help: "Source: a local path or SESSION:PATH.") var source: String
    @Argument(help: "Destination: a local path or SESSION:PATH.") var destination: String

    static func remote(_ s: String) -> (session: String, path: String)? {
        guard let colon = s.firstIndex(of: ":"), !s.hasPrefix("/"), !s.hasPrefix(".") else { return nil }
        let id = String(s[..<colon])
        guard SessionID(rawValue: id) != nil else { return nil }
        return (id, String(s[s.index(after: colon)...]))
    }

    func run() async throws {
        let client = try APIClient.fromEnvironment()
        switch (Self.remote(source), Self.remote(destination)) {
        case (nil, let to?): try await upload(client, local: source, session: to.session, path: to.path)
        case (let from?, nil): try await download(client, session: from.session, path: from.path, local: destination)
        default: throw ValidationError("exactly one side must be SESSION:PATH")
        }
    }

    func upload(_ client: APIClient, local: String, session: String, path: String) async throws {
        var isDir: ObjCBool = false
        guard local == LocalFile.standardStream || FileManager.default.fileExists(atPath: local, isDirectory: &isDir)
        else {
            throw PaddockError.notFound("\(local) does not exist (on this machine)")
        }
        if isDir.boolValue {
            guard recursive else { throw PaddockError.invalidArgument("\(local) is a directory; use -r to copy it") }
            let entries = FileManager.default.enumerator(atPath: local)?.compactMap { $0 as? String } ?? []
            for rel in entries.sorted() {
                var sub: ObjCBool = false
                _ = FileManager.default.fileExists(atPath: "\(local)/\(rel)", isDirectory: &sub)
                if !sub.boolValue {
                    try await uploadFile(client, local: "\(local)/\(rel)", session: session, path: "\(path)/\(rel)")
                }
            }
        } else {
            try await uploadFile(client, local: local, session: session, path: path)
        }
    }

    func uploadFile(_ client: APIClient, local: String, session: String, path: String) async throws {
        let file = try LocalFile.reading(local)
        _ = try await client.upload(session: session, path: path, mode: file.mode, from: file)
    }

    func download(_ client: APIClient, session: String, path: String, local: String) async throws {
        let info = try await client.call(
            .GET, "/v1/sessions/\(session)/files/stat?" + APIClient.query(["path": path]), as: FileInfoBody.self)
        if info.type == "directory" {
            guard recursive else { throw PaddockError.invalidArgument("\(path) is a directory; use -r to copy it") }
            guard local != LocalFile.standardStream else {
                throw PaddockError.invalidArgument(
                    "\(path) is a directory and cannot go to stdout; give a local directory to copy it into")
            }
            let list = try await client.call(
                .GET, "/v1/sessions/\(session)/files/list?" + APIClient.query(["path": info.path, "depth": "64"]),
                as: FileListBody.self)
            try FileManager.default.createDirectory(atPath: local, withIntermediateDirectories: true)
            for entry in list.entries {
                let rel = String(entry.path.dropFirst(info.path.count)).trimmingCharacters(
                    in: CharacterSet(charactersIn: "/"))
                let target = "\(local)/\(rel)"
                if entry.type == "directory" {
                    try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
                } else if entry.type == "file" {
                    try await downloadFile(client, session: session, path: entry.path, local: target)
                }
            }
        } else {
            var isDir: ObjCBool = false
            let target =
                FileManager.default.fileExists(atPath: local, isDirectory: &isDir) && isDir.boolValue
                ? "\(local)/\(info.name)" : local
            try await downloadFile(client, session: session, path: info.path, local: target)
        }
    }

    func downloadFile(_ client: APIClient, session: String, path: String, local: String) async throws {
        // stdout, a pipe or a device is written as it is: there is nothing to rename into place.
        if LocalFile.isStream(local) {
            return try await client.download(session: session, path: path, into: try LocalFile.writing(local))
        }
        // Write beside the target and rename, so an interrupted copy never leaves a truncated file.
        let partial = local + ".paddock-partial"
        let file: LocalFile
        do { file = try LocalFile.writing(partial) } catch {
            // Name the file the user gave, not the temporary one beside it.
            throw PaddockError(error.code, error.message.replacingOccurrences(of: partial, with: local))
        }
        do {
            try await client.download(session: session, path: path, into: file)
            guard rename(partial, local) == 0 else { throw LocalFile.failure("cannot write", local, errno) }
        } catch {
            unlink(partial)
            throw error
        }
    }
}

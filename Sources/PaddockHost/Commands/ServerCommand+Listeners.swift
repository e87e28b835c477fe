import ArgumentParser
import Foundation
import Logging
import PaddockCore
import PaddockServices

extension ServerCommand {
    /// nil for `off`; otherwise HOST and PORT.
    static func e2bAddress(_ text: String) throws -> (String, Int)? {
        if text == "off" { return nil }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            throw ValidationError("--e2b-listen takes HOST:PORT, such as 127.0.0.1:7071, or off")
        }
        return (String(text[..<colon]), port)
    }

    /// Logs where a listener is bound and records the port in `<data-dir>/<name>.port`, so whoever started
    /// the server with port 0 can find it.
    static func announce(_ name: String, host: String, port: Int, dataDirectory: String, _ logger: Logger) {
        let path = dataDirectory + "/\(name).port"
        do { try AtomicFile.write("\(port)\n".utf8, to: path, mode: 0o644) } catch {
            logger.warning("could not record the port", metadata: ["server.port_file": "\(path)", "error": "\(error)"])
        }
        logger.notice("\(name) listening on \(host):\(port)", metadata: ["server.port_file": "\(path)"])
    }

    /// The first admin's sign-up link is a secret: it goes to a file only root can read, not to the log; with
    /// `--print-first-signin` (what `make run` passes) it is printed on the terminal too.
    static func announceFirstSignIn(
        _ invite: CreatedInvite, base: String, dataDirectory: String, print toTerminal: Bool, _ logger: Logger
    ) {
        let link = invite.url ?? base + invite.path
        let path = dataDirectory + "/first-signin.url"
        do { try AtomicFile.write("\(link)\n".utf8, to: path, mode: 0o600) } catch {
            logger.error("could not write the first sign-in link", metadata: ["path": "\(path)", "error": "\(error)"])
        }
        logger.notice(
            "nobody can sign in to the web UI yet: open the one-use link in \(path) to create the first admin (24 h)")
        if toTerminal {
            // Written straight to the terminal: print() would sit in stdout's buffer while the server runs.
            let text =
                "\nFirst sign-in — open this link to create the first admin account (one use, 24 hours):\n  \(link)\n\n"
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}

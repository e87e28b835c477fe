import ArgumentParser
import Foundation
import Logging
import PaddockCore

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
}

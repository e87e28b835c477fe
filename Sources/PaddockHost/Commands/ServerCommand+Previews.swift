import ArgumentParser
import Foundation
import Logging
import PaddockCore
import PaddockServer
import PaddockServices
import PaddockStore

/// `--preview-listen` and `--preview-domain`: session ports served at `P-<id>.<domain>`.
struct PreviewOptions: ParsableArguments {
    @Option(help: "Address of the preview listener (port 0 picks a free one; `off` disables previews).")
    var previewListen: String = "127.0.0.1:7072"
    @Option(help: "Domain of preview hosts: port P of session ID is at P-ID.DOMAIN (point a wildcard DNS name here).")
    var previewDomain: String = "preview.localhost"
    @Option(help: "The widest audience a preview share may have: user, team, org or public.")
    var previewMaxAudience: String = "org"

    /// The service and its listener, or nil with `--preview-listen off`.
    func make(
        sessions: SessionService, store: SQLiteStore, tokens: TokenService, configuration: ServerConfiguration,
        uiBaseURL: String, dataDirectory: String, logger: Logger
    ) async throws -> (PreviewService, PreviewProxy)? {
        guard let (host, port) = try ServerCommand.address(previewListen, option: "--preview-listen") else {
            return nil
        }
        let domain = previewDomain.lowercased()
        guard !domain.isEmpty, domain.split(separator: ".").allSatisfy({ !$0.isEmpty }) else {
            throw ValidationError("--preview-domain takes a domain name, such as preview.example.com")
        }
        let maxAudience: PreviewAudience
        do {
            // Only breadth matters for a cap: `user` allows shares to one person at a time.
            maxAudience = previewMaxAudience == "user" ? .user("") : try PreviewAudience(parsing: previewMaxAudience)
        } catch { throw ValidationError("--preview-max-audience takes user, team, org or public") }
        let scheme = configuration.tls == nil ? "http" : "https"
        let previews = try PreviewService(
            sessions: sessions, store: store, key: try PreviewService.loadKey(at: dataDirectory + "/preview.key"),
            address: PreviewAddress(scheme: scheme, domain: domain, port: port),
            logger: Logger(label: "paddock.previews"))
        await previews.setMaxAudience(maxAudience)
        await sessions.setSessionEnvironment([PreviewService.viewerKeyEnvironmentName: previews.viewerPublicKey])
        let proxy = PreviewProxy(
            previews: previews, tokens: tokens,
            configuration: PreviewServerConfiguration(
                host: host, port: port, tls: configuration.tls, maxUploadBytes: configuration.maxUploadBytes,
                signInBaseURL: configuration.signIn == nil ? nil : uiBaseURL),
            logger: Logger(label: "paddock.previews"),
            onServerRunning: { bound in
                previews.setPort(bound)
                ServerCommand.announce("preview", host: host, port: bound, dataDirectory: dataDirectory, logger)
            })
        return (previews, proxy)
    }
}

extension ServerCommand {
    /// nil for `off`; otherwise HOST and PORT.
    static func address(_ text: String, option: String) throws -> (String, Int)? {
        if text == "off" { return nil }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            throw ValidationError("\(option) takes HOST:PORT, such as 127.0.0.1:7072, or off")
        }
        return (String(text[..<colon]), port)
    }
}

import Crypto
import Foundation
import Glibc
import PaddockCore
import PaddockStore
import Synchronization

/// The secrets vault: values sealed with AES-GCM under a 256-bit key kept in a file outside the database
/// (`<data-dir>/vault.key`, mode 0600), so a copy of the database alone reveals nothing. Write-only through
/// the API: values go in, names and hosts come out, and only the gateway ever opens a value.
public struct SecretVault: Sendable {
    public static let defaultTeam = "default"
    let store: any SecretStore
    /// The raw key; `SymmetricKey` is rebuilt per use because it is not `Sendable`.
    private let keyBytes: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }
    /// The audit trail's redaction, built once from every value in the vault and dropped when a secret is set or
    /// removed through this vault: every audit event needs it, and reading and opening every secret per event
    /// put a database read and a decryption on each exec.
    let redactionCache = RedactionCache()

    final class RedactionCache: Sendable {
        /// The redaction, and a generation that every change of the vault moves on: a redaction built from a read
        /// that a change overtook is not kept.
        private let state = Mutex<(generation: Int, redaction: AuditRedaction?)>((0, nil))

        var current: (generation: Int, redaction: AuditRedaction?) { state.withLock { $0 } }

        func invalidate() { state.withLock { $0 = ($0.generation + 1, nil) } }

        func keep(_ redaction: AuditRedaction, builtAt generation: Int) {
            state.withLock { if $0.generation == generation { $0.redaction = redaction } }
        }
    }

    /// Opens the vault, creating its key file (mode 0600) on first use.
    public init(store: any SecretStore, keyFile: String) throws(PaddockError) {
        self.store = store
        self.keyBytes = try Self.loadOrCreateKey(keyFile)
    }

    /// What the API says about a secret: never its value.
    public struct Info: Sendable, Codable, Equatable {
        public var name: String
        public var team: String
        public var hosts: [String]
        public var allowHTTP: Bool
        /// Placeholders in request bodies to the secret's hosts are swapped too.
        public var inBody: Bool
        public var createdAt: Date
        public var updatedAt: Date
    }

    /// Seals and stores a value; replaces an existing secret of the same name in the team.
    @discardableResult
    public func set(
        name: String, team: String?, value: String, hosts: [String], allowHTTP: Bool, inBody: Bool = false
    ) async throws
        -> Info
    {
        let team = team ?? Self.defaultTeam
        try Self.validate(name: name, team: team)
        guard !value.isEmpty else {
            throw PaddockError.invalidArgument("the value of \(name) is empty; pipe the value on stdin")
        }
        guard !value.contains("\0"), !value.contains(where: \.isNewline) else {
            throw PaddockError.invalidArgument(
                "the value of \(name) has a newline or NUL byte; secrets are single-line (strip the trailing newline)")
        }
        guard !hosts.isEmpty else {
            throw PaddockError.invalidArgument("\(name) needs the hosts it may be sent to: --hosts api.example.com")
        }
        for host in hosts {
            do { _ = try HostPattern(parsing: host) } catch {
                throw PaddockError.invalidArgument("--hosts: \(error.message)")
            }
        }
        let sealed: Data
        do {
            sealed =
                try AES.GCM.seal(Data(value.utf8), using: key, authenticating: Self.context(team, name)).combined
                ?? Data()
        } catch {
            throw PaddockError.internal("could not seal the secret", underlying: error)
        }
        let now = Date()
        let existing = try await store.secret(team: team, name: name)
        let stored = StoredSecret(
            team: team, name: name, hosts: hosts, allowHTTP: allowHTTP, inBody: inBody, sealed: sealed,
            createdAt: existing?.createdAt ?? now, updatedAt: now)
        try await store.putSecret(stored)
        redactionCache.invalidate()
        return Self.info(stored)
    }

    public func list(team: String?) async throws -> [Info] {
        try await store.secrets(team: team ?? Self.defaultTeam).map(Self.info)
    }

    public func remove(name: String, team: String?) async throws {
        defer { redactionCache.invalidate() }
        guard try await store.deleteSecret(team: team ?? Self.defaultTeam, name: name) else {
            throw PaddockError.notFound("there is no secret \(name); `paddock secrets list` shows them")
        }
    }

    /// The secret a session of `team` gets under `name`: the team's own, else the org-wide one (team
    /// `default`), so a team can override an org secret without seeing it.
    func find(name: String, team: String?) async throws -> StoredSecret? {
        if let team, team != Self.defaultTeam, let own = try await store.secret(team: team, name: name) { return own }
        return try await store.secret(team: Self.defaultTeam, name: name)
    }

    /// The value and scope of a secret, for the gateway only.
    func open(name: String, team: String?) async throws -> (value: String, info: Info) {
        guard let stored = try await find(name: name, team: team) else {
            let scope = team.map { "team \($0) or the org (team \(Self.defaultTeam))" } ?? "team \(Self.defaultTeam)"
            throw PaddockError.notFound(
                "there is no secret \(name) in \(scope); set it with `paddock secrets set \(name) --hosts …`")
        }
        return (try open(stored), Self.info(stored))
    }

    /// A stored secret's value.
    func open(_ stored: StoredSecret) throws(PaddockError) -> String {
        do {
            let box = try AES.GCM.SealedBox(combined: stored.sealed)
            let plain = try AES.GCM.open(box, using: key, authenticating: Self.context(stored.team, stored.name))
            return String(decoding: plain, as: UTF8.self)
        } catch {
            throw PaddockError.internal(
                "secret \(stored.name) cannot be opened with this server's vault key (was vault.key replaced?); set it "
                    + "again")
        }
    }

    private static func info(_ s: StoredSecret) -> Info {
        Info(
            name: s.name, team: s.team, hosts: s.hosts, allowHTTP: s.allowHTTP, inBody: s.inBody,
            createdAt: s.createdAt,
            updatedAt: s.updatedAt)
    }

    /// Binds a sealed value to its team and name, so a row copied under another name does not open.
    private static func context(_ team: String, _ name: String) -> Data { Data("paddock-vault:\(team):\(name)".utf8) }

    static func validate(name: String, team: String) throws(PaddockError) {
        let valid =
            !name.isEmpty && name.count <= 128 && name.first?.isNumber == false
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
        guard valid else {
            throw .invalidArgument(
                "secret name '\(name)' is not valid; use an environment variable name like STRIPE_API_KEY")
        }
        guard !team.isEmpty, team.count <= 64,
            team.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else {
            throw .invalidArgument("team '\(team)' is not valid; use letters, digits, - and _")
        }
    }

    private static func loadOrCreateKey(_ path: String) throws(PaddockError) -> [UInt8] {
        if let data = FileManager.default.contents(atPath: path) {
            guard data.count == 32 else {
                throw .unavailable("\(path) is not a vault key (it must hold 32 bytes); restore it from a backup")
            }
            var info = stat()
            if stat(path, &info) == 0, info.st_mode & 0o077 != 0 {
                throw .permissionDenied("\(path) is readable by others; chmod 600 \(path)")
            }
            return Array(data)
        }
        let key = SymmetricKey(size: .bits256)
        let bytes = key.withUnsafeBytes { Data($0) }
        try AtomicFile.write(Array(bytes), to: path, mode: 0o600)
        return Array(bytes)
    }
}

extension SecretVault {
    /// Fails unless every secret `spec` names exists for `team` and opens with this vault's key.
    public func checkOpens(_ spec: SessionSpec, team: String? = nil) async throws {
        for name in spec.secrets ?? [] { _ = try await open(name: name, team: team) }
    }

    /// Whether a session of `team` could get a secret called `name`.
    public func has(name: String, team: String?) async -> Bool {
        (try? await find(name: name, team: team)) != nil
    }
}

extension SecretVault {
    /// How a value sealed by `seal(_:context:)` starts in its TEXT column.
    static let sealedPrefix = "sealed:v1:"

    /// A value another part of the server keeps in its own table (a webhook's secret), sealed under the vault key
    /// and bound to `context`, so a copy of the database alone reveals nothing and a sealed value moved to another
    /// row does not open there.
    func seal(_ value: String, context: String) throws(PaddockError) -> String {
        do {
            let box = try AES.GCM.seal(Data(value.utf8), using: key, authenticating: Data(context.utf8))
            return Self.sealedPrefix + (box.combined ?? Data()).base64EncodedString()
        } catch {
            throw PaddockError.internal("could not seal a value with the vault key", underlying: error)
        }
    }

    /// Opens what `seal` made for `context`.
    func unseal(_ text: String, context: String) throws(PaddockError) -> String {
        do {
            guard text.hasPrefix(Self.sealedPrefix),
                let combined = Data(base64Encoded: String(text.dropFirst(Self.sealedPrefix.count)))
            else { throw PaddockError.internal("not a sealed value") }
            let plain = try AES.GCM.open(
                try AES.GCM.SealedBox(combined: combined), using: key, authenticating: Data(context.utf8))
            return String(decoding: plain, as: UTF8.self)
        } catch {
            throw PaddockError.internal(
                "a value sealed with the vault key cannot be opened with this server's vault.key (was it replaced?)")
        }
    }
}

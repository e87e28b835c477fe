import Crypto
import Dispatch
import Foundation
import PaddockCore
import PaddockStore
import Synchronization
import _CryptoExtras

/// Turns passwords into stored credentials and checks them, with scrypt from swift-crypto's extras (BoringSSL's
/// `EVP_PBE_scrypt`): slow and memory-hard, so a stolen database costs an attacker as much memory as time per
/// guess. Each credential keeps its own cost parameters, so raising them later only makes new and re-typed
/// passwords stronger (`needsRehash`) and locks nobody out.
///
/// A derivation blocks a thread for a few hundred milliseconds and takes `128·N·r` bytes. It runs on a
/// Dispatch thread — never on Swift's cooperative pool, which has one thread per core and would stall every
/// request — and at most `concurrency` at a time, so a burst of sign-ins cannot exhaust memory.
public struct PasswordHasher: Sendable {
    /// scrypt's cost: N = 2^`logN` (CPU and memory), block size `r`, parallelism `p`.
    public struct Parameters: Sendable, Equatable, CustomStringConvertible {
        public var logN: Int
        public var r: Int
        public var p: Int

        public init(logN: Int, r: Int, p: Int) {
            self.logN = logN
            self.r = r
            self.p = p
        }

        /// OWASP's recommendation for scrypt (Password Storage Cheat Sheet): N = 2^17, r = 8, p = 1 — 128 MiB
        /// per derivation.
        public static let recommended = Parameters(logN: 17, r: 8, p: 1)

        /// The bounds a stored credential's parameters must stay within: a row edited by hand (or written by a
        /// future version with a far higher cost) must not make this server allocate gigabytes.
        static let logNRange = 10...22
        static let rRange = 1...32
        static let pRange = 1...16

        /// The PHC string form, as stored: `ln=17,r=8,p=1`.
        public var description: String { "ln=\(logN),r=\(r),p=\(p)" }

        /// Reads the PHC form back; a malformed or out-of-bounds text is an error that says what was found.
        public init(parsing text: String) throws(PaddockError) {
            var values: [String: Int] = [:]
            for part in text.split(separator: ",") {
                let pair = part.split(separator: "=", maxSplits: 1)
                guard pair.count == 2, let value = Int(pair[1]) else {
                    throw .internal("stored scrypt parameters '\(text)' are malformed; set the password again")
                }
                values[String(pair[0])] = value
            }
            guard let logN = values["ln"], let r = values["r"], let p = values["p"],
                Self.logNRange.contains(logN), Self.rRange.contains(r), Self.pRange.contains(p)
            else {
                throw .internal(
                    "stored scrypt parameters '\(text)' are outside what this server accepts "
                        + "(ln \(Self.logNRange), r \(Self.rRange), p \(Self.pRange)); set the password again")
            }
            self.init(logN: logN, r: r, p: p)
        }

        /// Whether a credential made with `self` is weaker than one made with `target`.
        func isWeaker(than target: Parameters) -> Bool {
            logN < target.logN || r < target.r || p < target.p
        }
    }

    public static let kdfName = "scrypt"
    static let saltBytes = 16
    static let hashBytes = 32
    /// The longest password accepted, in bytes: long enough for any passphrase, short enough that hashing one
    /// is not a way to burn the server's time.
    public static let maxPasswordBytes = 1024
    /// The shortest password accepted, in characters.
    public static let minPasswordCharacters = 12

    /// What new credentials are made with.
    public let parameters: Parameters
    private let gate: ConcurrencyGate

    public init(parameters: Parameters = .recommended, concurrency: Int = 2) {
        self.parameters = parameters
        gate = ConcurrencyGate(limit: max(1, concurrency))
    }

    /// Refuses passwords too short to resist guessing or too long to hash, saying what is needed.
    public static func checkStrength(_ password: String) throws(PaddockError) {
        guard password.count >= minPasswordCharacters else {
            throw .invalidArgument(
                "the password is too short; use at least \(minPasswordCharacters) characters (a few random words "
                    + "make a good one)")
        }
        guard password.utf8.count <= maxPasswordBytes else {
            throw .invalidArgument("the password is too long; use at most \(maxPasswordBytes) bytes")
        }
    }

    /// A new credential for `user`, with a fresh random salt and the current parameters.
    public func credential(user: String, password: String, now: Date = Date()) async throws -> PasswordCredential {
        var rng = SystemRandomNumberGenerator()
        let salt = (0..<Self.saltBytes).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let hash = try await derive(password, salt: salt, parameters)
        return PasswordCredential(
            user: user, kdf: Self.kdfName, parameters: parameters.description, salt: salt, hash: hash, updatedAt: now)
    }

    /// Whether `password` is the one `credential` was made from. The comparison takes the same time wherever
    /// the bytes differ.
    public func verify(_ password: String, against credential: PasswordCredential) async throws -> Bool {
        guard credential.kdf == Self.kdfName else {
            throw PaddockError.internal(
                "the stored password of '\(credential.user)' uses '\(credential.kdf)', which this server does not "
                    + "know; set the password again")
        }
        let stored = try Parameters(parsing: credential.parameters)
        let derived = try await derive(password, salt: credential.salt, stored)
        // SymmetricKey's == is swift-crypto's constant-time comparison.
        return SymmetricKey(data: derived) == SymmetricKey(data: credential.hash)
    }

    /// Spends the same time as checking a password, for sign-ins of unknown users or users without a
    /// password, so the answer's timing does not tell which names exist.
    public func burn(_ password: String) async throws {
        _ = try await derive(password, salt: [UInt8](repeating: 0, count: Self.saltBytes), parameters)
    }

    /// Whether a credential was made with weaker parameters than new ones are (re-hash it at the next sign-in).
    public func needsRehash(_ credential: PasswordCredential) -> Bool {
        guard credential.kdf == Self.kdfName else { return true }
        do {
            return try Parameters(parsing: credential.parameters).isWeaker(than: parameters)
        } catch {
            // Unreadable parameters fail `verify` first; a credential that got this far is replaced all the same.
            return true
        }
    }

    private func derive(_ password: String, salt: [UInt8], _ parameters: Parameters) async throws -> [UInt8] {
        let input = Array(password.utf8)
        guard input.count <= Self.maxPasswordBytes else {
            throw PaddockError.invalidArgument("the password is too long; use at most \(Self.maxPasswordBytes) bytes")
        }
        await gate.acquire()
        defer { gate.release() }
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(
                    with: Result {
                        let key = try KDF.Scrypt.deriveKey(
                            from: input, salt: salt, outputByteCount: Self.hashBytes, rounds: 1 << parameters.logN,
                            blockSize: parameters.r, parallelism: parameters.p)
                        return key.withUnsafeBytes { Array($0) }
                    })
            }
        }
    }
}

/// At most `limit` holders at once; the others wait in arrival order. Not cancellable: a wait lasts a few
/// derivations at most, and a holder always releases.
final class ConcurrencyGate: Sendable {
    private struct State {
        var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    init(limit: Int) { state = Mutex(State(available: limit)) }

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { s -> Bool in
                guard s.available > 0 else {
                    s.waiters.append(continuation)
                    return false
                }
                s.available -= 1
                return true
            }
            if granted { continuation.resume() }
        }
    }

    /// Hands the slot to the longest waiter, or frees it.
    func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard !s.waiters.isEmpty else {
                s.available += 1
                return nil
            }
            return s.waiters.removeFirst()
        }
        next?.resume()
    }
}

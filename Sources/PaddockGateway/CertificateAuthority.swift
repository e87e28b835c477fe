import Crypto
import Foundation
import Glibc
import NIOConcurrencyHelpers
import NIOSSL
import PaddockCore
import SwiftASN1
import X509

/// A small certificate authority: the per-session CA the gateway intercepts TLS with, and the loopback CAs
/// tests and benchmarks give their HTTPS upstreams.
///
/// The key never leaves the process. Leaf certificates are minted on demand, one per host, and cached: a
/// session talks to a handful of hosts, and signing costs a fraction of a millisecond.
public final class CertificateAuthority: Sendable {
    public let certificate: Certificate
    private let key: Certificate.PrivateKey
    private let leaves = NIOLockedValueBox<[String: Leaf]>([:])

    /// A certificate and key ready for a TLS server.
    public struct Leaf: Sendable {
        public let certificate: NIOSSLCertificate
        public let key: NIOSSLPrivateKey
        /// The chain a server presents: the leaf, then the CA.
        public let chain: [NIOSSLCertificate]
    }

    /// A new CA named `name`, valid from an hour ago (clock skew) for `days`.
    public init(name: String, days: Int = 30) throws(PaddockError) {
        let key = P256.Signing.PrivateKey()
        do {
            let subject = try DistinguishedName {
                OrganizationName("Paddock")
                CommonName(name)
            }
            let now = Date()
            let publicKey = Certificate.PublicKey(key.publicKey)
            certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
                notValidBefore: now - 3600, notValidAfter: now + Double(days) * 86400, issuer: subject,
                subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
                    SubjectKeyIdentifier(hash: publicKey)
                }, issuerPrivateKey: Certificate.PrivateKey(key))
        } catch {
            throw .internal("could not create a certificate authority", underlying: error)
        }
        self.key = Certificate.PrivateKey(key)
    }

    /// The CA certificate in PEM, to install as a trust root.
    public var pem: String {
        get throws(PaddockError) {
            do { return try certificate.serializeAsPEM().pemString } catch {
                throw .internal("could not encode the CA certificate", underlying: error)
            }
        }
    }

    /// The CA as a NIOSSL trust root.
    public func trustRoot() throws(PaddockError) -> NIOSSLCertificate {
        do {
            var serializer = DER.Serializer()
            try serializer.serialize(certificate)
            return try NIOSSLCertificate(bytes: serializer.serializedBytes, format: .der)
        } catch {
            throw .internal("could not encode the CA certificate", underlying: error)
        }
    }

    /// A server certificate for `host` (a name or an IP literal), signed by this CA; cached per host.
    public func leaf(for host: String) throws(PaddockError) -> Leaf { try leaf(forNames: [host]) }

    /// A server certificate valid for every one of `names` (names or IP literals); cached.
    public func leaf(forNames names: [String]) throws(PaddockError) -> Leaf {
        let names = names.map { $0.lowercased() }
        guard let host = names.first else { throw .invalidArgument("a certificate needs at least one name") }
        let key = names.joined(separator: ",")
        if let cached = leaves.withLockedValue({ $0[key] }) { return cached }
        let leafKey = P256.Signing.PrivateKey()
        do {
            let subject = try DistinguishedName { CommonName(String(host.prefix(64))) }
            let alternativeNames = names.map { name -> GeneralName in
                if let address = IPAddress(name) {
                    return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(address.networkBytes)))
                }
                return .dnsName(name)
            }
            let now = Date()
            let publicKey = Certificate.PublicKey(leafKey.publicKey)
            let issued = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
                notValidBefore: now - 3600, notValidAfter: min(now + 7 * 86400, certificate.notValidAfter),
                issuer: certificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([.serverAuth])
                    SubjectAlternativeNames(alternativeNames)
                    SubjectKeyIdentifier(hash: publicKey)
                    AuthorityKeyIdentifier(
                        keyIdentifier: try certificate.extensions.subjectKeyIdentifier?.keyIdentifier)
                }, issuerPrivateKey: self.key)
            var serializer = DER.Serializer()
            try serializer.serialize(issued)
            let leafCertificate = try NIOSSLCertificate(bytes: serializer.serializedBytes, format: .der)
            let nioKey = try NIOSSLPrivateKey(bytes: Array(leafKey.derRepresentation), format: .der)
            let leaf = Leaf(certificate: leafCertificate, key: nioKey, chain: [leafCertificate, try trustRoot()])
            leaves.withLockedValue { $0[key] = leaf }
            return leaf
        } catch let error as PaddockError {
            throw error
        } catch {
            throw .internal("could not issue a certificate for \(host)", underlying: error)
        }
    }
}

extension IPAddress {
    /// The address in network byte order: 4 bytes for IPv4, 16 for IPv6.
    var networkBytes: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 16)
        let family = self.family == .v4 ? AF_INET : AF_INET6
        let ok = bytes.withUnsafeMutableBytes { inet_pton(family, description, $0.baseAddress) == 1 }
        guard ok else { return [] }
        return self.family == .v4 ? Array(bytes.prefix(4)) : bytes
    }
}

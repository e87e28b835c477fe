import NIOSSL
import PaddockGateway

/// TLS for servers the tests start: a leaf for localhost from a throwaway CA (clients in tests skip
/// verification or trust `authority`).
public enum TLSFixture {
    public static func server(names: [String] = ["localhost", "127.0.0.1"]) throws -> TLSConfiguration {
        let leaf = try CertificateAuthority(name: "Paddock test CA").leaf(forNames: names)
        return TLSConfiguration.makeServerConfiguration(
            certificateChain: leaf.chain.map { .certificate($0) }, privateKey: .privateKey(leaf.key))
    }
}

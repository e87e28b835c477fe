/// E2B's SDKs refuse, before sending anything, an API key that is not `e2b_` + hex. Every Paddock token
/// (`pdk_` + hex) can therefore be written the E2B way on the E2B-compatible API: the same secret with E2B's
/// prefix, so no second kind of key has to be minted, stored or revoked.
public enum E2BKeySpelling {
    static let paddockPrefix = "pdk_"
    static let e2bPrefix = "e2b_"

    /// The E2B spelling of a Paddock token (`pdk_<hex>` → `e2b_<hex>`); nil for anything else.
    public static func e2b(_ token: String) -> String? {
        guard token.hasPrefix(paddockPrefix) else { return nil }
        return e2bPrefix + token.dropFirst(paddockPrefix.count)
    }

    /// The Paddock token an E2B-spelled key stands for (`e2b_<hex>` → `pdk_<hex>`); other keys unchanged.
    public static func paddock(_ key: String) -> String {
        guard key.hasPrefix(e2bPrefix) else { return key }
        return paddockPrefix + key.dropFirst(e2bPrefix.count)
    }
}

/// An address block in CIDR notation (`10.0.0.0/8`, `fd00::/8`); a bare address is a block of one.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    /// Parses `10.0.0.0/8`, `2001:db8::/32` or a single address. The error says what to write instead; an address
    /// with bits set past the prefix is refused rather than silently widened or narrowed.
    public init(parsing text: String) throws(PaddockError) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(String(parts[0])) else {
            throw .invalidArgument(
                "'\(text)' is not an IP address or CIDR block; write one like 10.0.0.0/8, 192.0.2.7 or fd00::/8")
        }
        let maxLength = address.family == .v4 ? 32 : 128
        var prefixLength = maxLength
        if parts.count == 2 {
            guard parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let length = Int(parts[1]),
                (0...maxLength).contains(length)
            else {
                throw .invalidArgument(
                    "'\(text)' has prefix length '\(parts[1])'; use a number from 0 to \(maxLength)")
            }
            prefixLength = length
        }
        let network = IPNetwork(uncheckedAddress: address, prefixLength: prefixLength)
        guard network.masked(address) == address else {
            let suggestion = IPNetwork(uncheckedAddress: network.masked(address), prefixLength: prefixLength)
            throw .invalidArgument(
                "'\(text)' has address bits set past /\(prefixLength); write \(suggestion) for the block, or "
                    + "\(address)/\(maxLength) for the single address")
        }
        self = network
    }

    private init(uncheckedAddress: IPAddress, prefixLength: Int) {
        address = uncheckedAddress
        self.prefixLength = prefixLength
    }

    /// Whether the address is in the block. An IPv4-mapped IPv6 address is compared as IPv4.
    public func contains(_ candidate: IPAddress) -> Bool {
        let candidate = address.family == .v4 ? candidate.unmapped : candidate
        return candidate.family == address.family && masked(candidate) == address
    }

    private func masked(_ ip: IPAddress) -> IPAddress {
        switch ip.family {
        case .v4:
            let mask: UInt64 = prefixLength == 0 ? 0 : (0xFFFF_FFFF << UInt64(32 - prefixLength)) & 0xFFFF_FFFF
            return IPAddress(family: .v4, high: 0, low: ip.low & mask)
        case .v6:
            // Swift's `<<` yields 0 for a shift of 64 or more, which is exactly the empty mask.
            let highMask: UInt64 = prefixLength >= 64 ? .max : ~(UInt64.max >> UInt64(prefixLength))
            let lowMask: UInt64 = prefixLength <= 64 ? 0 : ~(UInt64.max >> UInt64(prefixLength - 64))
            return IPAddress(family: .v6, high: ip.high & highMask, low: ip.low & lowMask)
        }
    }

    /// `10.0.0.0/8`; a single address prints without its prefix.
    public var description: String {
        prefixLength == (address.family == .v4 ? 32 : 128) ? "\(address)" : "\(address)/\(prefixLength)"
    }
}

import Glibc
import PaddockCore

/// Addresses the gateway never dials unless a policy allows that address explicitly: loopback, link-local,
/// cloud metadata, private and shared ranges, and this host's own addresses. A name that resolves into one
/// of them (DNS rebinding, `localtest.me`) is refused like the literal would be.
public struct AddressGuard: Sendable {
    /// Why an address is special, for the refusal message.
    static let ranges: [(network: IPNetwork, kind: String)] = [
        ("169.254.169.254", "a cloud metadata address"), ("fd00:ec2::254", "a cloud metadata address"),
        ("100.100.100.200", "a cloud metadata address"),
        ("127.0.0.0/8", "loopback"), ("::1", "loopback"), ("0.0.0.0/8", "the unspecified network"),
        ("::", "the unspecified address"), ("169.254.0.0/16", "link-local"), ("fe80::/10", "link-local"),
        ("10.0.0.0/8", "a private range"), ("172.16.0.0/12", "a private range"),
        ("192.168.0.0/16", "a private range"), ("100.64.0.0/10", "shared address space (CGNAT)"),
        ("fc00::/7", "a private range (ULA)"), ("224.0.0.0/4", "multicast"), ("ff00::/8", "multicast"),
        ("240.0.0.0/4", "a reserved range"), ("192.0.0.0/24", "IETF protocol assignments"),
        ("198.18.0.0/15", "a benchmarking range"), ("64:ff9b::/96", "NAT64"),
    ].map { text, kind in
        do { return (try IPNetwork(parsing: text), kind) } catch {
            // A constant of this file: a typo must not quietly leave a range open.
            preconditionFailure("the restricted range \(text) does not parse: \(error)")
        }
    }

    /// This host's own addresses, read once when the gateway starts.
    let hostAddresses: Set<IPAddress>

    public init() {
        hostAddresses = Self.interfaceAddresses()
    }

    /// Why `address` is refused by default, or nil when it is an ordinary public address.
    public func restriction(_ address: IPAddress) -> String? {
        let address = address.unmapped
        if let hit = Self.ranges.first(where: { $0.network.contains(address) }) { return hit.kind }
        if hostAddresses.contains(address) { return "an address of the gateway's own host" }
        return nil
    }

    static func interfaceAddresses() -> Set<IPAddress> {
        var head: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&head) == 0 else { return [] }
        defer { freeifaddrs(head) }
        var out: Set<IPAddress> = []
        var cursor = head
        while let entry = cursor {
            if let sa = entry.pointee.ifa_addr, let address = numericAddress(sa) { out.insert(address) }
            cursor = entry.pointee.ifa_next
        }
        return out
    }

    static func numericAddress(_ sa: UnsafePointer<sockaddr>) -> IPAddress? {
        let family = Int32(sa.pointee.sa_family)
        guard family == AF_INET || family == AF_INET6 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let length = socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
        guard getnameinfo(sa, length, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 else {
            return nil
        }
        var text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // A scope id (`fe80::1%eth0`) is not part of the address.
        if let percent = text.firstIndex(of: "%") { text = String(text[..<percent]) }
        return IPAddress(text)
    }
}

/// Host-side name resolution (the sandbox has no resolver of its own).
enum Resolver {
    /// Every address `host` resolves to, IPv4 first. Runs getaddrinfo, which blocks: call it off the event loop.
    static func resolve(_ host: String) throws(PaddockError) -> [IPAddress] {
        if let literal = IPAddress(host) { return [literal] }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &result)
        guard status == 0 else {
            throw .notFound("'\(host)' does not resolve (\(String(cString: gai_strerror(status))))")
        }
        defer { freeaddrinfo(result) }
        var v4: [IPAddress] = []
        var v6: [IPAddress] = []
        var cursor = result
        while let entry = cursor {
            if let sa = entry.pointee.ai_addr, let address = AddressGuard.numericAddress(sa) {
                if address.family == .v4 {
                    if !v4.contains(address) { v4.append(address) }
                } else if !v6.contains(address) {
                    v6.append(address)
                }
            }
            cursor = entry.pointee.ai_next
        }
        return v4 + v6
    }
}

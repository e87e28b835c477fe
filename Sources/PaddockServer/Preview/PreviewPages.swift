import Foundation

/// The few pages the preview host answers itself, instead of a bare 502: small, self-contained HTML, every
/// interpolated value escaped.
enum PreviewPages {
    static func page(status: Int, reason: String, title: String, body: String, refresh: Int? = nil) -> [UInt8] {
        let meta = refresh.map { "<meta http-equiv=\"refresh\" content=\"\($0)\">" } ?? ""
        let html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8">\(meta)<title>\(escape(title))</title>
            <style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}
            h1{font-size:1.4rem}code{background:#f3f3f3;padding:0 .2rem}</style></head>
            <body><h1>\(escape(title))</h1>\(body)<p><small>Paddock preview</small></p></body></html>
            """
        let bytes = Array(html.utf8)
        let head =
            "HTTP/1.1 \(status) \(reason)\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: \(bytes.count)\r\n"
            + "Cache-Control: no-store\r\nContent-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n"
            + "X-Content-Type-Options: nosniff\r\n\r\n"
        return Array(head.utf8) + bytes
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static func paragraph(_ text: String) -> String { "<p>\(escape(text))</p>" }

    static func ended(session: String, reason: String? = nil) -> [UInt8] {
        page(
            status: 410, reason: "Gone", title: "This preview has ended",
            body: paragraph(
                "The session \(session) behind this preview was destroyed. Ask whoever sent the link to start it again."
            ) + (reason.map { paragraph("It could not be restarted: \($0)") } ?? ""))
    }

    static func restarting(session: String) -> [UInt8] {
        page(
            status: 503, reason: "Service Unavailable", title: "Starting…",
            body: paragraph(
                "The session \(session) behind this preview ended; it is being started again from its last snapshot. "
                    + "This page reloads by itself."), refresh: 2)
    }

    static func notListening(port: UInt16, listening: [UInt16]) -> [UInt8] {
        let others =
            listening.isEmpty
            ? paragraph("Nothing listens on any port in the session right now.")
            : paragraph("These ports are listening: \(listening.map(String.init).joined(separator: ", ")).")
        return page(
            status: 502, reason: "Bad Gateway", title: "The app is not running on port \(port)",
            body: paragraph("Start it inside the session (listening on 127.0.0.1:\(port) or 0.0.0.0:\(port)).")
                + others, refresh: 5)
    }

    static func waking() -> [UInt8] {
        page(
            status: 503, reason: "Service Unavailable", title: "Starting…",
            body: paragraph("The session was paused; it is being resumed. This page reloads by itself."), refresh: 1)
    }

    static func message(_ status: Int, _ reason: String, _ title: String, _ text: String) -> [UInt8] {
        page(status: status, reason: reason, title: title, body: paragraph(text))
    }

    static func redirect(_ location: String, setCookie: String? = nil) -> [UInt8] {
        var head = "HTTP/1.1 303 See Other\r\nLocation: \(location)\r\nContent-Length: 0\r\nCache-Control: no-store\r\n"
        if let setCookie { head += "Set-Cookie: \(setCookie)\r\n" }
        head += "Referrer-Policy: no-referrer\r\n\r\n"
        return Array(head.utf8)
    }
}

import Hummingbird

/// Headers every page is served with. The Content-Security-Policy allows only the server's own scripts, styles
/// and connections: an injected `<script>` that slipped past escaping would still not run, and no page can be
/// framed by another site.
enum SecurityHeaders {
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    static var html: HTTPFields {
        var fields = common
        fields[.contentType] = "text/html; charset=utf-8"
        return fields
    }

    static var common: HTTPFields {
        var fields: HTTPFields = [:]
        fields[.contentSecurityPolicy] = contentSecurityPolicy
        fields[.cacheControl] = "no-store"
        if let name = HTTPFields.Element.Name("X-Content-Type-Options") { fields[name] = "nosniff" }
        if let name = HTTPFields.Element.Name("Referrer-Policy") { fields[name] = "same-origin" }
        return fields
    }
}

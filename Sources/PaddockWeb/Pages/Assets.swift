import Foundation
import Hummingbird

/// The UI's own stylesheet and scripts, shipped as the module's resources: nothing is loaded from elsewhere.
enum Assets {
    static let types = ["css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8"]

    static func response(for name: String) throws -> Response {
        // Only plain file names of the kinds served: no paths, no dot files.
        let ext = (name as NSString).pathExtension
        guard let type = types[ext], name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }),
            !name.hasPrefix("."),
            let data = FileManager.default.contents(
                atPath: Bundle.module.bundleURL.appendingPathComponent("Resources/Assets/\(name)").path)
        else { throw HTTPError(.notFound) }
        var headers = SecurityHeaders.common
        headers[.contentType] = type
        headers[.cacheControl] = "max-age=300"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

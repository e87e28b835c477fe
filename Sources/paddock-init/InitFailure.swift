import Glibc
import PaddockInitProtocol

/// A request that failed: becomes a `failure` frame. Messages name the path or command and say why.
struct InitFailure: Error {
    let code: WireErrorCode
    let errno: Int32
    let message: String

    init(_ code: WireErrorCode, errno: Int32 = 0, _ message: String) {
        self.code = code
        self.errno = errno
        self.message = message
    }

    /// A failed syscall: the code follows the errno, the message is "`what`: strerror".
    init(errno code: Int32, _ what: String) {
        self.init(InitFailure.wireCode(for: code), errno: code, "\(what): \(errnoDescription(code))")
    }

    var wireMessage: WireMessage { .failure(code: code.rawValue, errno: errno, message: message) }

    /// The host-facing error code for an errno.
    static func wireCode(for code: Int32) -> WireErrorCode {
        switch code {
        case ENOENT: .notFound
        case EACCES, EPERM, EROFS: .permissionDenied
        case EEXIST: .alreadyExists
        case ENOSPC, EDQUOT, EMFILE, ENFILE, ENOMEM, EAGAIN, EFBIG: .resourceExhausted
        case ENOTDIR, EISDIR, EINVAL, ENAMETOOLONG, ELOOP, ENOTEMPTY, EXDEV: .invalidArgument
        default: .internal
        }
    }
}

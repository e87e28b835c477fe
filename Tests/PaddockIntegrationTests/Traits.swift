import PaddockServices
import PaddockTestSupport
import Testing

extension Trait where Self == ConditionTrait {
    /// Real sandboxes: root, user namespaces, overlayfs and an OCI runtime. CI has them (it runs as root).
    static var needsSandboxes: Self {
        .enabled("needs root, user namespaces, overlayfs and a usable OCI runtime (runc); run as root on Linux") {
            await TestHost.canRunSandboxes
        }
    }
}

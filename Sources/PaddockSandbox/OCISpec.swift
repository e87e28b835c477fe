// OCI runtime-spec `config.json`, the subset Paddock writes. Plain Codable structs; fields Paddock does not
// set are left out so the runtime applies its own defaults. Decoding is lenient (everything optional or
// defaulted) because runtimes and tools add fields over time.

/// The whole bundle configuration.
public struct OCISpec: Codable, Sendable, Equatable, CustomStringConvertible {
    public var ociVersion: String = "1.0.2"
    public var process: OCIProcess
    public var root: OCIRoot
    public var hostname: String?
    public var mounts: [OCIMount] = []
    public var linux: OCILinux

    public init(process: OCIProcess, root: OCIRoot, hostname: String?, mounts: [OCIMount], linux: OCILinux) {
        self.process = process
        self.root = root
        self.hostname = hostname
        self.mounts = mounts
        self.linux = linux
    }

    /// Prints the structure with environment values redacted, so logging a spec never leaks a secret.
    public var description: String {
        "OCISpec(args: \(process.args), env: \(process.redactedEnv), root: \(root.path), "
            + "mounts: \(mounts.map(\.destination)), cgroupsPath: \(linux.cgroupsPath ?? "-"))"
    }
}

public struct OCIProcess: Codable, Sendable, Equatable {
    public struct User: Codable, Sendable, Equatable {
        public var uid: UInt32
        public var gid: UInt32
        public var additionalGids: [UInt32]?
        public init(uid: UInt32, gid: UInt32, additionalGids: [UInt32]? = nil) {
            self.uid = uid
            self.gid = gid
            self.additionalGids = additionalGids
        }
    }
    public struct Capabilities: Codable, Sendable, Equatable {
        public var bounding: [String]
        public var effective: [String]
        public var permitted: [String]
        public var inheritable: [String]
        public var ambient: [String]
        public init(_ caps: [String]) {
            bounding = caps
            effective = caps
            permitted = caps
            inheritable = []
            ambient = []
        }
    }
    public struct RLimit: Codable, Sendable, Equatable {
        public var type: String
        public var hard: UInt64
        public var soft: UInt64
        public init(type: String, hard: UInt64, soft: UInt64) {
            self.type = type
            self.hard = hard
            self.soft = soft
        }
    }

    public var terminal: Bool = false
    public var user: User
    public var args: [String]
    public var env: [String]
    public var cwd: String
    public var capabilities: Capabilities?
    public var rlimits: [RLimit]?
    public var noNewPrivileges: Bool = true
    public var oomScoreAdj: Int?

    public init(
        user: User, args: [String], env: [String], cwd: String, capabilities: Capabilities?, rlimits: [RLimit]?,
        oomScoreAdj: Int?
    ) {
        self.user = user
        self.args = args
        self.env = env
        self.cwd = cwd
        self.capabilities = capabilities
        self.rlimits = rlimits
        self.oomScoreAdj = oomScoreAdj
    }

    /// `KEY=<redacted>` for every entry.
    public var redactedEnv: [String] {
        env.map { ($0.split(separator: "=", maxSplits: 1).first.map(String.init) ?? "") + "=<redacted>" }
    }
}

public struct OCIRoot: Codable, Sendable, Equatable {
    public var path: String
    public var readonly: Bool?
    public init(path: String, readonly: Bool? = nil) {
        self.path = path
        self.readonly = readonly
    }
}

public struct OCIMount: Codable, Sendable, Equatable {
    public var destination: String
    public var type: String?
    public var source: String?
    public var options: [String]?
    public init(destination: String, type: String?, source: String?, options: [String]?) {
        self.destination = destination
        self.type = type
        self.source = source
        self.options = options
    }
}

public struct OCILinux: Codable, Sendable, Equatable {
    public struct IDMapping: Codable, Sendable, Equatable {
        public var containerID: UInt32
        public var hostID: UInt32
        public var size: UInt32
        public init(containerID: UInt32, hostID: UInt32, size: UInt32) {
            self.containerID = containerID
            self.hostID = hostID
            self.size = size
        }
    }
    public struct Namespace: Codable, Sendable, Equatable {
        public var type: String
        public var path: String?
        public init(type: String, path: String? = nil) {
            self.type = type
            self.path = path
        }
    }
    public struct Resources: Codable, Sendable, Equatable {
        public struct Memory: Codable, Sendable, Equatable {
            public var limit: Int64?
            public var swap: Int64?
            public init(limit: Int64?, swap: Int64? = nil) {
                self.limit = limit
                self.swap = swap
            }
        }
        public struct CPU: Codable, Sendable, Equatable {
            public var shares: UInt64?
            public var quota: Int64?
            public var period: UInt64?
            public init(shares: UInt64?, quota: Int64?, period: UInt64?) {
                self.shares = shares
                self.quota = quota
                self.period = period
            }
        }
        public struct Pids: Codable, Sendable, Equatable {
            public var limit: Int64
            public init(limit: Int64) { self.limit = limit }
        }
        public var memory: Memory?
        public var cpu: CPU?
        public var pids: Pids?
        public init(memory: Memory?, cpu: CPU?, pids: Pids?) {
            self.memory = memory
            self.cpu = cpu
            self.pids = pids
        }
    }
    public struct Seccomp: Codable, Sendable, Equatable {
        public struct Arg: Codable, Sendable, Equatable {
            public var index: UInt
            public var value: UInt64
            public var valueTwo: UInt64?
            public var op: String
            public init(index: UInt, value: UInt64, valueTwo: UInt64? = nil, op: String) {
                self.index = index
                self.value = value
                self.valueTwo = valueTwo
                self.op = op
            }
        }
        public struct Syscall: Codable, Sendable, Equatable {
            public var names: [String]
            public var action: String
            public var errnoRet: UInt32?
            public var args: [Arg]?
            public init(names: [String], action: String, errnoRet: UInt32? = nil, args: [Arg]? = nil) {
                self.names = names
                self.action = action
                self.errnoRet = errnoRet
                self.args = args
            }
        }
        public var defaultAction: String
        public var defaultErrnoRet: UInt32?
        public var architectures: [String]?
        public var syscalls: [Syscall]
        /// Unix socket the runtime sends the seccomp notify fd to (with the container state) when a rule uses
        /// `SCMP_ACT_NOTIFY`.
        public var listenerPath: String?
        /// Opaque text the runtime passes to the listener in the container state (`metadata`).
        public var listenerMetadata: String?
        public init(defaultAction: String, defaultErrnoRet: UInt32?, architectures: [String]?, syscalls: [Syscall]) {
            self.defaultAction = defaultAction
            self.defaultErrnoRet = defaultErrnoRet
            self.architectures = architectures
            self.syscalls = syscalls
        }
    }

    public var uidMappings: [IDMapping]?
    public var gidMappings: [IDMapping]?
    /// `rslave`: mounts the host makes under the sandbox's root later (a fork's shared layer) reach it; its
    /// own mounts never reach the host.
    public var rootfsPropagation: String?
    public var namespaces: [Namespace]
    public var resources: Resources?
    public var cgroupsPath: String?
    public var seccomp: Seccomp?
    public var maskedPaths: [String]?
    public var readonlyPaths: [String]?

    public init(
        uidMappings: [IDMapping]?, gidMappings: [IDMapping]?, namespaces: [Namespace], resources: Resources?,
        cgroupsPath: String?, seccomp: Seccomp?, maskedPaths: [String]?, readonlyPaths: [String]?
    ) {
        self.uidMappings = uidMappings
        self.gidMappings = gidMappings
        self.namespaces = namespaces
        self.resources = resources
        self.cgroupsPath = cgroupsPath
        self.seccomp = seccomp
        self.maskedPaths = maskedPaths
        self.readonlyPaths = readonlyPaths
    }
}

#if os(Linux)
    import CPaddockShim
    import Glibc
    import Logging
    import PaddockCore

    /// Where a sandbox's writable layer (its overlay upper, `/workspace`, `/tmp`, everything it writes) lives, and
    /// how the `disk` limit is enforced on it.
    ///
    /// On disk by default: each sandbox gets a sparse ext4 image (`disk.img` in its session directory) on a loop
    /// device, mounted at `scratch/`. The kernel enforces the size (a disk filler gets ENOSPC), and files are
    /// ordinary page cache that the kernel can write back and reclaim, so the memory and disk limits are
    /// independent. The earlier tmpfs charged every file to the sandbox's memory cgroup: with the default limits a
    /// 1.5 GB `dd` became an OOM kill of everything in the sandbox, init included.
    ///
    /// Images are copied (sparsely, about 1 MB of metadata) from a formatted one kept per size in `<data>/disks`,
    /// so a start costs a copy and a mount, not an mkfs. The filesystem is a little larger than the limit (ext4's
    /// metadata), and a reserved file at its root, outside the overlay, holds back the difference: the sandbox can
    /// write exactly `limit` bytes. Changing the limit of a running sandbox (a warm claim) resizes that reservation,
    /// and grows the image online when the new limit is larger.
    ///
    /// Hosts without loop devices or mkfs.ext4 fall back to the tmpfs, and `paddock doctor` says so.
    struct ScratchDisk: Sendable {
        enum Backing: String, Sendable, Codable {
            /// A per-sandbox ext4 image on a loop device.
            case loopExt4 = "ext4-image"
            /// A size-capped tmpfs: files count against the sandbox's memory limit.
            case tmpfs
        }

        let backing: Backing
        /// Formatted images by size (`ext4-<bytes>.img`), copied for each sandbox.
        let imageCache: String
        let mkfs: String?
        /// Why the host fell back to tmpfs, when it did.
        let fallbackReason: String?
        /// Whether a mounted image can be grown (EXT4_IOC_RESIZE_FS needs CAP_SYS_RESOURCE, which some container
        /// platforms withhold from root).
        var growsOnline = false

        static let reserveName = ".paddock-reserve"
        static let imageName = "disk.img"
        static let blockSize: UInt64 = 4096

        /// Tries the whole path once (format, attach, mount, unmount) in `directory`, so the choice is what this
        /// host really does rather than what it claims to support.
        static func detect(cacheDirectory: String) async -> ScratchDisk {
            func fallback(_ why: String) -> ScratchDisk {
                ScratchDisk(backing: .tmpfs, imageCache: cacheDirectory, mkfs: nil, fallbackReason: why)
            }
            guard geteuid() == 0 else { return fallback("not root") }
            guard access("/dev/loop-control", R_OK | W_OK) == 0 else {
                return fallback("no /dev/loop-control (modprobe loop)")
            }
            guard let mkfs = HostCommand.find("mkfs.ext4") else {
                return fallback("mkfs.ext4 is missing (apt-get install e2fsprogs)")
            }
            var disk = ScratchDisk(backing: .loopExt4, imageCache: cacheDirectory, mkfs: mkfs, fallbackReason: nil)
            let trial = "\(cacheDirectory)/probe-\(getpid())"
            defer { Syscalls.removeTree(trial) }
            do {
                try Syscalls.makeDirectory(cacheDirectory, mode: 0o700)
                try Syscalls.makeDirectory(trial, mode: 0o700)
                try Syscalls.makeDirectory("\(trial)/scratch", mode: 0o700)
                try await disk.mount(
                    at: "\(trial)/scratch", image: "\(trial)/\(imageName)", limit: .mebibytes(4), capacity: nil,
                    maxBytes: nil)
                // A capability probe: EPERM here is the answer (no CAP_SYS_RESOURCE), not a failure.
                do {
                    try disk.grow(
                        image: "\(trial)/\(imageName)", mountedAt: "\(trial)/scratch", to: imageBytes(for: 8 << 20))
                    disk.growsOnline = true
                } catch {
                    disk.growsOnline = false
                }
                try Syscalls.unmount("\(trial)/scratch")
                return disk
            } catch {
                var why = "a trial ext4 image could not be mounted: \(error.message)"
                // Cleanup of the trial; if even that fails, the reason says so (doctor and the log show it).
                do { try Syscalls.unmount("\(trial)/scratch") } catch let cleanup {
                    why += "; unmounting the trial failed too: \(cleanup.message)"
                }
                return fallback(why)
            }
        }

        /// Whether a mounted scratch made with room for `capacity` can take `limit`.
        func canApply(_ limit: ByteSize, capacity: ByteSize) -> Bool {
            backing == .tmpfs || growsOnline || limit <= capacity
        }

        /// What `paddock doctor` and the logs say about it.
        var summary: String {
            switch backing {
            case .loopExt4:
                return "on disk: an ext4 image per sandbox on a loop device (size enforced by the kernel; page cache "
                    + "is reclaimable, so memory and disk limits are independent; "
                    + (growsOnline
                        ? "disks grow online)"
                        : "disks cannot grow online here (no CAP_SYS_RESOURCE), so warm "
                            + "sandboxes are made with room for up to 8 GiB)")
            case .tmpfs:
                return "tmpfs (\(fallbackReason ?? "fallback")): files count against the memory limit, so filling the "
                    + "disk can end in an OOM kill"
            }
        }

        // MARK: Mount and resize

        /// Mounts a fresh scratch filesystem of `limit` bytes at `target` (an existing, empty directory). With
        /// `maxBytes`, a limit whose image would not fit the host's filesystem is refused before anything is made.
        func mount(
            at target: String, image: String, limit: ByteSize, capacity: ByteSize?, maxBytes: UInt64?
        ) async throws(PaddockError) {
            switch backing {
            case .tmpfs:
                try Syscalls.mount(
                    source: "paddock", target: target, type: "tmpfs", flags: UInt(MS_NOSUID | MS_NODEV),
                    data: "size=\(limit.bytes),mode=0700,nr_inodes=\(Self.inodes(for: limit.bytes))")
            case .loopExt4:
                let size = Self.imageBytes(for: max(limit, capacity ?? limit).bytes)
                if let maxBytes, size > maxBytes {
                    throw .invalidArgument(
                        "a disk of \(limit) does not fit this host's data directory (\(ByteSize(bytes: maxBytes)) "
                            + "in all); ask for less")
                }
                let formatted = try await formattedImage(bytes: size)
                try Self.copySparse(from: formatted, to: image)
                try attachAndMount(image: image, at: target)
                try Syscalls.check("setting the mode of \(target)") { chmod(target, 0o700) }
                try setLimit(at: target, image: image, limit: limit)
            }
        }

        /// Sets the limit of a mounted scratch filesystem: the tmpfs is remounted; an image is grown when the new
        /// limit is larger than its filesystem, and its reservation is sized to hold back the rest.
        func setLimit(at target: String, image: String, limit: ByteSize) throws(PaddockError) {
            switch backing {
            case .tmpfs:
                try Syscalls.mount(
                    source: "paddock", target: target, type: "tmpfs", flags: UInt(MS_REMOUNT | MS_NOSUID | MS_NODEV),
                    data: "size=\(limit.bytes)")
            case .loopExt4:
                var space = try Self.measure(target)
                if space.userUsed + space.room < limit.bytes {
                    try grow(image: image, mountedAt: target, to: Self.imageBytes(for: limit.bytes))
                    space = try Self.measure(target)
                }
                let held =
                    (space.userUsed + space.room - min(space.userUsed + space.room, limit.bytes))
                    / Self.blockSize * Self.blockSize
                try resizeReservation(in: target, from: space.reserved, to: held)
            }
        }

        /// Changes the reservation by its difference only (a truncate frees the tail, an fallocate adds to it),
        /// so that moving a warm sandbox's 8 GiB disk to a session's limit costs what changes, not the whole.
        private func resizeReservation(in target: String, from current: UInt64, to held: UInt64) throws(PaddockError) {
            let reserve = "\(target)/\(Self.reserveName)"
            guard held != current else { return }
            guard held > 0 else {
                unlink(reserve)
                return
            }
            let fd = Syscalls.retrying { open(reserve, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600) }
            guard fd >= 0 else { throw .internal("creating \(reserve): \(Syscalls.errnoText())") }
            defer { close(fd) }
            if held < current {
                try Syscalls.check("shrinking the reservation in \(target)") { ftruncate(fd, off_t(held)) }
            } else {
                try Syscalls.check("reserving \(held) bytes in \(target)") {
                    pk_fallocate(fd, Int64(current), Int64(held - current))
                }
            }
        }

        /// Bytes used and the limit, as the sandbox sees them (the reservation is neither).
        func usage(at target: String) throws(PaddockError) -> (used: UInt64, limit: UInt64) {
            let space = try Self.measure(target)
            return (space.userUsed, space.userUsed + space.available)
        }

        /// A scratch filesystem's space as the sandbox sees it. ext4 keeps some blocks back for its own metadata
        /// (up to 16 MiB, which `statfs` leaves out of what is available), so the sandbox's limit is what it has
        /// written plus what is available to it, not the filesystem's size.
        private struct Space {
            /// Written by the sandbox (directories included), the reservation left out.
            var userUsed: UInt64
            /// Still available to the sandbox.
            var available: UInt64
            /// Held by the reservation.
            var reserved: UInt64
            /// Available once the reservation is gone.
            var room: UInt64 { available + reserved }
        }

        private static func measure(_ target: String) throws(PaddockError) -> Space {
            var fs = statvfs()
            try Syscalls.check("statfs \(target)") { statvfs(target, &fs) }
            let unit = UInt64(fs.f_frsize)
            let used = (UInt64(fs.f_blocks) - min(UInt64(fs.f_blocks), UInt64(fs.f_bfree))) * unit
            var st = stat()
            let reserved = lstat("\(target)/\(reserveName)", &st) == 0 ? UInt64(st.st_size) : 0
            return Space(
                userUsed: used - min(used, reserved), available: UInt64(fs.f_bavail) * unit, reserved: reserved)
        }

        /// Loop devices whose backing file lies under `directory` (leak checks: a sandbox's device is released
        /// when its disk is unmounted).
        static func loopDevices(backedUnder directory: String) -> [String] {
            Syscalls.listDirectory("/sys/block").filter { name in
                guard name.hasPrefix("loop"),
                    let backing = Syscalls.readFile("/sys/block/\(name)/loop/backing_file")?.trimmed
                else { return false }
                return backing.hasPrefix(directory + "/")
            }
        }

        /// Waits (bounded) for the loop devices of disks under `directory` to be released after their unmount. The
        /// kernel detaches an autoclear device in the background once its last user is gone, so right after a
        /// teardown it can still be bound for a moment; a teardown that returns before then reads as a leak, and a
        /// fast create-destroy loop would hold one device per sandbox in flight.
        static func waitUntilReleased(under directory: String, logger: Logger) async {
            let deadline = ContinuousClock.now + .seconds(10)
            var delay = Duration.milliseconds(1)
            while !loopDevices(backedUnder: directory).isEmpty {
                guard ContinuousClock.now < deadline else {
                    logger.warning(
                        "a sandbox disk's loop device is still bound 10 s after its unmount",
                        metadata: ["disk.devices": "\(loopDevices(backedUnder: directory))"])
                    return
                }
                // The kernel detaches an autoclear loop device after its last close and reports no event for it,
                // so this is a bounded poll; a cancelled teardown stops waiting and says so.
                do { try await Task.sleep(for: delay) } catch {
                    logger.debug("stopped waiting for a sandbox disk's loop device: cancelled")
                    return
                }
                delay = min(delay * 2, .milliseconds(50))
            }
        }

        // MARK: Images

        /// The image size for a limit: the limit plus ext4's inode tables (one 256-byte inode per 8 KiB, as the
        /// tmpfs had), bitmaps and group descriptors, rounded to whole blocks.
        static func imageBytes(for limit: UInt64) -> UInt64 {
            let raw = limit + limit / 24 + (16 << 20)
            return (raw + blockSize - 1) / blockSize * blockSize
        }

        static func inodes(for bytes: UInt64) -> UInt64 { max(16384, bytes / 8192) }

        /// A formatted image of `bytes`, made once per size. Formatting goes to a temporary name first, so a
        /// crash or a concurrent start never sees half of one.
        private func formattedImage(bytes: UInt64) async throws(PaddockError) -> String {
            let path = "\(imageCache)/ext4-\(bytes).img"
            if Syscalls.exists(path) { return path }
            guard let mkfs else { throw .unavailable("mkfs.ext4 is missing; apt-get install e2fsprogs") }
            let staging = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            defer { unlink(staging) }
            let fd = Syscalls.retrying { open(staging, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
            guard fd >= 0 else { throw .internal("creating \(staging): \(Syscalls.errnoText())") }
            let sized = ftruncate(fd, off_t(bytes))
            let sizeError = errno
            close(fd)
            guard sized == 0 else {
                throw .invalidArgument(
                    "an image of \(ByteSize(bytes: bytes)) cannot be made here (\(Syscalls.errnoText(sizeError))); "
                        + "ask for a smaller disk")
            }
            // No journal: a sandbox's disk does not outlive a host crash anyway. Inode tables are left unwritten
            // (sparse) and stay so, because the mount says noinit_itable.
            let result: HostCommand.Result
            do {
                result = try await HostCommand.run(
                    mkfs,
                    [
                        "-q", "-F", "-b", "4096", "-O", "^has_journal", "-E", "lazy_itable_init=1,nodiscard", "-m", "0",
                        "-i", "8192", "-L", "paddock", staging,
                    ])
            } catch {
                throw PaddockError.wrap(error, "formatting a sandbox disk image failed")
            }
            guard result.succeeded else {
                throw .unavailable("mkfs.ext4 failed: \(result.stderr.trimmed)")
            }
            try Syscalls.publish(staging, as: path, "the disk image \(path)")
            pruneImageCache(keeping: path)
            return path
        }

        /// Sizes are the sessions' to choose, so the cache is bounded: beyond `cachedImages` formatted images, the
        /// least recently made go (a later start of that size formats it again).
        private func pruneImageCache(keeping kept: String) {
            let images = Syscalls.listDirectory(imageCache).filter { $0.hasPrefix("ext4-") && $0.hasSuffix(".img") }
            guard images.count > Self.cachedImages else { return }
            let byAge = images.map { name -> (String, Int) in
                var st = stat()
                let path = "\(imageCache)/\(name)"
                return (path, lstat(path, &st) == 0 ? st.st_mtim.tv_sec : 0)
            }.sorted { $0.1 < $1.1 }
            for (path, _) in byAge.prefix(images.count - Self.cachedImages) where path != kept { unlink(path) }
        }

        static let cachedImages = 16

        private func attachAndMount(image: String, at target: String) throws(PaddockError) {
            let backingFD = Syscalls.retrying { open(image, O_RDWR | O_CLOEXEC) }
            guard backingFD >= 0 else { throw .internal("opening \(image): \(Syscalls.errnoText())") }
            defer { close(backingFD) }
            var number: Int32 = -1
            let loop = pk_loop_attach(backingFD, 1, &number)
            guard loop >= 0 else {
                throw .unavailable("no loop device could be attached for \(image): \(Syscalls.errnoText())")
            }
            // Autoclear: once this descriptor is closed, the mount is the device's only user, and unmounting it
            // releases the device. Closing it after a failed mount releases it at once.
            defer { close(loop) }
            try Syscalls.mount(
                source: "/dev/loop\(number)", target: target, type: "ext4", flags: UInt(MS_NOSUID | MS_NODEV),
                data: "noinit_itable")
        }

        /// Grows the image file, tells the loop device, and has ext4 take the new space while mounted.
        func grow(image: String, mountedAt target: String, to bytes: UInt64) throws(PaddockError) {
            try Syscalls.check("growing \(image)") { truncate(image, off_t(bytes)) }
            var st = stat()
            guard stat(target, &st) == 0 else { throw .internal("stat \(target): \(Syscalls.errnoText())") }
            let device = "/dev/loop\(Self.minor(st.st_dev))"
            let loop = Syscalls.retrying { open(device, O_RDONLY | O_CLOEXEC) }
            guard loop >= 0 else { throw .internal("opening \(device): \(Syscalls.errnoText())") }
            defer { close(loop) }
            try Syscalls.check("updating the size of \(device)") { pk_loop_set_capacity(loop) }
            let root = Syscalls.retrying { open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
            guard root >= 0 else { throw .internal("opening \(target): \(Syscalls.errnoText())") }
            defer { close(root) }
            try Syscalls.check("growing the filesystem at \(target)") {
                pk_ext4_resize(root, UInt64(bytes / Self.blockSize))
            }
        }

        private static func minor(_ device: dev_t) -> UInt32 {
            UInt32((device & 0xff) | ((device >> 12) & 0xfff00))
        }

        /// Copies only the data regions of a sparse file (SEEK_DATA/SEEK_HOLE), then sets the size: a formatted
        /// 1 GiB image is about a megabyte of metadata and stays that on disk.
        static func copySparse(from source: String, to target: String) throws(PaddockError) {
            let input = Syscalls.retrying { open(source, O_RDONLY | O_CLOEXEC) }
            guard input >= 0 else { throw .internal("opening \(source): \(Syscalls.errnoText())") }
            defer { close(input) }
            let output = Syscalls.retrying { open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
            guard output >= 0 else { throw .internal("creating \(target): \(Syscalls.errnoText())") }
            defer { close(output) }
            var st = stat()
            guard fstat(input, &st) == 0 else { throw .internal("stat \(source): \(Syscalls.errnoText())") }
            let size = st.st_size
            // Glibc's module leaves out the GNU whence values; these are Linux's.
            let seekData: Int32 = 3
            let seekHole: Int32 = 4
            var offset: off_t = 0
            while offset < size {
                let data = lseek(input, offset, seekData)
                if data < 0 { break }  // ENXIO: only a hole is left
                let hole = lseek(input, data, seekHole)
                guard hole > data else { break }
                guard lseek(output, data, SEEK_SET) == data, lseek(input, data, SEEK_SET) == data else {
                    throw .internal("seeking in \(target): \(Syscalls.errnoText())")
                }
                var left = Int(hole - data)
                while left > 0 {
                    let n = pk_copy_file_range(input, output, left)
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { throw .internal("copying \(source) to \(target): \(Syscalls.errnoText())") }
                    left -= n
                }
                offset = hole
            }
            try Syscalls.check("sizing \(target)") { ftruncate(output, size) }
        }
    }
#endif

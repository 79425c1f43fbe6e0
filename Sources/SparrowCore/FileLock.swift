#if canImport(Glibc)
import Glibc
#endif

/// An exclusive advisory lock on a file (flock), held by this process until
/// `release`, deinit, or the process's end: the kernel drops it when a
/// worker dies, so a lock never outlives its holder. Several `sparrow serve`
/// workers on one spool take turns claiming jobs under one, and each running
/// job is leased by the worker holding its lock (SpoolClaims).
public final class FileLock {
    public let path: String
    private var descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    /// The lock on `path` (created, mode 0600, never through a link), waiting for it when `wait`;
    /// nil when another process holds it and `wait` is false, or when the file cannot be opened.
    public static func acquire(_ path: String, wait: Bool) -> FileLock? {
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        while flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0 {
            if errno == EINTR { continue }
            close(fd)
            return nil
        }
        return FileLock(path: path, descriptor: fd)
    }

    public func release() {
        guard descriptor >= 0 else { return }
        close(descriptor) // closing the only descriptor drops the lock
        descriptor = -1
    }

    deinit { release() }
}

#if canImport(Glibc)
import Glibc
#endif
import CSystem
import Dispatch

/// What a report says of one input file: its bytes' SHA-256 when it was read.
public struct FileDigest: Sendable, Equatable {
    /// As the user named it.
    public var path: String
    /// Resolved when it was read (`sparrow verify` looks here first).
    public var absolutePath: String
    public var bytes: Int
    /// 64 hex digits, as `sha256sum` prints them.
    public var sha256: String
    /// The file's size or modification time changed while it was hashed:
    /// the digest may mix two versions of it.
    public var changedWhileRead: Bool
}

/// SHA-256 of every input file a verb or job reads, computed while it is read.
///
/// SHA-256 is sequential, while the parallel loaders have each rank read its
/// own byte range, so one process (rank 0, and only when a report will be
/// written) hashes the whole file on a background thread that starts when
/// the verb starts reading it: on one node it reads the same pages from the
/// page cache the loaders bring in; nobody reads the file a second time after
/// the verb. Whoever needs a digest (the report) waits for it then.
/// A file is known by its identity (device, inode, size, modification time),
/// so a job file moved from running/ to done/ keeps the digest of what was read.
/// Called from the main thread only; the hashing threads touch nothing shared
/// but their own `PendingDigest`.
public enum InputDigests {
    /// Whether this process hashes what it reads (set once at start-up).
    nonisolated(unsafe) public static var enabled = true
    /// The user asked for no digests (`--input-digests none`): reports say so.
    nonisolated(unsafe) public static var declined = false
    nonisolated(unsafe) private static var pending: [FileIdentity: PendingDigest] = [:]
    nonisolated(unsafe) private static var identityOfPath: [String: FileIdentity] = [:]

    /// Starts hashing `path` (a no-op when disabled, when it cannot be opened
    /// — its reader will say why — or when this version of it is already
    /// hashed). The file is opened here, with the caller's rights (a spool
    /// job's submitter), and read on a background thread.
    public static func start(path: String) {
        guard enabled, let file = try? OpenFile(path: path), let identity = FileIdentity(file) else { return }
        identityOfPath[path] = identity
        if pending[identity] != nil { return }
        let task = PendingDigest(file)
        pending[identity] = task
        task.group.enter()
        let work: @Sendable () -> Void = {
            task.result = Result { () throws(SparrowError) in try compute(task.file, expected: identity) }
            task.file = nil
            task.group.leave()
        }
        // At idle priority: on a core shared with a loader (mpirun binds rank 0 to one core)
        // the hash waits for the load instead of slowing it, and finishes when the rank
        // waits — at the latest while the report waits for it.
        let context = Unmanaged.passRetained(IdleThreadBody(work)).toOpaque()
        if sparrow_start_idle_thread({ context in
            Unmanaged<IdleThreadBody>.fromOpaque(context!).takeRetainedValue().body()
            return nil
        }, context) != 0 {
            Unmanaged<IdleThreadBody>.fromOpaque(context).release()
            DispatchQueue.global().async(execute: work)
        }
    }

    /// Makes `newPath` name what `path` named (a job file moved after it was read).
    public static func alias(_ newPath: String, of path: String) {
        if let identity = identityOfPath[path] { identityOfPath[newPath] = identity }
    }

    /// The digest of `path` as it was when `start` saw it, waiting for the hash
    /// to finish; nil when it was never started here.
    public static func digest(path: String) -> Result<FileDigest, SparrowError>? {
        guard let identity = identityOfPath[path], let task = pending[identity] else { return nil }
        task.group.wait()
        return task.result.map { digest in
            guard digest.path != path else { return digest }
            var moved = digest
            moved.path = path
            moved.absolutePath = absolute(path)
            return moved
        }
    }

    /// `path` made absolute (resolved when it exists; a job file about to be moved there does not yet).
    static func absolute(_ path: String) -> String {
        if let resolved = System.realPath(path) { return resolved }
        if path.hasPrefix("/") { return path }
        return (System.realPath(".") ?? "") + "/" + path
    }

    /// Hashes `path` now, on this thread (`sparrow verify`).
    public static func compute(path: String) throws(SparrowError) -> FileDigest {
        let file = try OpenFile(path: path)
        guard let identity = FileIdentity(file) else { throw .input(file: path, line: nil, message: "cannot read its status") }
        return try compute(file, expected: identity)
    }

    private static func compute(_ file: OpenFile?, expected: FileIdentity) throws(SparrowError) -> FileDigest {
        guard let file else { throw .input(file: "", line: nil, message: "hashed twice") }
        file.adviseSequential()
        let hasher = SHA256()
        let chunk = 4 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 64)
        defer { buffer.deallocate() }
        var offset = 0
        while offset < file.size {
            let count = min(chunk, file.size - offset)
            let part = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
            if try !file.read(into: part, offset: offset) {
                throw .input(file: file.path, line: nil, message: "file ended at byte \(offset) while being hashed (it changed while it was read)")
            }
            hasher.update(UnsafeRawBufferPointer(part))
            offset += count
        }
        return FileDigest(path: file.path, absolutePath: absolute(file.path), bytes: file.size, sha256: hasher.hexDigest(),
                          changedWhileRead: FileIdentity(file) != expected)
    }
}

/// A regular file's identity at one moment.
struct FileIdentity: Hashable {
    let device: UInt64, inode: UInt64, size: Int64, modifiedSeconds: Int64, modifiedNanoseconds: Int64

    init?(_ file: OpenFile) {
        var info = stat()
        guard fstat(file.descriptor, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modifiedSeconds = Int64(info.st_mtim.tv_sec)
        modifiedNanoseconds = Int64(info.st_mtim.tv_nsec)
    }
}

private final class IdleThreadBody: @unchecked Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

/// One background hash; `group` is left when `result` is set (and the file closed).
private final class PendingDigest: @unchecked Sendable {
    let group = DispatchGroup()
    var file: OpenFile?
    var result: Result<FileDigest, SparrowError> = .failure(.input(file: "", line: nil, message: "not hashed"))
    init(_ file: OpenFile) { self.file = file }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a file under a temporary name in the destination directory and
/// renames it into place only after every byte is flushed, so a reader never
/// sees half a file and a failed writer leaves nothing behind.
public final class AtomicFileWriter {
    public let path: String
    private let temporaryPath: String
    private var handle: UnsafeMutablePointer<FILE>?
    private var buffer: [UInt8] = []
    private static let flushThreshold = 1 << 20

    public init(path: String) throws(SparrowError) {
        self.path = path
        let (temporary, fd) = try Self.createTemporary(for: path)
        guard let stream = fdopen(fd, "wb") else {
            close(fd)
            unlink(temporary)
            throw .output(path: path, message: "cannot create: \(String(cString: strerror(errno)))")
        }
        temporaryPath = temporary
        handle = stream
        buffer.reserveCapacity(Self.flushThreshold * 2)
    }

    /// Creates the temporary file for `path` in its directory and returns its
    /// name and an open write descriptor. The name is unpredictable and the
    /// file created exclusively, never through a link: a file or symlink
    /// planted under a guessed name cannot redirect the write.
    public static func createTemporary(for path: String) throws(SparrowError) -> (path: String, descriptor: Int32) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        if name.isEmpty { throw .output(path: path, message: "output path names a directory") }
        if !directory.isEmpty, !System.isDirectory(directory) {
            throw .output(path: path, message: "directory \(directory) does not exist")
        }
        for _ in 0..<8 {
            let candidate = (directory.isEmpty ? "" : directory + "/") + ".\(name).tmp-\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
            let fd = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
            if fd >= 0 { return (candidate, fd) }
            if errno != EEXIST { break }
        }
        throw .output(path: path, message: "cannot create: \(String(cString: strerror(errno)))")
    }

    deinit { abandon() }

    public func write(_ text: String) throws(SparrowError) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= Self.flushThreshold { try flush() }
    }

    public func write(bytes: UnsafeBufferPointer<UInt8>) throws(SparrowError) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.flushThreshold { try flush() }
    }

    private func flush() throws(SparrowError) {
        guard let handle else { throw .output(path: path, message: "writer already closed") }
        let written = buffer.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, handle) }
        if written != buffer.count {
            throw .output(path: path, message: "write failed: \(String(cString: strerror(errno)))")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, syncs and renames the temporary file to its final name.
    public func commit() throws(SparrowError) {
        try flush()
        guard let handle else { return }
        let ok = fflush(handle) == 0 && fsync(fileno(handle)) == 0
        fclose(handle)
        self.handle = nil
        if !ok || rename(temporaryPath, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporaryPath)
            throw .output(path: path, message: "cannot write: \(reason)")
        }
    }

    /// Drops the temporary file; called automatically if `commit` never ran.
    public func abandon() {
        if let handle {
            fclose(handle)
            self.handle = nil
            unlink(temporaryPath)
        }
    }

    /// Writes `text` to `path` atomically in one call.
    public static func write(_ text: String, to path: String) throws(SparrowError) {
        let writer = try AtomicFileWriter(path: path)
        try writer.write(text)
        try writer.commit()
    }
}

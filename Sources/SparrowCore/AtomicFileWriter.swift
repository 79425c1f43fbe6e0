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

    public init(path: String, mode: mode_t = 0o644) throws(SparrowError) {
        self.path = path
        let (temporary, fd) = try Self.createTemporary(for: path, mode: mode)
        guard let stream = fdopen(fd, "wb") else {
            close(fd)
            unlink(temporary)
            ProcessSignals.forgetTemporary(temporary)
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
    /// The temporary is registered with `ProcessSignals`, so a SIGTERM removes it; whoever renames or
    /// removes it calls `ProcessSignals.forgetTemporary`. `mode` is its permission bits (before umask).
    public static func createTemporary(for path: String, mode: mode_t = 0o644) throws(SparrowError) -> (path: String, descriptor: Int32) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        if name.isEmpty { throw .output(path: path, message: "output path names a directory") }
        if !directory.isEmpty, !System.isDirectory(directory) {
            throw .output(path: path, message: "directory \(directory) does not exist")
        }
        // A short name whatever the output's length (an output name close to the
        // 255-byte limit still gets a temporary), with 64 random bits.
        for _ in 0..<8 {
            let candidate = (directory.isEmpty ? "" : directory + "/") + ".sparrow-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
            let fd = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
            if fd >= 0 {
                ProcessSignals.registerTemporary(candidate)
                return (candidate, fd)
            }
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

    /// Flushes, syncs and renames the temporary file to its final name; with
    /// `outputs`, leaves the rename to that set (all of a verb's outputs or none).
    public func commit(into outputs: OutputSet? = nil) throws(SparrowError) {
        do throws(SparrowError) { try flush() } catch { abandon(); throw error }
        guard let handle else { return }
        let ok = fflush(handle) == 0 && fsync(fileno(handle)) == 0
        let reason = String(cString: strerror(errno))
        fclose(handle)
        self.handle = nil
        guard ok else {
            remove()
            throw .output(path: path, message: "cannot write: \(reason)")
        }
        if let outputs {
            outputs.add(temporary: temporaryPath, final: path)
            return
        }
        if rename(temporaryPath, path) != 0 {
            let reason = String(cString: strerror(errno))
            remove()
            throw .output(path: path, message: "cannot write: \(reason)")
        }
        ProcessSignals.forgetTemporary(temporaryPath)
    }

    /// Drops the temporary file; called automatically if `commit` never ran.
    public func abandon() {
        if let handle {
            fclose(handle)
            self.handle = nil
            remove()
        }
    }

    private func remove() {
        unlink(temporaryPath)
        ProcessSignals.forgetTemporary(temporaryPath)
    }

    /// Writes `text` to `path` atomically in one call (`mode`: the file's permission bits).
    public static func write(_ text: String, to path: String, mode: mode_t = 0o644, into outputs: OutputSet? = nil) throws(SparrowError) {
        let writer = try AtomicFileWriter(path: path, mode: mode)
        try writer.write(text)
        try writer.commit(into: outputs)
    }
}

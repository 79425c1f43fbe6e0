#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import CSystem

/// Thin portable wrappers over the C library, so the rest of the code reads plainly.
public enum System {
    /// Keeps large freed blocks in the heap instead of returning them to the
    /// kernel: touching fresh pages costs ~1.4 s/GiB on the target VMs, and
    /// repeated multiplies and solves reuse buffers of the same sizes.
    public static func keepFreedMemory() { sparrow_keep_freed_memory() }

    /// Caps SuiteSparse's internal OpenMP at one thread per process (see the C shim).
    public static func capOpenMPThreads() { sparrow_cap_openmp_threads(CommandLine.unsafeArgv) }

    public static var coreCount: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    public static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    /// Wall-clock seconds from a monotonic clock.
    public static func now() -> Double {
        Double(DispatchTime.now().uptimeNanoseconds) * 1e-9
    }

    /// A small procfs file's text: they report size 0, so read until end of file instead of trusting fstat.
    public static func readProcFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 20 {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
    }

    /// With SPARROW_TRACE_MEMORY=1, one line to standard error with the
    /// resident and peak resident memory at a named point (finding where a
    /// rank's peak comes from; the reports carry only the peak itself).
    public static func traceMemory(_ point: @autoclosure () -> String) {
        guard environment("SPARROW_TRACE_MEMORY") == "1" else { return }
        let rank = environment("OMPI_COMM_WORLD_RANK") ?? "0"
        printError("sparrow: memory: rank \(rank) \(point()): resident \(residentBytes() >> 20) MiB, peak \(peakResidentBytes() >> 20) MiB")
    }

    /// Peak resident set size of this process (VmHWM), in bytes; 0 where /proc is absent.
    public static func peakResidentBytes() -> Int {
        guard let status = readProcFile("/proc/self/status"),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
        let kilobytes = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kilobytes * 1024
    }

    public static func residentBytes() -> Int {
        guard let text = readProcFile("/proc/self/statm") else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    public static func fileExists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    public static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// The canonical absolute path (symlinks resolved), nil when it does not exist.
    public static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    @discardableResult
    public static func sleep(milliseconds: Int) -> Int32 { usleep(UInt32(milliseconds * 1000)) }

    /// mkdir -p.
    public static func makeDirectories(_ path: String) throws(SparrowError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part + "/"
            if isDirectory(prefix) { continue }
            if mkdir(prefix, 0o755) != 0, errno != EEXIST {
                throw .output(path: path, message: "cannot create directory: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Names in a directory (no . or ..), sorted; empty when it cannot be read.
    public static func listDirectory(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// What a path itself is, without following a final symlink (lstat).
    public enum EntryKind { case missing, regularFile, directory, symbolicLink, other }

    public static func entryKind(_ path: String) -> EntryKind {
        var info = stat()
        guard lstat(path, &info) == 0 else { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regularFile
        case S_IFDIR: return .directory
        case S_IFLNK: return .symbolicLink
        default: return .other
        }
    }

    /// Removes a file or a directory tree (best effort). Never follows a
    /// symlink: a link is removed itself, never what it points to.
    public static func removeTree(_ path: String) {
        if entryKind(path) == .directory {
            for name in listDirectory(path) { removeTree(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    /// Makes `path` a new, empty, real directory: whatever was planted there
    /// before (a link, a file, an old tree) is removed first, without following links.
    public static func makeFreshDirectory(_ path: String) throws(SparrowError) {
        if entryKind(path) != .missing { removeTree(path) }
        if mkdir(path, 0o755) != 0 {
            throw .output(path: path, message: "cannot create directory: \(String(cString: strerror(errno)))")
        }
    }

    /// unlink(2), best effort (never follows a symlink: it removes the link itself).
    public static func removeFile(_ path: String) { unlink(path) }

    /// The permission bits of `path` (following links), nil when it cannot be read.
    public static func mode(_ path: String) -> mode_t? {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o7777 : nil
    }

    /// Hard links to `path` (not following a final link); 0 when it cannot be read.
    public static func linkCount(_ path: String) -> Int {
        var info = stat()
        return lstat(path, &info) == 0 ? Int(info.st_nlink) : 0
    }

    /// rename(2): atomic within one file system.
    public static func move(_ from: String, to: String) throws(SparrowError) {
        if rename(from, to) != 0 { throw .output(path: to, message: "cannot move \(from): \(String(cString: strerror(errno)))") }
    }

    public static var stderrIsTerminal: Bool { isatty(2) != 0 }

    public static func printError(_ line: String, newline: Bool = true) {
        var text = line
        if newline, !text.hasSuffix("\n") { text += "\n" }
        _ = text.withCString { write(2, $0, strlen($0)) }
    }

    /// Reads a whole file into memory with large block reads; refuses files over `limit` bytes.
    public static func readWholeFile(_ path: String, limit: Int = Int.max) throws(SparrowError) -> [UInt8] {
        let file = try OpenFile(path: path)
        if file.size > limit {
            throw .input(file: path, line: nil, message: "file is \(file.size) bytes, more than the \(limit) allowed here")
        }
        return try file.read(offset: 0, count: file.size)
    }
}

/// A read-only file opened with open(2), read with pread(2) so several readers
/// (threads) can share one descriptor.
public final class OpenFile {
    public let path: String
    public let size: Int
    let descriptor: Int32

    public init(path: String) throws(SparrowError) {
        self.path = path
        // O_NONBLOCK: opening a FIFO (or a device) must not wait for a writer;
        // anything but a regular file is refused right after.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 {
            let reason = String(cString: strerror(errno))
            throw .input(file: path, line: nil, message: "cannot open: \(reason)")
        }
        var info = stat()
        if fstat(fd, &info) != 0 || (info.st_mode & S_IFMT) != S_IFREG {
            close(fd)
            throw .input(file: path, line: nil, message: "not a regular file")
        }
        descriptor = fd
        size = Int(info.st_size)
    }

    deinit { close(descriptor) }

    /// Tells the kernel the file will be read front to back (larger read-ahead).
    public func adviseSequential() { _ = posix_fadvise(descriptor, 0, 0, Int32(POSIX_FADV_SEQUENTIAL)) }

    /// Fills `buffer` with the bytes from `offset`; false when the file ends first.
    public func read(into buffer: UnsafeMutableRawBufferPointer, offset: Int) throws(SparrowError) -> Bool {
        var done = 0
        while done < buffer.count {
            let got = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if got < 0, errno == EINTR { continue }
            if got < 0 { throw .input(file: path, line: nil, message: "read failed at byte \(offset + done)") }
            if got == 0 { return false }
            done += got
        }
        return true
    }

    /// Reads bytes [offset, offset + count) clamped to the file's end.
    public func read(offset: Int, count: Int) throws(SparrowError) -> [UInt8] {
        let count = max(0, min(count, size - offset))
        var failed = false
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var done = 0
            while done < count {
                let got = pread(descriptor, buffer.baseAddress! + done, count - done, off_t(offset + done))
                if got <= 0 { failed = got < 0; break }
                done += got
            }
            initialized = done
        }
        if failed || bytes.count != count {
            throw .input(file: path, line: nil, message: "read failed at byte \(offset)")
        }
        return bytes
    }
}

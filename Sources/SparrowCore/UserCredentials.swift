#if canImport(Glibc)
import Glibc
#endif

/// A user as the file system sees one (uid, primary gid, all groups): the
/// submitter of a spooled job, whose rights the job runs with (docs/jobs.md,
/// "Who can read what"). A uid without an account (no passwd entry, as for a
/// container's or a test's bare uids) has the group of the file it owns.
public struct UserCredentials: Sendable, Equatable, CustomStringConvertible {
    public let uid: uid_t
    public let gid: gid_t
    /// Every group the user is in, the primary one included.
    public let groups: [gid_t]

    public init(uid: uid_t, gid: gid_t, groups: [gid_t]) {
        self.uid = uid
        self.gid = gid
        self.groups = groups.contains(gid) ? groups : [gid] + groups
    }

    public var description: String { "uid \(uid)" }
    public var isRoot: Bool { uid == 0 }

    /// The process's effective user.
    public static var current: UserCredentials {
        let count = getgroups(0, nil)
        var list = [gid_t](repeating: 0, count: Int(max(0, count)))
        let filled = list.withUnsafeMutableBufferPointer { getgroups(count, $0.baseAddress) }
        return UserCredentials(uid: geteuid(), gid: getegid(), groups: Array(list.prefix(Int(max(0, filled)))))
    }

    /// The owner of `path` (not following a final link), with the groups of that uid's account.
    public static func owner(of path: String) throws(SparrowError) -> UserCredentials {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw .input(file: path, line: nil, message: "cannot read its owner: \(String(cString: strerror(errno)))") }
        return of(uid: info.st_uid, fallbackGroup: info.st_gid)
    }

    /// `uid` with its account's groups, or `fallbackGroup` alone when it has no account.
    public static func of(uid: uid_t, fallbackGroup: gid_t) -> UserCredentials {
        guard let account = getpwuid(uid), let name = account.pointee.pw_name else {
            return UserCredentials(uid: uid, gid: fallbackGroup, groups: [fallbackGroup])
        }
        let primary = account.pointee.pw_gid
        var count: Int32 = 64
        var list = [gid_t](repeating: 0, count: Int(count))
        while list.withUnsafeMutableBufferPointer({ getgrouplist(name, primary, $0.baseAddress, &count) }) < 0, count < 1 << 16 {
            list = [gid_t](repeating: 0, count: Int(count) * 2)
            count = Int32(list.count)
        }
        return UserCredentials(uid: uid, gid: primary, groups: Array(list.prefix(Int(max(0, count)))))
    }

    /// Why this user may not read `path`, or nil when it may: execute (search)
    /// permission on every directory above it and read permission on the
    /// file itself, by owner, group and mode, as the kernel would decide.
    public func readProblem(_ path: String) -> String? {
        guard !isRoot else { return nil }
        guard let real = System.realPath(path) else { return "cannot be resolved" }
        var directory = ""
        for part in real.split(separator: "/").dropLast() {
            directory += "/" + part
            if !permits(directory, bit: 1) { return "\(self) may not enter directory \(directory)" }
        }
        if !permits(real, bit: 4) { return "\(self) may not read it (\(Self.modeText(real)))" }
        return nil
    }

    /// Whether the mode bits of `path` grant `bit` (4 read, 2 write, 1 execute) to this user.
    private func permits(_ path: String, bit: mode_t) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        if info.st_uid == uid { return info.st_mode & (bit << 6) != 0 }
        if groups.contains(info.st_gid) { return info.st_mode & (bit << 3) != 0 }
        return info.st_mode & bit != 0
    }

    static func modeText(_ path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { return "unreadable" }
        return "mode 0\(String(info.st_mode & 0o7777, radix: 8)), owner uid \(info.st_uid), group \(info.st_gid)"
    }

    /// Runs `body` with this user's rights (effective uid, gid and groups),
    /// then returns to the process's own. Only a process whose real uid is
    /// root can change; any other runs `body` as itself (`canAssume` says which).
    public func assume<T>(_ body: () throws(SparrowError) -> T) throws(SparrowError) -> T {
        guard Self.canAssume, self != Self.current else { return try body() }
        let saved = Self.current
        guard setgroups(groups.count, groups) == 0, setegid(gid) == 0, seteuid(uid) == 0 else {
            let reason = String(cString: strerror(errno))
            Self.restore(saved)
            throw .computation("cannot take the rights of \(self): \(reason)")
        }
        defer { Self.restore(saved) }
        return try body()
    }

    /// Whether this process can take another user's rights (its real uid is root).
    public static var canAssume: Bool { getuid() == 0 }

    private static func restore(_ saved: UserCredentials) {
        _ = seteuid(saved.uid)
        _ = setegid(saved.gid)
        _ = setgroups(saved.groups.count, saved.groups)
    }

    /// Gives `path` (a file, or a directory and everything below it, never
    /// following links) to this user with `fileMode` / `directoryMode`; where
    /// the process cannot change owners, only the modes (and the group, to
    /// `group`, when given) change.
    public func own(_ path: String, fileMode: mode_t = 0o600, directoryMode: mode_t = 0o700, group: gid_t? = nil) {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT != S_IFLNK else { return }
        let isDirectory = info.st_mode & S_IFMT == S_IFDIR
        if isDirectory { for entry in System.listDirectory(path) { own(path + "/" + entry, fileMode: fileMode, directoryMode: directoryMode, group: group) } }
        if Self.canAssume {
            _ = lchown(path, uid, gid)
        } else if let group {
            _ = lchown(path, uid_t.max, group)
        }
        _ = chmod(path, isDirectory ? directoryMode : fileMode)
    }
}

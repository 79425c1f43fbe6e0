import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM/SIGINT set a flag that long work polls at safe points (between
/// steps, every PCG checkpoint interval); nothing is interrupted mid-write.
enum StopSignal {
    static let flag = Atomic<Int>(0)

    static var requested: Bool { flag.load(ordering: .relaxed) != 0 }

    static func install() {
        let handler: @convention(c) (Int32) -> Void = { _ in StopSignal.flag.store(1, ordering: .relaxed) }
        signal(SIGTERM, handler)
        signal(SIGINT, handler)
    }
}

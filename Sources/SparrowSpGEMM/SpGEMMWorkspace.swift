import SparrowCore

/// Scratch memory kept across calls: per-thread accumulators and the shared
/// atomic table. Fresh memory costs ~1.4 s/GiB to touch on the target VMs, so
/// one workspace serves every product of a run.
public final class SpGEMMWorkspace: @unchecked Sendable {
    // @unchecked: accumulator k is used only by task k; the shared table is atomic.
    var accumulators: [RowAccumulator] = []
    let sharedTable = AtomicHashTable()
    public init() {}

    func accumulators(_ count: Int) -> [RowAccumulator] {
        while accumulators.count < count { accumulators.append(RowAccumulator()) }
        return Array(accumulators.prefix(count))
    }
}

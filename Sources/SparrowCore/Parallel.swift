import Dispatch

/// A pointer that worker threads may share. Safe only because every use
/// writes disjoint index ranges (or goes through atomics); the wrapper exists
/// to say so once instead of at every call site.
public struct SharedPointer<Element>: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Element>
    public init(_ base: UnsafeMutablePointer<Element>) { self.base = base }
    @inline(__always) public subscript(index: Int) -> Element {
        get { base[index] }
        nonmutating set { base[index] = newValue }
    }
}

/// Read-only counterpart of `SharedPointer`.
public struct SharedReadPointer<Element>: @unchecked Sendable {
    public let base: UnsafePointer<Element>
    public init(_ base: UnsafePointer<Element>) { self.base = base }
    @inline(__always) public subscript(index: Int) -> Element { base[index] }
}

/// Runs `body(task)` for task in 0..<tasks on up to `tasks` threads and waits.
/// Worker threads never call MPI: every MPI call stays on the main thread.
public func parallelTasks(_ tasks: Int, _ body: @Sendable (Int) -> Void) {
    if tasks <= 1 {
        if tasks == 1 { body(0) }
        return
    }
    DispatchQueue.concurrentPerform(iterations: tasks, execute: body)
}

/// Splits 0..<count into `parts` contiguous ranges of near-equal length.
public func evenRanges(count: Int, parts: Int) -> [Range<Int>] {
    let parts = max(1, parts)
    return (0..<parts).map { p in (count * p / parts)..<(count * (p + 1) / parts) }
}

/// Splits 0..<weights.count into `parts` contiguous ranges of near-equal total
/// weight, given the exclusive prefix sums of the weights (count + 1 entries).
public func balancedRanges(prefix: UnsafeBufferPointer<Int>, parts: Int) -> [Range<Int>] {
    let count = prefix.count - 1
    let total = prefix[count]
    let parts = max(1, parts)
    var bounds = [0]
    for p in 1..<parts {
        let target = Int((Double(total) * Double(p) / Double(parts)).rounded())
        // First index whose prefix reaches the target.
        var lo = bounds.last!, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if prefix[mid] < target { lo = mid + 1 } else { hi = mid }
        }
        bounds.append(lo)
    }
    bounds.append(count)
    return (0..<parts).map { bounds[$0]..<bounds[$0 + 1] }
}

/// Default thread count inside one rank: the cores divided among the ranks
/// that mpirun placed on this node (OpenMP-style), at least one.
public func defaultThreadCount() -> Int {
    let cores = System.coreCount
    let env = System.environment("OMPI_COMM_WORLD_LOCAL_SIZE").flatMap { Int($0) } ?? 1
    return max(1, cores / max(1, env))
}

import SparrowCore

/// A's and B's CSR arrays as raw pointers the worker threads can share, valid
/// only inside `ProductOperands.with` (one place for the pinning that every
/// pass of the product needs).
struct ProductOperands: Sendable {
    let aPtr: SharedReadPointer<Int>, aCol: SharedReadPointer<Int32>, aVal: SharedReadPointer<Double>
    let bPtr: SharedReadPointer<Int>, bCol: SharedReadPointer<Int32>, bVal: SharedReadPointer<Double>

    /// Runs `body` with A's and B's arrays pinned. Both must hold entries
    /// (the product returns early otherwise), so every base address exists.
    static func with<Result>(_ a: CSRMatrix, _ b: CSRMatrix, _ body: (ProductOperands) -> Result) -> Result {
        a.rowPointers.withUnsafeBufferPointer { ap in
        a.columnIndices.withUnsafeBufferPointer { ac in
        a.values.withUnsafeBufferPointer { av in
        b.rowPointers.withUnsafeBufferPointer { bp in
        b.columnIndices.withUnsafeBufferPointer { bc in
        b.values.withUnsafeBufferPointer { bv in
            body(ProductOperands(
                aPtr: SharedReadPointer(ap.baseAddress!), aCol: SharedReadPointer(ac.baseAddress!),
                aVal: SharedReadPointer(av.baseAddress!), bPtr: SharedReadPointer(bp.baseAddress!),
                bCol: SharedReadPointer(bc.baseAddress!), bVal: SharedReadPointer(bv.baseAddress!)))
        }}}}}}
    }
}

extension LocalSpGEMM {
    /// Turns per-row counts (m + 1 entries, the last unused) into row
    /// pointers in place — exclusive prefix sums — and returns the total.
    static func countsToRowPointers(_ counts: inout [Int]) -> Int {
        var running = 0
        for i in 0..<(counts.count - 1) {
            let c = counts[i]
            counts[i] = running
            running += c
        }
        counts[counts.count - 1] = running
        return running
    }
}

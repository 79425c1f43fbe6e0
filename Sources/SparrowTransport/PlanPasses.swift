import CTransportKernels
import Foundation
import SparrowCore
import SparrowMPI

/// The passes over this rank's rows that every method is made of, each
/// evaluating plan entries P_ij = exp(η(x_i + y_j − C_ij) − 1) with the vector
/// exponential of `CSystem/transport.h`, rows spread over threads:
/// - `rowLogSums`: log Σ_j P_ij per local row (Sinkhorn's x-update);
/// - `columnLogSums`: log Σ_i P_ij per column over all ranks (the y-update),
///   one allreduce;
/// - `evaluate`: stores P, its row and column sums and its total (a Newton
///   step's gradient and the line search's objective).
/// Sums that underflow or overflow are recomputed in the log-sum-exp way (the
/// largest exponent factored out), so η up to 1e4 with costs in [0, 1] never
/// produces 0, ∞ or NaN; the common case costs one exponential per entry.
final class PlanPasses {
    let cost: LocalCost
    let columns: Int
    let eta: Double
    let threads: Int
    private let ranges: [Range<Int>]
    /// One column accumulator per thread, reused by every column pass.
    private var columnBuffers: [[Double]]
    private(set) var stabilizedPasses = 0

    /// Sums below this are recomputed with the largest term factored out.
    static let smallestSafeSum = 1e-280

    init(cost: LocalCost, columns: Int, eta: Double, threads: Int) {
        self.cost = cost
        self.columns = columns
        self.eta = eta
        self.ranges = cost.threadRanges(threads)
        self.threads = ranges.count
        self.columnBuffers = Array(repeating: [], count: ranges.count)
    }

    /// log Σ_j exp(η(x_i + y_j − C_ij) − 1) for every local row.
    func rowLogSums(x: [Double], y: [Double]) -> [Double] {
        var out = [Double](repeating: 0, count: cost.rows)
        var stabilizedRows = [Int](repeating: 0, count: ranges.count)
        let eta = self.eta
        let counters = stabilizedRows.withUnsafeMutableBufferPointer { SharedPointer($0.baseAddress!) }
        withCost { c, cols, starts in
            y.withUnsafeBufferPointer { yb in
                x.withUnsafeBufferPointer { xb in
                    out.withUnsafeMutableBufferPointer { ob in
                        let (yp, xp, op) = (SharedReadPointer(yb.baseAddress!), SharedReadPointer(xb.baseAddress!), SharedPointer(ob.baseAddress!))
                        let ranges = self.ranges
                        parallelTasks(ranges.count) { t in
                            for i in ranges[t] {
                                let start = starts[i], len = starts[i + 1] - start
                                let colp = cols.map { $0.base + start }
                                let s = sparrow_ot_plan_row(c.base + start, colp, len, yp.base, xp[i], eta, nil, nil)
                                if s >= Self.smallestSafeSum, s.isFinite {
                                    op[i] = Foundation.log(s)
                                } else {
                                    // Factor out the row's largest exponent η·M (then the largest term is e⁻¹).
                                    counters[t] += 1
                                    let m = xp[i] + sparrow_ot_row_max(c.base + start, colp, len, yp.base)
                                    let shifted = sparrow_ot_plan_row(c.base + start, colp, len, yp.base, xp[i] - m, eta, nil, nil)
                                    op[i] = Foundation.log(shifted) + eta * m
                                }
                            }
                        }
                    }
                }
            }
        }
        if stabilizedRows.contains(where: { $0 > 0 }) { stabilizedPasses += 1 }
        return out
    }

    /// log Σ_i exp(η(x_i + y_j − C_ij) − 1) for every column, over all ranks.
    func columnLogSums(x: [Double], y: [Double], communicator: Communicator) -> [Double] {
        var sums = columnSums(x: x, y: y)
        communicator.allreduceSumInPlace(&sums)
        // Every rank sees the same sums, so every rank takes the same branch.
        guard sums.contains(where: { !($0 >= Self.smallestSafeSum && $0.isFinite) }) else { return sums.map { Foundation.log($0) } }
        stabilizedPasses += 1
        var largest = [Double](repeating: -Double.infinity, count: columns)
        withCost { c, cols, starts in
            for i in 0..<cost.rows {
                let start = starts[i]
                largest.withUnsafeMutableBufferPointer { lb in
                    sparrow_ot_column_max(c.base + start, cols.map { $0.base + start }, starts[i + 1] - start, x[i], lb.baseAddress!)
                }
            }
        }
        largest = communicator.allreduce(largest, .max)
        // A column with no entry on any rank (possible only in a sparse kernel) keeps an empty sum.
        let exponents = (0..<columns).map { largest[$0].isFinite ? y[$0] + largest[$0] : 0 }
        let shiftedY = (0..<columns).map { y[$0] - exponents[$0] }
        var shifted = columnSums(x: x, y: shiftedY)
        communicator.allreduceSumInPlace(&shifted)
        return (0..<columns).map { Foundation.log(shifted[$0]) + eta * exponents[$0] }
    }

    /// Σ_i over local rows of exp(η(x_i + y_j − C_ij) − 1), per column.
    private func columnSums(x: [Double], y: [Double]) -> [Double] {
        let eta = self.eta, columns = self.columns
        for t in 0..<ranges.count {
            if columnBuffers[t].count != columns { columnBuffers[t] = [Double](repeating: 0, count: columns) }
            else { columnBuffers[t].withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
        }
        let buffers = columnBuffers.indices.map { t in columnBuffers[t].withUnsafeMutableBufferPointer { SharedPointer($0.baseAddress!) } }
        withCost { c, cols, starts in
            y.withUnsafeBufferPointer { yb in
                x.withUnsafeBufferPointer { xb in
                    let (yp, xp) = (SharedReadPointer(yb.baseAddress!), SharedReadPointer(xb.baseAddress!))
                    let ranges = self.ranges
                    parallelTasks(ranges.count) { t in
                        for i in ranges[t] {
                            let start = starts[i]
                            _ = sparrow_ot_plan_row(c.base + start, cols.map { $0.base + start }, starts[i + 1] - start,
                                                    yp.base, xp[i], eta, nil, buffers[t].base)
                        }
                    }
                }
            }
        }
        var total = columnBuffers[0]
        for t in 1..<columnBuffers.count {
            columnBuffers[t].withUnsafeBufferPointer { b in for j in 0..<columns { total[j] += b[j] } }
        }
        return total
    }

    /// The plan at (x, y) in `plan` (the cost's layout), with its local row
    /// sums, its column sums over all ranks and its total mass over all ranks.
    /// A total of +∞ (an overflowing trial point of a line search) is returned as such.
    func evaluate(x: [Double], y: [Double], into plan: inout [Double], communicator: Communicator)
        -> (rowSums: [Double], columnSums: [Double], total: Double) {
        if plan.count != cost.entries { plan = [Double](repeating: 0, count: cost.entries) }
        let eta = self.eta, columns = self.columns
        var rowSums = [Double](repeating: 0, count: cost.rows)
        for t in 0..<ranges.count {
            if columnBuffers[t].count != columns { columnBuffers[t] = [Double](repeating: 0, count: columns) }
            else { columnBuffers[t].withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
        }
        let buffers = columnBuffers.indices.map { t in columnBuffers[t].withUnsafeMutableBufferPointer { SharedPointer($0.baseAddress!) } }
        withCost { c, cols, starts in
            y.withUnsafeBufferPointer { yb in
                x.withUnsafeBufferPointer { xb in
                    plan.withUnsafeMutableBufferPointer { pb in
                        rowSums.withUnsafeMutableBufferPointer { rb in
                            let (yp, xp) = (SharedReadPointer(yb.baseAddress!), SharedReadPointer(xb.baseAddress!))
                            let (pp, rp) = (SharedPointer(pb.baseAddress!), SharedPointer(rb.baseAddress!))
                            let ranges = self.ranges
                            parallelTasks(ranges.count) { t in
                                for i in ranges[t] {
                                    let start = starts[i]
                                    rp[i] = sparrow_ot_plan_row(c.base + start, cols.map { $0.base + start }, starts[i + 1] - start,
                                                                yp.base, xp[i], eta, pp.base + start, buffers[t].base)
                                }
                            }
                        }
                    }
                }
            }
        }
        var columnSums = columnBuffers[0]
        for t in 1..<columnBuffers.count {
            columnBuffers[t].withUnsafeBufferPointer { b in for j in 0..<columns { columnSums[j] += b[j] } }
        }
        columnSums.append(rowSums.reduce(0, +))
        communicator.allreduceSumInPlace(&columnSums)
        let total = columnSums.removeLast()
        return (rowSums, columnSums, total.isNaN ? .infinity : total)
    }

    /// The cost's arrays as shared pointers for the passes' threads.
    private func withCost(_ body: (SharedReadPointer<Double>, SharedReadPointer<Int32>?, SharedReadPointer<Int>) -> Void) {
        cost.values.withUnsafeBufferPointer { vb in
            cost.rowStart.withUnsafeBufferPointer { sb in
                let v = SharedReadPointer(vb.baseAddress ?? UnsafePointer(bitPattern: 8)!)
                let s = SharedReadPointer(sb.baseAddress!)
                if let indices = cost.columnIndices {
                    indices.withUnsafeBufferPointer { ib in body(v, SharedReadPointer(ib.baseAddress ?? UnsafePointer(bitPattern: 8)!), s) }
                } else {
                    body(v, nil, s)
                }
            }
        }
    }
}

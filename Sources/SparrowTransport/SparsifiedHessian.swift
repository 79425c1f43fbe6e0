import Foundation
import SparrowCore
import SparrowMPI

/// The Hessian of a Sinkhorn-Newton-Sparse step (Tang et al., ICLR 2024, §4):
/// −∇²f = η·[[diag(P1), S], [Sᵀ, diag(Pᵀ1)]], where S keeps the largest plan
/// entries and drops the smallest ones whose total mass stays below δ. The
/// diagonal keeps the full row and column sums, as in the safe sparse Newton
/// method of Tang & Qiu, "Safe and Sparse Newton Method for Entropic-Regularized
/// Optimal Transport" (NeurIPS 2024; regot's `sinkhorn_ssns`): every row of S·D_c⁻¹·Sᵀ then sums to at most its diagonal,
/// so the Schur complement below is diagonally dominant, and a shift makes it
/// positive definite.
///
/// The threshold is chosen while streaming over P, without sorting n·m values:
/// each entry's mass goes to a bin of width 2^(1/8) on a log scale, the bins
/// are summed over ranks, and the threshold is the lowest bin edge such that
/// the mass of all entries below it stays within δ (and the entries above it
/// within the memory cap).
struct SparsifiedHessian {
    /// This rank's kept entries, CSR over local rows.
    var rowStart: [Int]
    var columnIndices: [Int32]
    var values: [Double]
    /// Threshold applied (entries ≥ it kept), and the mass it dropped over all ranks.
    var threshold: Double
    var droppedMass: Double
    /// Kept entries over all ranks.
    var keptEntries: Int

    static let binsPerOctave = 8.0
    static let binCount = 8 * 1080

    static func bin(_ p: Double) -> Int {
        // Entries are at most e⁻¹·(row scale) ≤ 1 in practice; larger ones share bin 0, and an
        // entry that underflowed to 0 (log2 = −∞) the last bin.
        Int.clamping(-Foundation.log2(p) * binsPerOctave, to: 0...(binCount - 1))
    }

    static func edge(_ bin: Int) -> Double { Foundation.exp2(-Double(bin) / binsPerOctave) }

    /// Builds S from the plan `plan` (laid out as `cost`), dropping at most `budget` mass.
    static func build(plan: [Double], cost: LocalCost, budget: Double, maxKept: Int, threads: Int,
                      communicator: Communicator) -> SparsifiedHessian {
        let ranges = cost.threadRanges(threads)
        var mass = [[Double]](repeating: [Double](repeating: 0, count: binCount), count: ranges.count)
        var counts = [[Double]](repeating: [Double](repeating: 0, count: binCount), count: ranges.count)
        let massPointers = mass.indices.map { t in mass[t].withUnsafeMutableBufferPointer { SharedPointer($0.baseAddress!) } }
        let countPointers = counts.indices.map { t in counts[t].withUnsafeMutableBufferPointer { SharedPointer($0.baseAddress!) } }
        plan.withUnsafeBufferPointer { pb in
            cost.rowStart.withUnsafeBufferPointer { sb in
                let (p, s) = (SharedReadPointer(pb.baseAddress ?? UnsafePointer(bitPattern: 8)!), SharedReadPointer(sb.baseAddress!))
                parallelTasks(ranges.count) { t in
                    let (m, c) = (massPointers[t], countPointers[t])
                    guard let first = ranges[t].first else { return }
                    for e in s[first]..<s[ranges[t].upperBound] where p[e] > 0 {
                        let b = bin(p[e])
                        m[b] += p[e]
                        c[b] += 1
                    }
                }
            }
        }
        var totals = mass[0] + counts[0]
        for t in 1..<ranges.count {
            for b in 0..<binCount { totals[b] += mass[t][b]; totals[binCount + b] += counts[t][b] }
        }
        communicator.allreduceSumInPlace(&totals)
        // Walk the bins from the smallest entries up while the dropped mass stays within budget.
        var cut = binCount, dropped = 0.0
        while cut > 0, dropped + totals[cut - 1] <= budget {
            cut -= 1
            dropped += totals[cut]
        }
        // Then keep at most maxKept entries on any rank (checked on the global count per rank).
        var kept = (0..<cut).reduce(0.0) { $0 + totals[binCount + $1] }
        let ranks = Double(communicator.size)
        while cut > 1, kept / ranks > Double(maxKept) {
            cut -= 1
            dropped += totals[cut]
            kept -= totals[binCount + cut]
        }
        let threshold = cut >= binCount ? 0 : edge(cut)
        return gather(plan: plan, cost: cost, threshold: threshold, droppedMass: dropped,
                      communicator: communicator)
    }

    /// S = the entries ≥ threshold, in CSR.
    private static func gather(plan: [Double], cost: LocalCost, threshold: Double, droppedMass: Double,
                               communicator: Communicator) -> SparsifiedHessian {
        var rowStart = [Int](repeating: 0, count: cost.rows + 1)
        var columnIndices: [Int32] = []
        var values: [Double] = []
        let dense = cost.columnIndices == nil
        for i in 0..<cost.rows {
            for e in cost.rowStart[i]..<cost.rowStart[i + 1] where plan[e] >= threshold && plan[e] > 0 {
                columnIndices.append(dense ? Int32(e - cost.rowStart[i]) : cost.columnIndices![e])
                values.append(plan[e])
            }
            rowStart[i + 1] = values.count
        }
        let kept = communicator.allreduce(values.count, .sum)
        return SparsifiedHessian(rowStart: rowStart, columnIndices: columnIndices, values: values,
                                 threshold: threshold, droppedMass: droppedMass, keptEntries: kept)
    }
}

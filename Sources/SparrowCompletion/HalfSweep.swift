import CCompletionKernels
import SparrowCore

/// One half-sweep of alternating minimization: with the partner side's factor
/// rows fixed (just received), every owned row of this side solves its own
/// regression (`RowRegression.swift`). Rows are independent, so they are
/// spread over threads in ranges of equal work; no MPI here.
struct HalfSweep {
    /// This side's observations: owned rows × partner count, partner indices global and sorted.
    let entries: CSRMatrix
    /// For each stored entry, its partner's slot among the received rows.
    let slots: [Int32]
    let firstGlobalRow: Int
    let parameters: CompletionParameters
    /// Subtracted from every observation (the global mean when biases are on, else 0).
    let offset: Double
    /// Distinguishes the two sides in the sketch's random stream.
    let sideTag: UInt64

    struct Outcome {
        var squaredResidual = 0.0
        var innerSteps = 0
        var ridgedRows = 0
        var emptyRows = 0
        var sketchedRows = 0
        var unconvergedRows = 0
    }

    /// Solves every owned row into `own` (row-major, `width` per row; also the warm start).
    func run(own: inout [Double], partners: [Double], sweep: Int, workspaces: [RowWorkspace], measureFit: Bool) -> Outcome {
        let tasks = min(workspaces.count, max(1, entries.rows))
        let ranges = entries.rowPointers.withUnsafeBufferPointer { balancedRanges(prefix: $0, parts: tasks) }
        let results = TaskResults<Outcome>(count: tasks, initial: Outcome())
        let sweepSeed = CounterRandom.bits(seed: parameters.seed, counter: UInt64(sweep) << 1 | sideTag)
        own.withUnsafeMutableBufferPointer { ownBuffer in
            withReadPointers(partners, slots, entries.rowPointers, entries.values) { partner, slot, rowPointer, value in
                let data = SweepData(own: ownBuffer.baseAddress!, partners: partner, slots: slot, rowPointers: rowPointer, values: value)
                parallelTasks(tasks) { task in
                    results[task] = solveRows(ranges[task], data, workspaces[task], sweepSeed: sweepSeed, measureFit: measureFit)
                }
            }
        }
        return results.values.reduce(into: Outcome()) { total, o in
            total.squaredResidual += o.squaredResidual
            total.innerSteps += o.innerSteps
            total.ridgedRows += o.ridgedRows
            total.emptyRows += o.emptyRows
            total.sketchedRows += o.sketchedRows
            total.unconvergedRows += o.unconvergedRows
        }
    }

    /// One thread's rows: gather each row's design and targets, solve, measure the fit.
    private func solveRows(_ rows: Range<Int>, _ data: SweepData, _ w: RowWorkspace, sweepSeed: UInt64, measureFit: Bool) -> Outcome {
        let d = parameters.width, k = parameters.rank, biases = parameters.biases
        var result = Outcome()
        for row in rows {
            let start = data.rowPointers[row], n = data.rowPointers[row + 1] - start
            let x = data.own + row * d
            if n == 0 {
                for l in 0..<d { x[l] = 0 }
                result.emptyRows += 1
                continue
            }
            w.reserve(rows: n)
            let design = DesignView(partners: data.partners, slots: data.slots + start, values: data.values + start,
                                    offset: offset, count: n, width: d, rank: k, biases: biases)
            let ridge = parameters.lambda * Double(n)
            switch parameters.method {
            case .als:
                // The design rows copied side by side for one dsyrk, and the targets.
                design.gather(into: w)
                if !ExactRegression.solve(w, rows: n, ridge: ridge, x: x) { result.ridgedRows += 1 }
                if measureFit { result.squaredResidual += sparrow_fit_squares(w.design, n, d, w.target, x) }
            case .robust:
                let rowSeed = CounterRandom.bits(seed: sweepSeed, counter: UInt64(firstGlobalRow + row))
                let o = SketchedRegression.solve(w, design: design, ridge: ridge, x: x, accuracy: parameters.rowAccuracy, seed: rowSeed)
                result.innerSteps += o.steps
                if o.ridged { result.ridgedRows += 1 }
                if o.sketched { result.sketchedRows += 1 }
                if !o.converged { result.unconvergedRows += 1 }
                if measureFit {
                    result.squaredResidual += o.sketched ? sumOfSquares(w.fits, n) : sparrow_fit_squares(w.design, n, d, w.target, x)
                }
            case .inexact:
                result.innerSteps += InexactRegression.solve(w, design: design, ridge: ridge, x: x, steps: parameters.innerIterations)
                if measureFit { result.squaredResidual += sumOfSquares(w.fits, n) }
            }
        }
        return result
    }
}

private func sumOfSquares(_ v: UnsafePointer<Double>, _ n: Int) -> Double {
    var sum = 0.0
    for e in 0..<n { sum += v[e] * v[e] }
    return sum
}

/// The arrays a half-sweep reads, as pointers threads may share (each thread
/// writes only its own rows of `own`).
private struct SweepData: @unchecked Sendable {
    let own: UnsafeMutablePointer<Double>
    let partners: UnsafePointer<Double>
    let slots: UnsafePointer<Int32>
    let rowPointers: UnsafePointer<Int>
    let values: UnsafePointer<Double>
}

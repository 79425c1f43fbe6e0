import CSystem
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
    }

    /// Solves every owned row into `own` (row-major, `width` per row; also the warm start).
    func run(own: inout [Double], partners: [Double], sweep: Int, workspaces: [RowWorkspace], measureFit: Bool) -> Outcome {
        let d = parameters.width, k = parameters.rank, biases = parameters.biases
        let tasks = min(workspaces.count, max(1, entries.rows))
        let ranges = entries.rowPointers.withUnsafeBufferPointer { balancedRanges(prefix: $0, parts: tasks) }
        var outcomes = [Outcome](repeating: Outcome(), count: tasks)
        let parameters = self.parameters, offset = self.offset, first = firstGlobalRow
        let seed = CounterRandom.bits(seed: parameters.seed, counter: UInt64(sweep) << 1 | sideTag)
        own.withUnsafeMutableBufferPointer { ownBuffer in
            partners.withUnsafeBufferPointer { partnerBuffer in
                slots.withUnsafeBufferPointer { slotBuffer in
                    entries.rowPointers.withUnsafeBufferPointer { pointerBuffer in
                        entries.values.withUnsafeBufferPointer { valueBuffer in
                            outcomes.withUnsafeMutableBufferPointer { outcomeBuffer in
                                let own = SharedPointer(ownBuffer.baseAddress!), partner = SharedReadPointer(partnerBuffer.baseAddress!)
                                let slot = SharedReadPointer(slotBuffer.baseAddress!), rowPointer = SharedReadPointer(pointerBuffer.baseAddress!)
                                let value = SharedReadPointer(valueBuffer.baseAddress!), outcome = SharedPointer(outcomeBuffer.baseAddress!)
                                parallelTasks(tasks) { task in
                                    let w = workspaces[task]
                                    var result = Outcome()
                                    for row in ranges[task] {
                                        let start = rowPointer[row], n = rowPointer[row + 1] - start
                                        let x = own.base + row * d
                                        if n == 0 {
                                            for l in 0..<d { x[l] = 0 }
                                            result.emptyRows += 1
                                            continue
                                        }
                                        w.reserve(rows: n)
                                        let design = DesignView(partners: partner.base, slots: slot.base + start, values: value.base + start,
                                                                offset: offset, count: n, width: d, rank: k, biases: biases)
                                        let ridge = parameters.lambda * Double(n)
                                        switch parameters.method {
                                        case .als:
                                            // The design rows copied side by side for one dsyrk, and the targets.
                                            sparrow_gather_design(partner.base, slot.base + start, n, d, k, biases ? 1 : 0, w.design,
                                                                  value.base + start, offset, w.target)
                                            if !ExactRegression.solve(w, rows: n, ridge: ridge, x: x) { result.ridgedRows += 1 }
                                        case .robust:
                                            let rowSeed = CounterRandom.bits(seed: seed, counter: UInt64(first + row))
                                            result.innerSteps += ApproximateRegression.solve(
                                                w, design: design, ridge: ridge, x: x, steps: parameters.innerIterations,
                                                preconditioner: parameters.preconditioner, sketchSeed: rowSeed)
                                        }
                                        if measureFit {
                                            if parameters.method == .robust {
                                                for e in 0..<n { result.squaredResidual += w.fits[e] * w.fits[e] }
                                            } else {
                                                result.squaredResidual += sparrow_fit_squares(w.design, n, d, w.target, x)
                                            }
                                        }
                                    }
                                    outcome[task] = result
                                }
                            }
                        }
                    }
                }
            }
        }
        return outcomes.reduce(into: Outcome()) { total, o in
            total.squaredResidual += o.squaredResidual
            total.innerSteps += o.innerSteps
            total.ridgedRows += o.ridgedRows
            total.emptyRows += o.emptyRows
        }
    }
}

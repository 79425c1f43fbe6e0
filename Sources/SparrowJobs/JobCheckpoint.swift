import SparrowCore
import SparrowFactor
import SparrowMPI

/// One directory per job run holding what a resumed run may skip: the items of
/// batch solves already solved (their solutions and residuals), the last PCG
/// iterate, and the records of the ot and complete steps. Every file is written atomically, so a crash leaves either the
/// previous state or the new one. Items are written by the rank that solved
/// them (the directory is on a shared file system in a multi-host run).
public final class JobCheckpoint {
    public let directory: String

    /// A checkpoint in a directory the service's rank 0 has made (a real directory, never a planted link).
    public init(existingDirectory: String) {
        directory = existingDirectory
    }

    private func itemStem(step: String, index: Int) -> String { directory + "/\(step).item\(index)" }

    func recordSolvedItem(step: String, item: BatchSolve.ItemResult) throws(SparrowError) {
        let index = Int(item.name.split(separator: "-").first!)!
        let stem = itemStem(step: step, index: index)
        try MatrixMarket.write(item.solution, to: stem + ".x.mtx")
        // The residual file is written last: its presence marks the item complete.
        try AtomicFileWriter.write("\(item.residual)\n", to: stem + ".done")
    }

    /// Items of `step` recorded as solved: index → (residual, solution).
    func solvedItems(step: String, count: Int) -> [Int: (residual: Double, solution: DenseMatrix)] {
        var found: [Int: (Double, DenseMatrix)] = [:]
        for index in 0..<count {
            let stem = itemStem(step: step, index: index)
            guard let text = try? System.readWholeFile(stem + ".done"),
                  let residual = Double(String(decoding: text, as: UTF8.self).trimmingCharacters(in: "\n")),
                  let x = try? MatrixMarket.readDense(path: stem + ".x.mtx") else { continue }
            found[index] = (residual, x)
        }
        return found.mapValues { (residual: $0.0, solution: $0.1) }
    }

    /// The PCG iterate of `step` (`PCGCheckpoint`, resumable at any rank count).
    func iterate(step: String) -> PCGCheckpoint { PCGCheckpoint(path: directory + "/\(step).pcg.x.mtx") }

    /// Removes the directory's files after the job finished.
    public func discard() { System.removeTree(directory) }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.last, set.contains(c) { s.removeLast() }
        while let c = s.first, set.contains(c) { s.removeFirst() }
        return String(s)
    }
}

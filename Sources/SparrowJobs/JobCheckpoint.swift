import SparrowCore
import SparrowFactor
import SparrowMPI

/// One directory per job run holding what a resumed run may skip: the items of
/// batch solves already solved (their solutions and residuals) and the last
/// PCG iterate. Every file is written atomically, so a crash leaves either the
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

    private func iteratePath(step: String) -> String { directory + "/\(step).pcg.x.mtx" }

    /// Collective: the iterate as one array file, every rank writing its own rows.
    func recordIterate(step: String, iteration: Int, x: DistributedDense, communicator: Communicator) throws(SparrowError) {
        try x.write(to: iteratePath(step: step), comment: "iteration \(iteration)", communicator: communicator)
    }

    /// Collective: this rank's rows `owned` of the recorded iterate, read for
    /// those rows only, so a run at any rank count resumes it. Used only if
    /// every rank read it, with the same iteration.
    func iterate(step: String, rows: Int, owned: Range<Int>, communicator: Communicator) throws(SparrowError) -> (iteration: Int, x: [Double])? {
        let path = iteratePath(step: step)
        let mine = communicator.local { () throws(SparrowError) -> (Int, [Double])? in
            guard System.isRegularFile(path) else { return nil }
            let file = try OpenFile(path: path)
            let head = String(decoding: try file.read(offset: 0, count: min(file.size, 200)), as: UTF8.self)
            guard let line = head.split(separator: "\n").first(where: { $0.hasPrefix("% iteration ") }),
                  let iteration = Int(line.dropFirst(12)) else { return nil }
            let x = try DenseSpec.parseOwned(path, rows: rows, owned: owned, field: "checkpoint")
            guard x.count == 1 else { return nil }
            return (iteration, x[0])
        }
        let found = (try? mine.get()) ?? nil
        let iteration = found?.0 ?? -1
        let range = communicator.allreduce([iteration, -iteration], .min) // the lowest and the negated highest
        guard range[0] == -range[1], let found else { return nil }
        return (found.0, found.1)
    }

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

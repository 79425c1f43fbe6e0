/// Progress on standard error (rank 0 only, by the caller's choice): a live
/// line redrawn in place when stderr is a terminal, plain periodic lines
/// otherwise (logs, Slurm output), nothing with --quiet.
public final class Progress {
    public let label: String
    private let enabled: Bool
    private let live: Bool
    private let start = System.now()
    private var lastPrint = -1.0
    private let interval: Double

    public init(_ label: String, enabled: Bool, interval: Double = 2) {
        self.label = label
        self.enabled = enabled
        live = System.stderrIsTerminal
        self.interval = live ? 0.1 : interval
    }

    public var elapsed: Double { System.now() - start }

    /// Reports `done` of `total` units (total 0 when unknown) with an optional detail.
    public func update(_ done: Int, of total: Int, detail: String = "") {
        guard enabled else { return }
        let now = System.now()
        guard now - lastPrint >= interval || (total > 0 && done == total) else { return }
        lastPrint = now
        let fraction = total > 0 ? " \(Int(100 * Double(done) / Double(total)))%" : ""
        let seconds = Int(elapsed * 10)
        let text = "\(label): \(done)\(total > 0 ? "/\(total)" : "")\(fraction) \(seconds / 10).\(seconds % 10)s\(detail.isEmpty ? "" : " " + detail)"
        if live { System.printError("\r\u{1B}[K" + text, newline: false) } else { System.printError(text) }
    }

    /// Ends a live line.
    public func finish() {
        guard enabled, live, lastPrint >= 0 else { return }
        System.printError("")
    }
}

import SparrowCore

/// Faults on purpose, for the tests of the crash and restart paths (the
/// supervisor, the service's crash notes): with
/// `SPARROW_FAULT_INJECTION=crash-in-step:NAME` in the environment of the
/// service, a step named NAME crashes its rank with a failed runtime check,
/// exactly as a bug would. Only the operator sets the service's environment;
/// a job file cannot.
enum FaultInjection {
    static func beforeStep(_ name: String) {
        guard let setting = System.environment("SPARROW_FAULT_INJECTION"), setting == "crash-in-step:" + name else { return }
        // An out-of-range index the optimizer cannot see through: the same trap a bug would hit.
        let empty = [Int](repeating: 0, count: setting.count - setting.count)
        _ = empty[name.count]
    }
}

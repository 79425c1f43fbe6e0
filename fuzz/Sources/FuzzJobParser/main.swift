import SparrowCore
import SparrowJobs
import FuzzDriver

/// One input: the bytes are a YAML job file. Validation may refuse any of it;
/// none may crash.
let fuzzOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32 = { data, size in
    MemoryBudget.limitPerRank = 256 << 20
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = try? JobParser.parse(text, file: "fuzz.yaml", outputDirectoryOverride: "/nonexistent-fuzz-output")
    return 0
}

fuzz(fuzzOneInput)

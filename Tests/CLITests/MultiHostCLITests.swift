import Foundation
import XCTest

/// A job across two "hosts" of two ranks each, over TCP only: network
/// namespaces made by cluster/netns-hosts.sh, ranks started on the second
/// host through cluster/netns-rsh.sh (mpirun's plm_rsh_agent). Its output
/// must equal the 1-rank run's byte for byte. Where the machine refuses
/// namespaces (no root, no CAP_NET_ADMIN, no iproute2) the test is skipped
/// and says why; it never passes without having run.
final class MultiHostCLITests: XCTestCase {
    func testSpGEMMAndSpMVAcrossTwoNamespacedHostsMatchOneRank() throws {
        let scratch = ScratchDirectory()
        let a = scratch.join("A.mtx")
        XCTAssertEqual(SparrowProcess.run(["generate", "rmat", "--scale", "11", "--edge-factor", "8", "--seed", "5", "-o", a, "--quiet"]).status, 0)
        XCTAssertEqual(SparrowProcess.run(["spgemm", a, a, "-o", scratch.join("C1.mtx"), "--quiet"]).status, 0)
        XCTAssertEqual(SparrowProcess.run(["spmv", a, "--x", "random:1", "-o", scratch.join("y1.mtx"), "--quiet"]).status, 0)
        let cluster = SparrowProcess.packageRoot + "/cluster"
        let mpirun = cluster + "/netns-mpirun.sh -n 4"
        let sparrow = SparrowProcess.binary
        // Which network namespace each rank ran in, then the two real runs.
        let script = """
        set -e
        \(mpirun) sh -c 'echo "$OMPI_COMM_WORLD_RANK $(readlink /proc/self/ns/net)"' > \(scratch.join("namespaces.txt"))
        \(mpirun) \(sparrow) spgemm \(a) \(a) -o \(scratch.join("C4.mtx")) --threads 1 --quiet --report \(scratch.join("r.json"))
        \(mpirun) \(sparrow) spmv \(a) --x random:1 -o \(scratch.join("y4.mtx")) --threads 1 --quiet
        """
        // Names of this run's own (two suites at once on one machine must not tear down each other's hosts).
        let tag = "sx\(getpid() % 100_000)"
        let names = ["SPARROW_NETNS_PREFIX": tag + "h", "SPARROW_NETNS_BRIDGE": tag + "br"]
        let outcome = Self.run(cluster + "/netns-hosts.sh", ["run", "2", "--", "sh", "-c", script], timeout: 300, environment: names)
        if outcome.status == 77 {
            throw XCTSkip("network namespaces refused on this machine, multi-host test not run: \(outcome.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let lines = (try? String(contentsOfFile: scratch.join("namespaces.txt"), encoding: .utf8))?.split(separator: "\n") ?? []
        var namespaceOfRank: [Int: String] = [:]
        for line in lines {
            let words = line.split(separator: " ")
            if words.count == 2, let rank = Int(words[0]) { namespaceOfRank[rank] = String(words[1]) }
        }
        XCTAssertEqual(namespaceOfRank.count, 4, "every rank reports its namespace: \(lines)")
        let own = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net")) ?? ""
        XCTAssertEqual(namespaceOfRank[0], namespaceOfRank[1], "ranks 0 and 1 share the first host")
        XCTAssertEqual(namespaceOfRank[2], namespaceOfRank[3], "ranks 2 and 3 share the second host")
        XCTAssertNotEqual(namespaceOfRank[0], namespaceOfRank[2], "the two hosts are different namespaces")
        XCTAssertFalse(namespaceOfRank.values.contains(own), "no rank ran in the test's own namespace")
        XCTAssertEqual(scratch.bytes("C4.mtx"), scratch.bytes("C1.mtx"))
        XCTAssertEqual(scratch.bytes("y4.mtx"), scratch.bytes("y1.mtx"))
        XCTAssertNotNil(scratch.bytes("C1.mtx"))
        let perRank = readJSON(scratch.join("r.json"))?["per_rank"] as? [[String: Any]] ?? []
        XCTAssertTrue(perRank.dropFirst(2).allSatisfy { ($0["bytes_received"] as? Int ?? 0) > 0 }, "ranks on the second host fetched rows over TCP")
        // Teardown ran: no namespace or bridge of the harness is left.
        let left = Self.run("/bin/sh", ["-c", "ip netns list | grep \(tag)h; ip link show \(tag)br 2>/dev/null"], timeout: 30)
        XCTAssertEqual(left.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "")
    }

    static func run(_ executable: String, _ arguments: [String], timeout: TimeInterval,
                    environment extra: [String: String] = [:]) -> SparrowProcess.Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch { return .init(status: -1, stdout: "", stderr: "cannot start \(executable): \(error)") }
        let outData = DrainedPipe(out), errData = DrainedPipe(err)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            XCTFail("\(executable) \(arguments.joined(separator: " ")) did not finish in \(timeout) s")
        }
        process.waitUntilExit()
        return .init(status: process.terminationStatus, stdout: outData.text(), stderr: errData.text())
    }
}

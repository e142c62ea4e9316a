import CrucibleCore
import Testing

@Suite struct JobSpecTests {
    let valid = JobSpec(name: "ok", command: "sh", args: ["-c", "true"], taskCount: 2, maxPriceMicroPerUnitHour: 1_000_000, maxDurationS: 60)

    @Test func validSpecPasses() throws {
        try valid.validate()
    }

    @Test func everyBadFieldIsNamed() {
        var cases: [(JobSpec, String)] = []
        var spec = valid; spec.name = ""; cases.append((spec, "name"))
        spec = valid; spec.command = ""; cases.append((spec, "command"))
        spec = valid; spec.taskCount = 0; cases.append((spec, "tasks"))
        spec = valid; spec.taskCount = JobSpec.taskCountMax + 1; cases.append((spec, "tasks"))
        spec = valid; spec.maxDurationS = 0; cases.append((spec, "maxDurationS"))
        spec = valid; spec.maxPriceMicroPerUnitHour = 0; cases.append((spec, "maxPrice"))
        spec = valid; spec.resources.gpuMilli = -1; cases.append((spec, "gpus"))
        spec = valid; spec.resources.cpuCores = 0; cases.append((spec, "cpuCores"))
        spec = valid; spec.verification = .init(policy: .replicate, samplePpm: 0); cases.append((spec, "sampleRate"))
        spec = valid; spec.verification = .init(policy: .none, samplePpm: 5); cases.append((spec, "sampleRate"))
        spec = valid; spec.inputs = [.init(name: "../etc/passwd", sha256: String(repeating: "a", count: 64), sizeBytes: 1)]; cases.append((spec, "plain relative path"))
        spec = valid; spec.inputs = [.init(name: "/abs", sha256: String(repeating: "a", count: 64), sizeBytes: 1)]; cases.append((spec, "plain relative path"))
        spec = valid; spec.inputs = [.init(name: "a", sha256: "xyz", sizeBytes: 1)]; cases.append((spec, "sha256"))
        let input = JobSpec.InputFile(name: "a", sha256: String(repeating: "a", count: 64), sizeBytes: 1)
        spec = valid; spec.inputs = [input, input]; cases.append((spec, "twice"))
        for (spec, field) in cases {
            do {
                try spec.validate()
                Issue.record("accepted a spec with a bad \(field)")
            } catch let error as CrucibleError {
                #expect(error.code == .invalidSpec)
                #expect(error.message.contains(field), "\(error.message) does not name \(field)")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
    }

    @Test func relativePathRules() {
        #expect(JobSpec.isPlainRelativePath("a/b.txt"))
        for bad in ["", "/a", "a/../b", "./a", "a//b", "..", "a/"] {
            #expect(!JobSpec.isPlainRelativePath(bad), "\(bad) accepted")
        }
    }
}

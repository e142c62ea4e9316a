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
        let scene = JobSpec.InputFile(name: "scene.blend", sha256: String(repeating: "b", count: 64), sizeBytes: 1)
        let render = JobSpec(
            name: "r", kind: .render, command: "scene.blend", inputs: [scene], taskCount: 4, maxPriceMicroPerUnitHour: 1_000_000, maxDurationS: 60,
            render: .init(frameStart: 1, width: 64, height: 48, samples: 8)
        )
        spec = render; spec.render = nil; cases.append((spec, "needs render settings"))
        spec = valid; spec.render = render.render; cases.append((spec, "only a render job"))
        spec = render; spec.command = "other.blend"; cases.append((spec, "one of its inputs"))
        spec = render; spec.args = ["-x"]; cases.append((spec, "takes no args"))
        spec = render; spec.cluster = .init(nodes: 2, roundTripMsMax: 5); cases.append((spec, "takes no cluster"))
        spec = render; spec.render?.frameStart = JobSpec.Render.frameMax - 2; cases.append((spec, "frames"))
        spec = render; spec.render?.width = 0; cases.append((spec, "resolution"))
        spec = render; spec.render?.height = JobSpec.Render.sideMax + 1; cases.append((spec, "resolution"))
        spec = render; spec.render?.samples = 0; cases.append((spec, "samples"))
        spec = render; spec.render?.seed = -1; cases.append((spec, "seed"))
        spec = render; spec.render?.bitDepth = 32; cases.append((spec, "bitDepth"))
        spec = render; spec.render?.reviewS = 0; cases.append((spec, "review"))
        spec = valid; spec.kind = .ray; cases.append((spec, "driver, a Python script"))
        spec = valid; spec.kind = .ray; spec.command = "driver.py"; spec.verification = .init(policy: .replicate, samplePpm: 1000)
        cases.append((spec, "verification policy none"))
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

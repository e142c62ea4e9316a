import CrucibleAgent
import CrucibleClient
import CrucibleCore
import Testing

@Suite struct SpecFileTests {
    @Test func jobSpecYAMLBecomesAnExactSpec() throws {
        let file = try JobSpecFile.parse("""
        name: render
        command: sh
        args: ["-c", "echo {index}"]
        inputs: [scene.txt, {path: data/a.bin, as: a.bin}]
        tasks: 4
        resources: {gpus: 0.5, cpuCores: 2, memoryMiB: 1024}
        maxPricePerHour: 1.25
        maxDuration: 15m
        verification: {policy: replicate, sampleRate: 0.25}
        placement: {gpuModels: [A10, L4], minGpuMemoryGiB: 20, minTopsPerGpu: 200, denyRegions: [cn-north], dataRegion: eu}
        """, baseDirectory: "/specs")
        #expect(file.spec.placement == JobPlacement(gpuModels: ["A10", "L4"], minGpuMemoryMiB: 20_480, minTopsPerGpu: 200, denyRegions: ["cn-north"], dataRegion: "eu"))
        #expect(file.spec.resources == .init(gpuMilli: 500, cpuCores: 2, memoryMiB: 1024))
        #expect(file.spec.maxPriceMicroPerUnitHour == 1_250_000)
        #expect(file.spec.maxDurationS == 900)
        #expect(file.spec.verification == .init(policy: .replicate, samplePpm: 250_000))
        #expect(file.inputs == [.init(localPath: "/specs/scene.txt", name: "scene.txt"), .init(localPath: "/specs/data/a.bin", name: "a.bin")])
    }

    @Test func renderJobsHaveOneTaskPerFrame() throws {
        let file = try JobSpecFile.parse("""
        name: turntable
        kind: render
        command: scene.blend
        inputs: [scenes/scene.blend]
        maxPricePerHour: 0.5
        maxDuration: 10m
        verification: {policy: replicate, sampleRate: 0.05}
        render: {frames: 1-240, resolution: 1920x1080, samples: 128, seed: 7}
        """, baseDirectory: "/specs")
        #expect(file.spec.kind == .render && file.spec.command == "scene.blend" && file.spec.taskCount == 240)
        #expect(file.spec.render == JobSpec.Render(frameStart: 1, width: 1920, height: 1080, samples: 128, seed: 7, bitDepth: 8))
        #expect(file.spec.render?.framePath(taskIndex: 239) == "frame-0240.png" && file.spec.render?.cropPath(taskIndex: 0, tile: 3) == "crop-0001-t03.png")
        let single = try JobSpecFile.parse(
            "name: still\nkind: render\ncommand: s.blend\ninputs: [s.blend]\nmaxPricePerHour: 1\nmaxDuration: 1m\nrender: {frames: 12345, resolution: 64x48, samples: 8, bitDepth: 16}",
            baseDirectory: "/"
        )
        #expect(single.spec.taskCount == 1 && single.spec.render?.framePath(taskIndex: 0) == "frame-12345.png" && single.spec.render?.bitDepth == 16)
    }

    @Test(arguments: [
        ("name: x\ncommand: sh\nmaxPricePerHour: 1\nmaxDuration: 1m\ntaks: 3", "unknown field `taks`"),
        ("name: x\ncommand: sh\nmaxPricePerHour: cheap\nmaxDuration: 1m", "maxPricePerHour"),
        ("name: x\ncommand: sh\nmaxPricePerHour: 1\nmaxDuration: soon", "maxDuration"),
        ("name: x\ncommand: sh\nmaxPricePerHour: 1\nmaxDuration: 1m\nkind: slurm", "kind `slurm`"),
        ("name: x\ncommand: sh\nmaxPricePerHour: 1\nmaxDuration: 1m\nkind: ray", "driver, a Python script"),
        ("name: x\nkind: ray\ncommand: d.py\nmaxPricePerHour: 1\nmaxDuration: 1m\nverification: {policy: replicate}", "verification policy none"),
        ("name: x\ncommand: sh\nmaxPricePerHour: 1\nmaxDuration: 1m\nkind: render", "needs render settings"),
        ("name: x\nkind: render\ncommand: s.blend\ninputs: [s.blend]\nmaxPricePerHour: 1\nmaxDuration: 1m\nrender: {frames: 8-1, resolution: 64x48, samples: 8}", "render.frames"),
        ("name: x\nkind: render\ncommand: s.blend\ninputs: [s.blend]\nmaxPricePerHour: 1\nmaxDuration: 1m\nrender: {frames: 1-8, resolution: 64 by 48, samples: 8}", "render.resolution"),
        ("name: x\nkind: render\ncommand: s.blend\ninputs: [s.blend]\nmaxPricePerHour: 1\nmaxDuration: 1m\ntasks: 3\nrender: {frames: 1-8, resolution: 64x48, samples: 8}", "one task per frame"),
        ("name: x\nkind: render\ncommand: s.blend\ninputs: [s.blend]\nmaxPricePerHour: 1\nmaxDuration: 1m\nrender: {frames: 1-8, resolution: 64x48, samples: 0}", "samples"),
        ("name: x\nkind: render\ncommand: s.blend\ninputs: [s.blend]\nmaxPricePerHour: 1\nmaxDuration: 1m\nrender: {frames: 1-8, resolution: 64x48, samples: 8, bitDepth: 12}", "bitDepth"),
        ("name: x\nkind: render\ncommand: s.blend\ninputs: [s.blend]\nmaxPricePerHour: 1\nmaxDuration: 1m\nrender: {frames: 1, resolution: 64x48, samples: 8, denoise: true}", "unknown field `render.denoise`"),
        ("name: x\nkind: render\ncommand: s.blend\nmaxPricePerHour: 1\nmaxDuration: 1m\nrender: {frames: 1, resolution: 64x48, samples: 8}", "one of its inputs"),
        ("name: x\nkind: render\ncommand: s.blend\ninputs: [s.blend]\nmaxPricePerHour: 1\nmaxDuration: 1m\nargs: [-x]\nrender: {frames: 1, resolution: 64x48, samples: 8}", "takes no args"),
        ("name: x\ncommand: sh\nmaxPricePerHour: 1\nmaxDuration: 1m\nverification: {policy: trust}", "verification.policy"),
        ("name: x\ncommand: sh\nmaxPricePerHour: 1\nmaxDuration: 1m\ntasks: 0", "tasks"),
        ("command: sh\nmaxPricePerHour: 1\nmaxDuration: 1m", "name"),
        ("- just\n- a list", "mapping"),
        ("name: x\ncommand: sh\nmaxPricePerHour: 1\nmaxDuration: 1m\ninputs: [{path: a.txt, as: ../../home/.bashrc}]", "plain relative path"),
        ("name: x\ncommand: sh\nmaxPricePerHour: 1\nmaxDuration: 1m\nresources: {gpu: 1}", "unknown field `resources.gpu`"),
        ("name: x\ncommand: sh\nmaxPricePerHour: 1\nmaxDuration: 1m\nresources: {gpus: 1.5}", "whole number of GPUs"),
        ("name: x\ncommand: sh\nmaxPricePerHour: 1\nmaxDuration: 1m\nresources: {gpus: 1}\nplacement: {gpuModels: [GTX-480]}", "not a GPU model"),
        ("name: x\ncommand: sh\nmaxPricePerHour: 1\nmaxDuration: 1m\nplacement: {minGpuMemoryGiB: 16}", "only apply to jobs that ask for GPUs"),
        ("name: x\ncommand: sh\nmaxPricePerHour: 1\nmaxDuration: 1m\nplacement: {regions: [eu]}", "unknown field `placement.regions`"),
    ])
    func badSpecsAreRefusedWithTheFieldNamed(yaml: String, mentioned: String) {
        do {
            _ = try JobSpecFile.parse(yaml, baseDirectory: "/")
            Issue.record("accepted: \(yaml)")
        } catch let error as CrucibleError {
            #expect(error.code == .invalidSpec)
            #expect(error.message.contains(mentioned), "\(error.message)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func policyFileParsesAndRefusesUnknownFields() throws {
        let policy = try AgentPolicyFile.parse("askPerGpuHour: 1.2\naskPerCpuCoreHour: 0.03\nminPricePerHour: 0.01\nmaxConcurrentRuns: 3\n")
        #expect(policy.askMicroPerGpuHour == 1_200_000)
        #expect(policy.askMicroPerCpuCoreHour == 30_000)
        #expect(policy.minPriceMicroPerUnitHour == 10_000)
        #expect(policy.maxConcurrentRuns == 3)
        #expect(throws: CrucibleError.self) { try AgentPolicyFile.parse("askPerGpuHour: 1\nmaxConcurent: 3\n") }
        #expect(throws: CrucibleError.self) { try AgentPolicyFile.parse("maxConcurrentRuns: 0\n") }
        #expect(throws: CrucibleError.self) { try AgentPolicyFile.parse("allowedKinds: [mining]\n") }
    }

    @Test func policyFileCarriesEveryRule() throws {
        let policy = try AgentPolicyFile.parse("""
        minPricePerHourByKind: {batch: 0.02}
        allowedRequesters: [alice]
        hoursUTC: ["22-06", "12-13"]
        maxJobDuration: 12h
        refuseDataFrom: [xx]
        """)
        #expect(policy.minPriceMicroPerUnitHourByKind == ["batch": 20_000])
        #expect(policy.allowedRequesters == ["alice"])
        #expect(policy.availableHoursUTC == [.init(fromHour: 22, toHour: 6), .init(fromHour: 12, toHour: 13)])
        #expect(policy.maxJobDurationS == 43_200)
        #expect(policy.refuseDataFrom == ["xx"])
        for bad in ["hoursUTC: [night]", "hoursUTC: [\"25-03\"]", "minPricePerHourByKind: {mining: 1}", "maxJobDuration: forever",
                    "allowedRequesters: [a]\nblockedRequesters: [a]"] {
            #expect(throws: CrucibleError.self, "\(bad)") { try AgentPolicyFile.parse(bad) }
        }
    }

    @Test func argumentsNameTheirTask() {
        let order = RunOrder(runId: "r", jobId: "j", taskIndex: 3, taskCount: 8, role: "primary", command: "echo",
                             args: ["frame-{index}-of-{count}", "{index}{index}"], inputs: [], maxDurationS: 1)
        #expect(order.expandedArgs == ["frame-3-of-8", "33"])
    }
}

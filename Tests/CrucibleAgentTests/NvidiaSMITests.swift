import CrucibleAgent
import CrucibleCore
import Testing

@Suite struct NvidiaSMITests {
    /// `nvidia-smi --query-gpu=index,uuid,name,memory.total,driver_version --format=csv,noheader,nounits` on an 8× H100 SXM host.
    static let h100Host = """
    0, GPU-5b3c9a4e-2f7d-1b8e-9c0a-3d6e8f1a2b4c, NVIDIA H100 80GB HBM3, 81559, 535.183.01
    1, GPU-7a1d2e3f-4b5c-6d7e-8f90-a1b2c3d4e5f6, NVIDIA H100 80GB HBM3, 81559, 535.183.01
    2, GPU-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0, NVIDIA H100 80GB HBM3, 81559, 535.183.01
    3, GPU-11223344-5566-7788-99aa-bbccddeeff00, NVIDIA H100 80GB HBM3, 81559, 535.183.01

    """

    /// The same query with the header and units left in (`--format=csv`). Memory totals are the ones these
    /// cards really report (published nvidia-smi output: A100 80GB 81920 MiB, A10 23028, L40S 46068, T4 15360).
    static let withHeader = """
    index, uuid, name, memory.total [MiB], driver_version
    0, GPU-a0b1c2d3-e4f5-0617-2839-4a5b6c7d8e9f, NVIDIA A100-SXM4-80GB, 81920 MiB, 525.85.12
    1, GPU-b1c2d3e4-f506-1728-394a-5b6c7d8e9fa0, NVIDIA A10, 23028 MiB, 525.85.12
    2, GPU-c2d3e4f5-0617-2839-4a5b-6c7d8e9fa0b1, NVIDIA L40S, 46068 MiB, 525.85.12
    3, GPU-22b2c6ac-2d49-4863-197c-9c469071178a, Tesla T4, 15360 MiB, 525.85.12
    """

    @Test func parsesAnH100Host() throws {
        let gpus = try NvidiaSMI.parse(Self.h100Host)
        #expect(gpus.count == 4)
        #expect(gpus.map(\.index) == [0, 1, 2, 3])
        #expect(gpus.allSatisfy { $0.model == "H100-SXM" && $0.memoryMiB == 81559 && $0.driverVersion == "535.183.01" })
        #expect(Set(gpus.map(\.uuid)).count == 4)
        let profile = HardwareProfile(gpus: gpus, cpuModel: "x", cpuCores: 8, memoryMiB: 1024, os: "linux")
        #expect(profile.summary == "4× H100-SXM")
        try profile.validate()
    }

    @Test func parsesHeaderAndUnits() throws {
        let gpus = try NvidiaSMI.parse(Self.withHeader)
        #expect(gpus.map(\.model) == ["A100-80GB", "A10", "L40S", "T4"])
        #expect(gpus.map(\.memoryMiB) == [81920, 23028, 46068, 15360])
    }

    @Test func emptyOutputMeansNoGPU() throws {
        #expect(try NvidiaSMI.parse("").isEmpty)
    }

    @Test(arguments: [
        "0, GPU-abc, NVIDIA H100 80GB HBM3, 81559",
        "zero, GPU-abc, NVIDIA H100 80GB HBM3, 81559, 535",
        "0, GPU-abc, NVIDIA H100 80GB HBM3, lots, 535",
        "0, not-a-uuid, NVIDIA H100 80GB HBM3, 81559, 535",
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
    ])
    func malformedLinesAreRefused(line: String) {
        #expect(throws: CrucibleError.self) { try NvidiaSMI.parse(line) }
    }

    @Test func discoveryNeverInventsAGPU() async {
        let profile = await HardwareDiscovery.discover()
        if HardwareDiscovery.findExecutable("nvidia-smi") == nil {
            #expect(profile.gpus.isEmpty)
            #expect(profile.summary.hasPrefix("CPU"))
        }
        #expect(profile.cpuCores >= 1)
        #expect(profile.memoryMiB > 0)
    }

    @Test func samplesReadUseTemperaturePowerAndMemoryAndSkipWhatTheDriverLacks() throws {
        // As an H100 host prints it for `sampleArguments`; the second GPU reports no power reading.
        let samples = try NvidiaSMI.parseSamples("""
            0, GPU-5fa2c1d0-1111-2222-3333-444455556666, 87, 61, 412.35, 40960
            1, GPU-5fa2c1d0-7777-8888-9999-000011112222, 0, 34, [N/A], 1
            """)
        #expect(samples.count == 2)
        #expect(samples[0] == .init(
            index: 0, uuid: "GPU-5fa2c1d0-1111-2222-3333-444455556666", utilization: 0.87, temperatureCelsius: 61, powerWatts: 412.35,
            memoryUsedBytes: 40960 * 1_048_576
        ))
        #expect(samples[1].powerWatts == nil && samples[1].utilization == 0 && samples[1].temperatureCelsius == 34)
        #expect(try NvidiaSMI.parseSamples("").isEmpty)
        #expect(throws: CrucibleError.self) { try NvidiaSMI.parseSamples("0, GPU-x, 87, 61") }
        #expect(throws: CrucibleError.self) { try NvidiaSMI.parseSamples("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.") }
    }
}

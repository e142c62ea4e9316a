import CrucibleCore
import CrucibleTestSupport
import Foundation
import PropertyBased
import Testing

/// Property-based fuzzing of what arrives from outside: the job spec decoder and its rules, and the signed envelope
/// decoder and its check. Each case mutates valid bytes by a list of generated seeds (so a failure shrinks to a short
/// list): flipped bytes, cuts, repeats, and tokens that break parsers — extreme numbers, nulls, wrong types.
@Suite struct DecoderFuzzTests {
    static let tokens = [
        "-1", "0", "1e308", "-1e308", "99999999999999999999", "9223372036854775807", "-9223372036854775808", "1.5", "null",
        "true", "\"\"", "\"\\u0000\"", "[]", "{}", "\"../../etc/passwd\"", "\"render\"", "\"train\"", "\"ray\"", "\"adaptive\"",
        "{\"nodes\":99999999999,\"roundTripMs\":1}", "{\"frameStart\":9223372036854775800,\"width\":1,\"height\":1,\"samples\":1}",
        String(repeating: "9", count: 400), "\"" + String(repeating: "a", count: 5000) + "\"",
    ]

    /// `bytes` changed once per seed.
    static func mutate(_ bytes: [UInt8], by seeds: [UInt64]) -> [UInt8] {
        var bytes = bytes
        for seed in seeds where !bytes.isEmpty {
            var random = SplitMix64(seed: seed)
            let at = Int.random(in: 0..<bytes.count, using: &random)
            switch seed % 5 {
            case 0: bytes[at] = UInt8.random(in: 0...255, using: &random)
            case 1: bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...16, using: &random)))
            case 2: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + Int.random(in: 1...32, using: &random))], at: at)
            default:
                // A token where a value starts: after a colon or a comma, or anywhere.
                let starts = bytes.indices.filter { bytes[$0] == UInt8(ascii: ":") || bytes[$0] == UInt8(ascii: ",") }
                let place = starts.isEmpty ? at : starts[Int.random(in: 0..<starts.count, using: &random)] + 1
                let token = tokens[Int.random(in: 0..<tokens.count, using: &random)]
                // Replace the value that was there, up to the next comma or closing brace.
                var end = place
                while end < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]")].contains(bytes[end]) { end += 1 }
                if seed % 2 == 0 { bytes.replaceSubrange(place..<end, with: Array(token.utf8)) } else { bytes.insert(contentsOf: Array(token.utf8), at: place) }
            }
        }
        return bytes
    }

    static let specs: [JobSpec] = [
        JobSpec(name: "batch", command: "echo", args: ["a"], taskCount: 3, resources: .init(gpuMilli: 500, cpuCores: 2, memoryMiB: 1024),
                maxPriceMicroPerUnitHour: 2_000_000, maxDurationS: 60, verification: .init(policy: .replicate, samplePpm: 250_000)),
        JobSpec(name: "render", kind: .render, command: "scene.blend",
                inputs: [.init(name: "scene.blend", sha256: String(repeating: "ab", count: 32), sizeBytes: 10)], taskCount: 4,
                resources: .init(cpuCores: 4), maxPriceMicroPerUnitHour: 1_000_000, maxDurationS: 600,
                render: .init(frameStart: 1, width: 64, height: 48, samples: 8, reviewS: 3600)),
        JobSpec(name: "gang", command: "train.sh", taskCount: 2, resources: .init(gpuMilli: 1000), maxPriceMicroPerUnitHour: 3_000_000,
                maxDurationS: 300, cluster: .init(nodes: 2, roundTripMsMax: 5)),
    ]

    @Test(.compute) func mutatedSpecsAreRefusedClearlyOrAcceptedWhole() async throws {
        for spec in Self.specs { try spec.validate() }
        let encoded = try Self.specs.map { Array(try JSONEncoder().encode($0)) }
        await propertyCheck(count: 3_000, input: Gen.uint64().array(of: 1...6)) { seeds in
            let original = encoded[Int(seeds[0] % UInt64(encoded.count))]
            let bytes = Self.mutate(original, by: seeds)
            guard let spec = try? JSONDecoder().decode(JobSpec.self, from: Data(bytes)) else { return }
            do {
                try spec.validate()
            } catch let error as CrucibleError {
                #expect(error.code == .invalidSpec && !error.message.isEmpty)
                return
            } catch {
                Issue.record("validate threw something other than a CrucibleError: \(error)")
                return
            }
            // Accepted: it is funded, prices without overflow at any fee governance may set, and survives a round trip unchanged.
            #expect(spec.maxCostMicro(feeBps: 0) > 0 && spec.maxCostMicro(feeBps: 10_000) >= spec.maxCostMicro(feeBps: 0))
            let again = try? JSONDecoder().decode(JobSpec.self, from: try JSONEncoder().encode(spec))
            #expect(again == spec)
        }
    }

    @Test func theLargestSpecEveryLimitAllowsIsRefusedIfItsEscrowCannotBeHeld() throws {
        // Every field at its limit: a reviewed render of 10,000 frames, 1,024 cores each, for a week at the top price.
        var spec = JobSpec(
            name: "max", kind: .render, command: "s.blend", inputs: [.init(name: "s.blend", sha256: String(repeating: "cd", count: 32), sizeBytes: 1)],
            taskCount: JobSpec.taskCountMax, resources: .init(cpuCores: 1024, memoryMiB: 4 << 20),
            maxPriceMicroPerUnitHour: JobSpec.priceMicroPerUnitHourMax, maxDurationS: JobSpec.durationSMax,
            verification: .init(policy: .replicate, samplePpm: 1_000_000),
            render: .init(frameStart: 0, width: 16, height: 16, samples: 1, reviewS: 3600)
        )
        #expect(throws: CrucibleError.self) { try spec.validate() }
        // A tenth of the frames fits and prices.
        spec.taskCount = JobSpec.taskCountMax / 10
        try spec.validate()
        #expect(spec.maxCostMicro(feeBps: 10_000) > 0)
    }

    @Test func aSpecThatWouldLockNoEscrowIsRefused() throws {
        // 1 µCRU per core-hour for 60 s earns 1/60 µCRU a run: nothing to escrow, nobody paid.
        var spec = Self.specs[0]
        spec.resources = .init(cpuCores: 1)
        spec.maxPriceMicroPerUnitHour = 1
        #expect { try spec.validate() } throws: { ($0 as? CrucibleError)?.message.contains("earns less than 1 µCRU") == true }
        spec.maxPriceMicroPerUnitHour = 60
        try spec.validate()
        #expect(spec.maxCostMicro(feeBps: 0) > 0)
    }

    @Test(.compute) func noMutatedEnvelopeVerifiesUnlessItIsTheOneSigned() async throws {
        let key = SigningIdentity()
        let envelope = try SignedEnvelope.sign(JobSubmission(spec: Self.specs[0]), kind: .submitJob, by: key)
        let original = Array(try JSONEncoder().encode(envelope))
        await propertyCheck(count: 3_000, input: Gen.uint64().array(of: 1...4)) { seeds in
            let bytes = Self.mutate(original, by: seeds)
            guard let decoded = try? JSONDecoder().decode(SignedEnvelope.self, from: Data(bytes)) else { return }
            do {
                try decoded.verifySignature()
            } catch let error as CrucibleError {
                #expect([.malformed, .badSignature, .tooLarge].contains(error.code) && !error.message.isEmpty, "\(error)")
                return
            } catch {
                Issue.record("verification threw something other than a CrucibleError: \(error)")
                return
            }
            // It verified: then it is the envelope that was signed, whatever bytes carried it.
            #expect(decoded == envelope)
            #expect((try? decoded.decodePayload(as: JobSubmission.self).spec) == Self.specs[0])
        }
    }
}

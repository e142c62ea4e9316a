import CompressNIO
import CrucibleCore
import CrucibleProof
import Foundation
import NIOCore
import Testing

/// The pixel side of proof of render: PNG frames read back exactly (every row filter, 8 and 16 bits, any region), bad
/// files refused with the reason, and crops compared by PSNR.
@Suite struct ProofOfRenderTests {
    /// A PNG writer for the tests, cycling through the five row filters so the reader must undo each.
    static func png(width: Int, height: Int, channels: Int, bitDepth: Int, samples: [UInt16], interlace: UInt8 = 0, colorType: UInt8? = nil) throws -> Data {
        let bytesPerSample = bitDepth / 8
        let bytesPerPixel = channels * bytesPerSample
        let rowBytes = width * bytesPerPixel
        var raw = [UInt8]()
        var previous = [UInt8](repeating: 0, count: rowBytes)
        for y in 0..<height {
            var row = [UInt8]()
            for x in 0..<(width * channels) {
                let value = samples[y * width * channels + x]
                if bitDepth == 16 { row.append(UInt8(value >> 8)) }
                row.append(UInt8(value & 0xFF))
            }
            let filter = UInt8(y % 5)
            raw.append(filter)
            for i in 0..<rowBytes {
                let left = i >= bytesPerPixel ? Int(row[i - bytesPerPixel]) : 0
                let up = Int(previous[i])
                let upLeft = i >= bytesPerPixel ? Int(previous[i - bytesPerPixel]) : 0
                let predicted: Int
                switch filter {
                case 1: predicted = left
                case 2: predicted = up
                case 3: predicted = (left + up) / 2
                case 4:
                    let p = left + up - upLeft
                    let (pa, pb, pc) = (abs(p - left), abs(p - up), abs(p - upLeft))
                    predicted = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft
                default: predicted = 0
                }
                raw.append(row[i] &- UInt8(predicted))
            }
            previous = row
        }
        var buffer = ByteBuffer(bytes: raw)
        let compressed = try buffer.compress(with: .zlib())
        func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
            let length = UInt32(body.count)
            // The reader does not check CRCs (the zlib stream carries its own checksum); zeros stand in.
            return [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)] + Array(type.utf8) + body + [0, 0, 0, 0]
        }
        func be32(_ value: Int) -> [UInt8] { [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }
        let type = colorType ?? [1: 0, 2: 4, 3: 2, 4: 6][channels]!
        let header = be32(width) + be32(height) + [UInt8(bitDepth), type, 0, 0, interlace]
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        return Data(signature + chunk("IHDR", header) + chunk("IDAT", Array(compressed.readableBytesView)) + chunk("IEND", []))
    }

    /// The samples of `region` out of a whole image's.
    static func cut(_ samples: [UInt16], width: Int, channels: Int, _ region: FrameCrop) -> [UInt16] {
        var out = [UInt16]()
        for y in region.y..<(region.y + region.height) {
            let start = (y * width + region.x) * channels
            out.append(contentsOf: samples[start..<(start + region.width * channels)])
        }
        return out
    }

    /// Samples that exercise every filter: a pattern that varies along both axes.
    static func pattern(width: Int, height: Int, channels: Int, max: Int, seed: Int = 0) -> [UInt16] {
        (0..<(width * height * channels)).map { UInt16((($0 * 7919 + seed * 104_729) ^ ($0 >> 3)) % (max + 1)) }
    }

    @Test(arguments: [(4, 8), (3, 8), (1, 8), (2, 8), (3, 16), (4, 16)])
    func framesReadBackExactlyWholeAndInPart(channels: Int, bitDepth: Int) throws {
        let (width, height) = (23, 17)
        let samples = Self.pattern(width: width, height: height, channels: channels, max: bitDepth == 16 ? 65_535 : 255)
        let data = try Self.png(width: width, height: height, channels: channels, bitDepth: bitDepth, samples: samples)
        let whole = try PNGImage.decode(data)
        #expect(whole.width == width && whole.height == height && whole.channels == channels && whole.bitDepth == bitDepth)
        #expect(whole.samples == samples)
        let region = FrameCrop(x: 5, y: 9, width: 7, height: 6)
        let part = try PNGImage.decode(data, region: region)
        let expected = Self.cut(samples, width: width, channels: channels, region)
        #expect(part.samples == expected && part.region == region)
        // Several regions, overlapping ones included, in one pass.
        let regions = [region, FrameCrop(x: 0, y: 0, width: 23, height: 1), FrameCrop(x: 6, y: 10, width: 2, height: 7)]
        let parts = try PNGImage.decode(data, regions: regions)
        #expect(parts.map(\.samples) == regions.map { Self.cut(samples, width: width, channels: channels, $0) })
        #expect(try PNGImage.size(of: data) == (23, 17))
    }

    @Test func filesThatAreNotComparableFramesAreRefusedWithTheReason() throws {
        let samples = Self.pattern(width: 4, height: 4, channels: 3, max: 255)
        let good = try Self.png(width: 4, height: 4, channels: 3, bitDepth: 8, samples: samples)
        func reason(_ data: Data, region: FrameCrop? = nil) -> String {
            do {
                _ = try PNGImage.decode(data, region: region)
                return "decoded"
            } catch {
                return (error as? CrucibleError)?.message ?? "\(error)"
            }
        }
        #expect(reason(Data("GIF89a garbage".utf8)) == "not a PNG file")
        #expect(reason(good.prefix(good.count - 20)).contains("runs past the end") || reason(good.prefix(good.count - 20)).contains("ends after"))
        #expect(reason(try Self.png(width: 4, height: 4, channels: 3, bitDepth: 8, samples: samples, interlace: 1)).contains("interlaced"))
        #expect(reason(try Self.png(width: 4, height: 4, channels: 1, bitDepth: 8, samples: Array(samples.prefix(16)), colorType: 3)).contains("palette"))
        #expect(reason(good, region: FrameCrop(x: 2, y: 2, width: 3, height: 1)).contains("outside"))
        // Image data that inflates to fewer rows than the header promises.
        let short = try Self.png(width: 4, height: 2, channels: 3, bitDepth: 8, samples: Array(samples.prefix(24)))
        var patched = [UInt8](short)
        patched[16 + 7] = 4  // IHDR height (bytes 20–23 of the file): 2 → 4
        #expect(reason(Data(patched)).contains("ends after 2 of 4 rows"))
    }

    @Test func tilesCompareByTheirWorstPSNR() throws {
        let (width, height) = (32, 24)
        let crops = [FrameCrop(x: 10, y: 6, width: 8, height: 6), FrameCrop(x: 0, y: 18, width: 8, height: 6), FrameCrop(x: 24, y: 0, width: 8, height: 6)]
        let frameSamples = Self.pattern(width: width, height: height, channels: 4, max: 255)
        let frame = try Self.png(width: width, height: height, channels: 4, bitDepth: 8, samples: frameSamples)
        func tile(_ samples: [UInt16], channels: Int = 4) throws -> Data {
            try Self.png(width: 8, height: 6, channels: channels, bitDepth: 8, samples: samples)
        }
        let exactSamples = crops.map { Self.cut(frameSamples, width: width, channels: 4, $0) }
        let exact = try exactSamples.map { try tile($0) }
        func compare(_ reference: ProofOfRender.Reference, _ candidates: [Data?], frameWidth: Int = 32) -> ProofOfRender.Comparison {
            ProofOfRender.compare(reference: reference, candidates: candidates, crops: crops, frameWidth: frameWidth, frameHeight: height)
        }
        let same = compare(.frame(frame), exact)
        #expect(same == .init() && same.matches(minMilliDb: 200_000))
        // One sample of the second tile off by one level in 192: PSNR = 10·log10(255² · 192) = 70.96 dB; the others are
        // identical, and the worst tile decides.
        var nearSamples = exactSamples[1]
        nearSamples[5] = nearSamples[5] == 255 ? 254 : nearSamples[5] + 1
        var near = exact
        near[1] = try tile(nearSamples)
        let close = compare(.frame(frame), near)
        #expect(close.psnrMilliDb == Int64((10 * log10(255.0 * 255 * 192) * 1000).rounded(.down)))
        #expect(close.matches(minMilliDb: 48_000) && !close.matches(minMilliDb: 71_000))
        // Tiles against tiles (an arbiter against a validator).
        #expect(compare(.tiles(exact), near).psnrMilliDb == close.psnrMilliDb)
        // One tile of a different picture is far off, and fails the whole check.
        var other = exact
        other[2] = try tile(Self.pattern(width: 8, height: 6, channels: 4, max: 255, seed: 9))
        let far = compare(.frame(frame), other)
        #expect(!far.matches(minMilliDb: 48_000) && (far.psnrMilliDb ?? .max) < 20_000)
        // What cannot be compared does not match, with the reason.
        var rgb = exact
        rgb[0] = try tile(Array(exactSamples[0].prefix(48 * 3)), channels: 3)
        let failures = [
            compare(.frame(nil), exact),
            compare(.frame(frame), [exact[0], nil, exact[2]]),
            compare(.frame(frame), exact, frameWidth: 33),
            compare(.frame(frame), [exact[0], frame, exact[2]]),
            compare(.frame(frame), rgb),
            compare(.frame(frame), Array(exact.prefix(2))),
            compare(.tiles([exact[0], Data("junk".utf8), exact[2]]), exact),
        ]
        let reasons: [String?] = failures.map { $0.failure }
        #expect(reasons == [
            "the submitted frame is missing", "the checking tile 1 is missing", "the submitted frame is 32×24, not 33×24",
            "the checking tile 1 is 32×24, not 8×6", "tile 0 is RGB 8-bit, the frame RGBA 8-bit", "2 tiles for 3 crops",
            "the other run's tile 1 is unreadable: not a PNG file",
        ])
        #expect(failures.allSatisfy { !$0.matches(minMilliDb: 0) })
    }

    @Test func tilesAreDrawnInsideTheFrameAtTheAskedArea() {
        var generator = SplitMix64(seed: 5)
        var corners = Set<Int>()
        for (width, height) in [(1920, 1080), (96, 72), (1, 1), (3, 1000)] {
            for _ in 0..<50 {
                let tiles = ProofOfRender.drawCrops(frameWidth: width, frameHeight: height, areaPpm: 62_500, tiles: 16, using: &generator)
                #expect(tiles.count == 16 && tiles.allSatisfy { $0.fits(frameWidth: width, frameHeight: height) })
                if width == 1920 {
                    // 1/16 of the frame in 16 tiles: each 1/256, a sixteenth of each side.
                    #expect(tiles.allSatisfy { $0.width == 120 && $0.height == 68 })
                    corners.formUnion(tiles.map { $0.x * 10_000 + $0.y })
                }
            }
        }
        #expect(corners.count > 700, "tiles should land at random places")
    }
}
